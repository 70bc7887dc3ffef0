"""The clinic use cases (services) over an SQLite unit of work: clients, intake versions, the
readiness gate and session bookkeeping, with their audit entries and domain errors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import typer
from sqlalchemy import func, select

from ashiguard.adapters.db import SqlUnitOfWork
from ashiguard.adapters.db.models import AuditEntry, Client, Intake, Screening, TreatmentSession
from ashiguard.domain.errors import Conflict, Forbidden, InputError, NotFound, Refused
from ashiguard.domain.live_messages import SessionOutcome
from ashiguard.entrypoints.cli._common import refusing_bad_input
from ashiguard.services import clinic, clinic_admin, consent, treatments
from ashiguard.services.uow import Actor

TODAY = date.today()
OWNER = Actor(1, "olivia", "Olivia", "owner")
THERAPIST = Actor(2, "mia", "Mia", "therapist")
DESK = Actor(3, "fay", "Fay", "front_desk")


def _fast_hash(password: str) -> str:
    return "test-hash:" + password


@pytest.fixture
def db(tmp_path, migrated_sqlite):
    database = migrated_sqlite(tmp_path / "clinic.sqlite3")
    with SqlUnitOfWork(database) as uow:
        for a in (OWNER, THERAPIST, DESK):
            clinic_admin.add_user(
                uow.session, a.username, "long-enough-pw", a.role, hash_password=_fast_hash
            )
    yield database
    database.dispose()


def _intake(ref, **facts):
    return {
        "schema": "ashiguard.intake/1",
        "date": TODAY.isoformat(),
        "client": {"id": ref, "height_cm": 170, "weight_kg": 70},
        **facts,
    }


def _actions(db):
    with db.session() as s:
        return s.execute(
            select(AuditEntry.username, AuditEntry.action, AuditEntry.entity).order_by(
                AuditEntry.id
            )
        ).all()


def _clinic(db, *, inspected_on=TODAY - timedelta(days=10)):
    """A certified practitioner, a room with two bars, a client screened today (cleared)."""
    with SqlUnitOfWork(db) as uow:
        pr = clinic_admin.save_practitioner(
            uow,
            {
                "name": "Mia",
                "mass_kg": "62",
                "certification": "Ashiatsu Guild",
                "certified_on": (TODAY - timedelta(days=400)).isoformat(),
                "certified_until": (TODAY + timedelta(days=300)).isoformat(),
                "training_hours": "120",
                "user_id": str(THERAPIST.id),
            },
            OWNER,
            "127.0.0.1",
        )
        room = clinic_admin.add_room(uow, {"name": "Studio"}, OWNER, "127.0.0.1")
        for label in ("left", "right"):
            bar = clinic_admin.add_bar(
                uow, room.id, {"label": label, "rated_load_n": "3000"}, OWNER, "127.0.0.1"
            )
            if inspected_on is not None:
                clinic_admin.add_inspection(
                    uow,
                    bar.id,
                    {"inspected_on": inspected_on.isoformat(), "inspector": "Bo", "passed": "yes"},
                    OWNER,
                    "127.0.0.1",
                )
        c = clinic.create_client(uow, {"name": "Anna"}, DESK, "127.0.0.1")
        clinic.store_intake(uow, c.id, _intake(c.ref), [], DESK, "127.0.0.1")
        consent.sign_consent(uow, c.id, {"typed_name": "Anna", "agreed": "yes"}, DESK, "")
        return {"client_id": c.id, "practitioner_id": pr.id, "room_id": room.id}


def test_create_client_validates_the_fields_and_audits_the_creation(db):
    with SqlUnitOfWork(db) as uow:
        c = clinic.create_client(
            uow, {"name": "  Anna  ", "birth_date": "1984-03-12"}, DESK, "10.0.0.1"
        )
        assert (c.name, c.birth_date, c.ref) == ("Anna", date(1984, 3, 12), "c-00001")
    with (
        pytest.raises(InputError, match=r"^birth_date: expected YYYY-MM-DD, got '12/03/1984'$"),
        SqlUnitOfWork(db) as uow,
    ):
        clinic.create_client(uow, {"name": "B", "birth_date": "12/03/1984"}, DESK, "")
    with (
        pytest.raises(
            InputError, match=r"^email: not an e-mail address \(like name@example.org\)$"
        ),
        SqlUnitOfWork(db) as uow,
    ):
        clinic.create_client(uow, {"name": "B", "email": "nope"}, DESK, "")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == 1
        entry = s.scalars(select(AuditEntry)).one()
    assert (entry.username, entry.action, entry.entity, entry.ip, entry.detail) == (
        "fay",
        "create",
        "client",
        "10.0.0.1",
        "c-00001",
    )


def test_a_researcher_may_not_create_clients_and_nothing_is_stored(db):
    with (
        pytest.raises(Forbidden, match=r"^role 'researcher' may not create clients$"),
        SqlUnitOfWork(db) as uow,
    ):
        clinic.create_client(uow, {"name": "X"}, Actor(9, "r", "R", "researcher"), "")
    assert _actions(db) == []


def test_each_intake_is_a_new_version_with_its_own_screening(db):
    with SqlUnitOfWork(db) as uow:
        c = clinic.create_client(uow, {"name": "Ben"}, DESK, "")
        first, sc1 = clinic.store_intake(uow, c.id, _intake(c.ref), ["calf_left"], DESK, "")
        second, sc2 = clinic.store_intake(
            uow, c.id, _intake(c.ref, conditions=[{"code": "osteoporosis"}]), [], THERAPIST, ""
        )
        assert (first.version, second.version) == (1, 2)
        assert (sc1.decision, sc2.decision) == ("cleared", "decline")
        assert first.pain_sites == ["calf_left"]
        assert [i.version for i in clinic.intakes_of(uow, c.id)] == [2, 1]
        assert [s.id for s in clinic.screenings_of(uow, c.id)] == [sc2.id, sc1.id]
    assert [a for _, a, e in _actions(db) if e == "intake"] == ["create", "create"]


def test_a_bad_intake_stores_nothing_and_names_the_field(db):
    with SqlUnitOfWork(db) as uow:
        c = clinic.create_client(uow, {"name": "Carla"}, DESK, "")
    with (
        pytest.raises(InputError, match=r"^pain_sites: unknown zone 'elbow'$"),
        SqlUnitOfWork(db) as uow,
    ):
        clinic.store_intake(uow, c.id, _intake(c.ref), ["elbow"], DESK, "")
    with (
        pytest.raises(InputError, match=r"^client\.id: must be this client's reference"),
        SqlUnitOfWork(db) as uow,
    ):
        clinic.store_intake(uow, c.id, _intake("c-other"), [], DESK, "")
    with (
        pytest.raises(InputError, match=r"^vitals\.sytolic_mmhg: unknown field"),
        SqlUnitOfWork(db) as uow,
    ):
        clinic.store_intake(uow, c.id, _intake(c.ref, vitals={"sytolic_mmhg": 150}), [], DESK, "")
    with pytest.raises(NotFound, match=r"^client 999 not found$"), SqlUnitOfWork(db) as uow:
        clinic.store_intake(uow, 999, _intake(c.ref), [], DESK, "")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Intake)) == 0
        assert s.scalar(select(func.count()).select_from(Screening)) == 0


def test_the_gate_refuses_overdue_bars_audits_the_refusal_and_stores_no_session(db):
    ids = _clinic(db, inspected_on=TODAY - timedelta(days=120))
    with pytest.raises(Refused) as exc, SqlUnitOfWork(db) as uow:
        treatments.start_session(uow, **ids, source="sim:mixed", actor=THERAPIST, ip="")
    assert str(exc.value) == f"client {ids['client_id']}: not ready to treat"
    assert [r.split(":")[0] for r in exc.value.reasons] == ["bar left", "bar right"]
    assert isinstance(exc.value, Conflict)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(TreatmentSession)) == 0
        refusal = s.scalars(select(AuditEntry).where(AuditEntry.action == "refused")).one()
    assert refusal.username == "mia" and "120 days ago" in refusal.detail


def test_the_gate_lets_a_ready_session_start_live_and_audits_it(db):
    ids = _clinic(db)
    checked = []

    def check_source(spec):
        checked.append(spec)
        return spec.strip()

    with SqlUnitOfWork(db) as uow:
        t = treatments.start_session(
            uow, **ids, source=" sim:spine ", actor=THERAPIST, ip="", check_source=check_source
        )
        sid = t.id
    assert checked == [" sim:spine "]
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        assert (t.status, t.source, t.client_id) == ("live", "sim:spine", ids["client_id"])
    assert _actions(db)[-1] == ("mia", "create", "session")
    with pytest.raises(Forbidden), SqlUnitOfWork(db) as uow:
        treatments.start_session(uow, **ids, source="sim:mixed", actor=DESK, ip="")
    with (
        pytest.raises(InputError, match=r"^practitioner_id: no such record 99$"),
        SqlUnitOfWork(db) as uow,
    ):
        treatments.start_session(
            uow, **{**ids, "practitioner_id": 99}, source="sim", actor=OWNER, ip=""
        )


def test_a_session_ends_is_signed_and_then_cannot_change(db, tmp_path):
    ids = _clinic(db)
    with SqlUnitOfWork(db) as uow:
        sid = treatments.start_session(uow, **ids, source="sim", actor=OWNER, ip="").id
    with SqlUnitOfWork(db) as uow:
        ctx = treatments.session_context(uow, sid, tmp_path / "recordings")
    assert ctx.recording_path == tmp_path / "recordings" / f"session-{sid:06d}.h5"
    assert ctx.client == {"height_cm": 170, "weight_kg": 70} and ctx.therapist_mass_kg == 62.0
    with pytest.raises(Conflict, match="cannot be signed while live"), SqlUnitOfWork(db) as uow:
        treatments.sign_session(uow, sid, None, THERAPIST, "")
    with SqlUnitOfWork(db) as uow:
        treatments.finish_session(
            uow,
            sid,
            SessionOutcome(frames=5, alarms=({"kind": "x"},), summary={"frames": 5}),
        )
    with SqlUnitOfWork(db) as uow:
        t = treatments.get_session(uow, sid)
        assert (t.status, t.recording_path, t.recording_meta["frames"]) == ("ended", None, 5)
        treatments.set_notes(uow, sid, "fine", THERAPIST, "")
        treatments.sign_session(uow, sid, "all fine", THERAPIST, "")
    with pytest.raises(Conflict, match=r"^session \d+ is signed"), SqlUnitOfWork(db) as uow:
        treatments.set_notes(uow, sid, "changed", THERAPIST, "")
    with SqlUnitOfWork(db) as uow:
        t = treatments.get_session(uow, sid)
        assert (t.status, t.notes, t.signed_by) == ("signed", "all fine", THERAPIST.id)
        assert (t.signer_name, t.signed_as) == ("Mia", "therapist")
        assert t.signer_credential.startswith("Ashiatsu certificate, Ashiatsu Guild, valid until")
    with (
        pytest.raises(NotFound, match=r"^treatment_session 404 not found$"),
        SqlUnitOfWork(db) as uow,
    ):
        treatments.read_session(uow, 404, THERAPIST, "")


def _another(db, ids):
    """A second client, therapist and room (inspected bars), ready for their own session."""
    with SqlUnitOfWork(db) as uow:
        pr = clinic_admin.save_practitioner(
            uow,
            {
                "name": "Noah",
                "mass_kg": "75",
                "certification": "Ashiatsu Guild",
                "certified_on": (TODAY - timedelta(days=100)).isoformat(),
                "certified_until": (TODAY + timedelta(days=100)).isoformat(),
            },
            OWNER,
            "",
        )
        room = clinic_admin.add_room(uow, {"name": "Studio B"}, OWNER, "")
        for label in ("left", "right"):
            bar = clinic_admin.add_bar(
                uow, room.id, {"label": label, "rated_load_n": "3000"}, OWNER, ""
            )
            clinic_admin.add_inspection(
                uow,
                bar.id,
                {"inspected_on": TODAY.isoformat(), "inspector": "Bo", "passed": "yes"},
                OWNER,
                "",
            )
        c = clinic.create_client(uow, {"name": "Bo"}, DESK, "")
        clinic.store_intake(uow, c.id, _intake(c.ref), [], DESK, "")
        consent.sign_consent(uow, c.id, {"typed_name": "Bo", "agreed": "yes"}, DESK, "")
        return {"client_id": c.id, "practitioner_id": pr.id, "room_id": room.id}


def test_one_client_one_therapist_and_one_room_are_in_one_live_session_at_a_time(db):
    ids = _clinic(db)
    other = _another(db, ids)
    with SqlUnitOfWork(db) as uow:
        first = treatments.start_session(uow, **ids, source="sim", actor=OWNER, ip="").id
    for clash, words in (
        (ids, "client: Anna is already in a live session"),
        ({**other, "practitioner_id": ids["practitioner_id"]}, "therapist: Mia is already"),
        ({**other, "room_id": ids["room_id"]}, "room: Studio is in use by a live session"),
    ):
        with pytest.raises(Refused) as refused, SqlUnitOfWork(db) as uow:
            treatments.start_session(uow, **clash, source="sim", actor=OWNER, ip="")
        assert any(r.startswith(words) for r in refused.value.reasons), refused.value.reasons
        assert f"(session {first})" in " ".join(refused.value.reasons)
    with SqlUnitOfWork(db) as uow:  # another client, therapist and room: no clash
        treatments.start_session(uow, **other, source="sim", actor=OWNER, ip="")
    with SqlUnitOfWork(db) as uow:
        treatments.finish_session(uow, first, SessionOutcome(frames=1, summary={"frames": 1}))
    with SqlUnitOfWork(db) as uow:  # the first has ended: its client can start again
        treatments.start_session(uow, **ids, source="sim", actor=OWNER, ip="")


def test_sessions_nothing_runs_are_ended_with_the_reason(db):
    ids = _clinic(db)
    other = _another(db, ids)
    with SqlUnitOfWork(db) as uow:
        a = treatments.start_session(uow, **ids, source="sim", actor=OWNER, ip="").id
        b = treatments.start_session(uow, **other, source="sim", actor=OWNER, ip="").id
    with SqlUnitOfWork(db) as uow:
        ended = treatments.end_orphaned_sessions(uow, lambda sid: sid == b, "server stopped")
    assert ended == [a]
    with SqlUnitOfWork(db) as uow:
        first, second = treatments.get_session(uow, a), treatments.get_session(uow, b)
        assert (first.status, first.recording_meta) == ("ended", {"error": "server stopped"})
        assert second.status == "live"


def test_the_unit_of_work_rolls_back_everything_on_an_error(db):
    with pytest.raises(RuntimeError), SqlUnitOfWork(db) as uow:
        clinic.create_client(uow, {"name": "Gone"}, DESK, "")
        raise RuntimeError("boom")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == 0
    assert _actions(db) == []


def test_user_creation_refuses_a_taken_name_and_audits_the_cli_as_the_clinic(db):
    with SqlUnitOfWork(db) as uow:
        u = clinic_admin.create_user(
            uow,
            "noah",
            "long-enough-pw",
            "therapist",
            actor=None,
            via="via cli",
            hash_password=_fast_hash,
        )
        assert u.password_hash == "test-hash:long-enough-pw"
    with pytest.raises(InputError, match=r"^username: 'noah' is taken$"), SqlUnitOfWork(db) as uow:
        clinic_admin.create_user(uow, "noah", "long-enough-pw", "owner", actor=None)
    with pytest.raises(Forbidden), SqlUnitOfWork(db) as uow:
        clinic_admin.create_user(uow, "zed", "long-enough-pw", "owner", actor=THERAPIST)
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity == "user")).one()
    assert (entry.username, entry.detail) == ("-", "noah (therapist) via cli")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (InputError("role: must be one of owner"), "role: must be one of owner"),
        (NotFound("client 5 not found"), "client 5 not found"),
        (Conflict("session 3 is signed"), "session 3 is signed"),
        (
            Refused("client 5: not ready to treat", ["bar left: overdue", "no certificate"]),
            "client 5: not ready to treat: bar left: overdue; no certificate",
        ),
        (Forbidden("role 'x' may not sign"), "role 'x' may not sign"),
    ],
)
def test_the_cli_turns_every_domain_error_into_one_line_and_exit_2(capsys, error, line):
    with pytest.raises(typer.Exit) as exc, refusing_bad_input():
        raise error
    assert exc.value.exit_code == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err == f"ashiguard: error: {line}\n"


def test_only_the_sessions_own_therapist_or_an_owner_signs_it(db):
    ids = _clinic(db)
    with SqlUnitOfWork(db) as uow:
        other = clinic_admin.add_user(
            uow.session, "noah", "long-enough-pw", "therapist", hash_password=_fast_hash
        )
        noah = Actor(other.id, "noah", "Noah", "therapist")
    with SqlUnitOfWork(db) as uow:
        sid = treatments.start_session(uow, **ids, source="sim", actor=OWNER, ip="").id
    with SqlUnitOfWork(db) as uow:
        treatments.finish_session(uow, sid, SessionOutcome(frames=5, summary={"frames": 5}))
    with (
        pytest.raises(Forbidden, match=r"^only the session's therapist \(Mia\) or an owner"),
        SqlUnitOfWork(db) as uow,
    ):
        treatments.sign_session(uow, sid, None, noah, "")
    with SqlUnitOfWork(db) as uow:
        treatments.sign_session(uow, sid, None, OWNER, "")
    with SqlUnitOfWork(db) as uow:
        t = treatments.get_session(uow, sid)
        assert (t.status, t.signed_by, t.signer_name, t.signed_as) == (
            "signed",
            OWNER.id,
            "Olivia",
            "owner",
        )
        assert t.signer_credential == "no certificate on file"
