"""The demo clinic behind ``ashiguard serve --demo`` (and ``make run``).

Creates, once per data directory: an owner, two therapists, a front-desk user and a researcher
(demo passwords, printed at start: never use them outside the demo); two practitioners; two
rooms with overhead bars (one bar never inspected); clients whose intakes cover every screening
decision; and past sessions recorded from the simulator and analysed by the monitor's analyzer.
Each start also opens one live simulated session.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ashiguard.adapters.db import Database, SqlUnitOfWork, repo
from ashiguard.adapters.db.models import (
    Client,
    Practitioner,
    Room,
    SoapNote,
    TreatmentSession,
    User,
)
from ashiguard.entrypoints.web.security import create_user
from ashiguard.services import soap_notes
from ashiguard.services.clinic import store_intake
from ashiguard.services.consent import sign_consent
from ashiguard.services.treatments import create_session
from ashiguard.services.uow import Actor, UnitOfWork
from ashiguard.settings import Settings

__all__ = ["DEMO_NOTE_TEMPLATES", "DEMO_USERS", "seed_demo", "start_demo_session"]

DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("owner", "demo-owner-2026", "owner", "Olivia Owens"),
    ("mia", "demo-therapist-2026", "therapist", "Mia Tanaka"),
    ("noah", "demo-therapist-2026", "therapist", "Noah Berg"),
    ("frontdesk", "demo-frontdesk-2026", "front_desk", "Fay Desk"),
    ("research", "demo-research-2026", "researcher", "Rita Search"),
)

# name, birth date, sex, intake facts (beyond client and date) -> decision
_CLIENTS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("Anna Lindqvist", "1984-03-12", "female", {}),
    (
        "Ben Okafor",
        "1976-09-30",
        "male",
        {
            "conditions": [{"code": "hypertension", "status": "active", "controlled": True}],
            "vitals": {"systolic_mmhg": 128, "diastolic_mmhg": 82},
        },
    ),
    (
        "Carla Mendes",
        "1969-01-22",
        "female",
        {"conditions": [{"code": "kidney_stones", "status": "resolved", "onset": "2019-05-01"}]},
    ),
    ("David Cho", "1958-07-04", "male", {"vitals": {"systolic_mmhg": 168, "diastolic_mmhg": 101}}),
    (
        "Elena Rossi",
        "1972-11-15",
        "female",
        {"procedures": [{"code": "spinal_fusion", "date": "2021-02-10", "site": "L4-L5"}]},
    ),
    (
        "Farid Haddad",
        "1950-05-28",
        "male",
        {"conditions": [{"code": "osteoporosis", "status": "active"}]},
    ),
    (
        "Greta Vogel",
        "1990-08-08",
        "female",
        {"symptoms": ["fever"], "vitals": {"temperature_c": 38.4}},
    ),
    (
        "Hiro Sato",
        "1981-12-01",
        "male",
        {
            "conditions": [
                {"code": "deep_vein_thrombosis", "status": "resolved", "onset": "2015-04-01"}
            ]
        },
    ),
)
_MORE_NAMES = (
    "Ida",
    "Jonas",
    "Kira",
    "Lars",
    "Maya",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Ugo",
    "Vera",
    "Wim",
    "Xena",
    "Yara",
    "Zeno",
)
_SURNAMES = ("Andersen", "Brooks", "Costa", "Diaz", "Eklund", "Fischer")


def _intake(ref: str, birth: str, sex: str, facts: dict[str, Any], day: date) -> dict[str, Any]:
    return {
        "schema": "ashiguard.intake/1",
        "date": day.isoformat(),
        "client": {"id": ref, "birth_date": birth, "sex": sex, "height_cm": 170, "weight_kg": 70},
        **facts,
    }


def _people(s: Any, today: date) -> tuple[Actor, dict[str, int]]:
    # seed data, written as rows (the owner pages' use cases would audit each as the owner)
    ids = {}
    for username, pw, role, name in DEMO_USERS:
        ids[username] = create_user(s, username, pw, role, name).id
    owner = Actor.of(s.get(User, ids["owner"]))
    mia = Practitioner(
        name="Mia Tanaka",
        user_id=ids["mia"],
        technique="ashiatsu",
        certification="Ashiatsu Guild",
        certified_on=today - timedelta(days=700),
        certified_until=today + timedelta(days=400),
        training_hours=240,
        mass_kg=61.0,
        active=True,
    )
    noah = Practitioner(
        name="Noah Berg",
        user_id=ids["noah"],
        technique="ashiatsu",
        certification="DeepFeet Academy",
        certified_on=today - timedelta(days=720),
        certified_until=today + timedelta(days=18),
        training_hours=150,
        mass_kg=78.0,
        active=True,
    )
    s.add_all([mia, noah])
    a = repo.add_room_with_bars(
        s,
        "Studio A",
        ("left bar", "right bar"),
        rated_load_n=2500.0,
        inspected_on=today - timedelta(days=30),
        inspector="SafeLift Ltd",
        notes="Two ceiling-mounted steel bars",
        inspection_notes="torque and anchors checked",
    )
    repo.add_room_with_bars(
        s,
        "Studio B",
        ("wall bar",),
        rated_load_n=2000.0,
        inspected_on=None,
        notes="New wall-mounted bar, awaiting inspection",
    )
    return owner, {"mia": mia.id, "noah": noah.id, "studio_a": a.id}


def _clients(uow: UnitOfWork, owner: Actor, today: date) -> dict[str, Any]:
    s = uow.session
    screenings = {}
    for name, birth, sex, facts in _CLIENTS:
        c = Client(
            ref=repo.next_client_ref(s),
            name=name,
            birth_date=date.fromisoformat(birth),
            sex=sex,
            phone="",
            email="",
            created_at=repo.utcnow(),
        )
        s.add(c)
        s.flush()
        intake = _intake(c.ref, birth, sex, facts, today)
        _, sc = store_intake(uow, c.id, intake, [], owner, "demo")
        sign_consent(uow, c.id, {"typed_name": name, "agreed": "yes"}, owner, "demo")
        screenings[name] = (c, sc)
    for i, first in enumerate(_MORE_NAMES):
        name = f"{first} {_SURNAMES[i % len(_SURNAMES)]}"
        c = Client(
            ref=repo.next_client_ref(s),
            name=name,
            birth_date=date(1960 + i, 1 + i % 12, 10),
            sex="female" if i % 2 else "male",
            created_at=repo.utcnow(),
        )
        s.add(c)
        s.flush()
        intake = _intake(c.ref, c.birth_date.isoformat(), c.sex, {}, today)
        store_intake(uow, c.id, intake, [], owner, "demo")
        sign_consent(uow, c.id, {"typed_name": name, "agreed": "yes"}, owner, "demo")
    return screenings


def _past_session(
    s: Any,
    settings: Settings,
    client: Client,
    sc: Any,
    pr_id: int,
    room_id: int,
    seed: int,
    started: datetime,
    signed_by: int | None,
) -> None:
    from ashiguard.services.analyze import limits_from_files
    from ashiguard.services.live_session import LiveSession, hdf5_sink
    from ashiguard.services.session_process import open_live_source

    t = TreatmentSession(
        client_id=client.id,
        practitioner_id=pr_id,
        room_id=room_id,
        screening_id=sc.id,
        status="ended",
        source="sim:mixed",
        started_at=started,
        notes="",
    )
    s.add(t)
    s.flush()
    name = f"session-{t.id:06d}.h5"
    path = settings.recordings_dir / name
    pr = s.get(Practitioner, pr_id)
    src = open_live_source(
        "sim:mixed",
        speed=0,
        seed=seed,
        duration_s=90.0,
        therapist_mass_kg=pr.mass_kg,
        client={"height_cm": 170.0, "weight_kg": 70.0},
    )
    with src:
        rec = LiveSession(
            src,
            limits_from_files(screening=sc.payload),
            sink=hdf5_sink(path),
            duration_s=90.0,
            speed=0,
            session_id=t.id,
            source_label="sim:mixed",
        ).run()
    t.recording_path = f"recordings/{name}"
    t.recording_meta = {
        "frames": rec.frames,
        "bytes": rec.recording_bytes,
        "skipped_late": rec.skipped_late,
        "dropped": rec.dropped,
        "error": rec.error,
    }
    t.alerts = list(rec.alarms)
    t.summary = rec.summary
    t.ended_at = started + timedelta(seconds=rec.duration_s)
    if signed_by is not None:
        t.status = "signed"
        t.notes = (
            "Erector and hamstring work; client comfortable. "
            "Kidney alarm at the flank: adjusted foot."
        )
        t.signed_by = signed_by
        t.signed_at = t.ended_at + timedelta(minutes=5)
        signer = s.get(User, signed_by)
        own = pr.user_id == signed_by
        t.signer_name = (signer.display_name or signer.username) if signer else "clinic"
        t.signed_as = "therapist" if own else "owner"
        t.signer_credential = soap_notes.credential_words(pr if own else None)
        s.add(
            SoapNote(
                session_id=t.id,
                subjective="Lower back stiff after a week of long drives.",
                objective_measured="\n".join(soap_notes.session_facts(t)),
                objective="Skin intact, no bruising; lower back warm after the work.",
                assessment="Tight lower-back muscles and hamstrings; eased during the session.",
                plan="Again in a week; hamstring stretches at home.",
                areas=[
                    "erector_lumbar_left",
                    "erector_lumbar_right",
                    "hamstring_left",
                    "hamstring_right",
                ],
                pain_before=6,
                pain_after=3,
                template_name=DEMO_NOTE_TEMPLATES[0][0],
                created_at=t.signed_at,
                updated_at=t.signed_at,
                updated_by=signed_by,
            )
        )


DEMO_NOTE_TEMPLATES: tuple[tuple[str, str, str, str], ...] = (
    (
        "Lower back, first visit",
        "Client reports lower-back stiffness; worse after sitting.",
        "Tight lower-back muscles; no sign against barefoot work today.",
        "Weekly sessions for four weeks; stretches at home; review after the fourth.",
    ),
    (
        "Shoulders and upper back",
        "Client reports tension between the shoulder blades from desk work.",
        "Tight upper-back and shoulder muscles.",
        "Every two weeks; posture breaks at work.",
    ),
    (
        "Maintenance",
        "Client feels well; comes for upkeep.",
        "No new complaints.",
        "Monthly.",
    ),
)


def seed_demo(settings: Settings, db: Database) -> list[tuple[str, str, str]]:
    """Create the demo clinic once (idempotent); returns the demo logins (user, password, role)."""
    today = date.today()
    logins = [(u, pw, role) for u, pw, role, _ in DEMO_USERS]
    with SqlUnitOfWork(db) as uow:
        s = uow.session
        if s.scalar(select(User.id).where(User.username == "owner")) is not None:
            return logins
        owner, ids = _people(s, today)
        clients = _clients(uow, owner, today)
        for name, subjective, assessment, plan in DEMO_NOTE_TEMPLATES:
            soap_notes.save_template(
                uow,
                None,
                name=name,
                subjective=subjective,
                assessment=assessment,
                plan=plan,
                actor=owner,
                ip="",
            )
        now = repo.utcnow()
        for k, (name, seed) in enumerate(
            (("Anna Lindqvist", 11), ("Carla Mendes", 12), ("Ben Okafor", 13))
        ):
            c, sc = clients[name]
            started = now - timedelta(days=1 + k, hours=2)
            _past_session(
                s,
                settings,
                c,
                sc,
                ids["mia" if k != 1 else "noah"],
                ids["studio_a"],
                seed,
                started,
                # signed by the session's own therapist (only they, or an owner, may sign)
                signed_by=s.scalar(
                    select(User.id).where(User.username == ("mia" if k != 1 else "noah"))
                )
                if k != 2
                else None,
            )
    return logins


def start_demo_session(app: Any) -> int:
    """Open one live simulated session (Mia with the first demo client) and start streaming."""
    db: Database = app.state.db
    with SqlUnitOfWork(db) as uow:
        s = uow.session
        client = s.scalar(select(Client).where(Client.name == _CLIENTS[0][0]))
        pr = s.scalar(select(Practitioner).where(Practitioner.name == "Mia Tanaka"))
        room = s.scalar(select(Room).where(Room.name == "Studio A"))
        if client is None or pr is None or room is None:
            raise RuntimeError("demo clinic missing: run seed_demo first")
        sc = repo.latest_screening(s, client.id)
        assert sc is not None
        # no readiness gate: the demo's screenings date from the day the clinic was seeded
        t = create_session(
            uow,
            client_id=client.id,
            practitioner_id=pr.id,
            room_id=room.id,
            screening_id=sc.id,
            source="sim:mixed",
            actor=None,
            ip="",
            audit=False,
        )
        sid = t.id
    app.state.live.start(sid)
    return sid
