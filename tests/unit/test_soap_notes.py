"""SOAP notes (services/soap_notes.py) over an SQLite unit of work: the measured facts in the
clinic's words, templates, locking at signing, signed addenda, audit entries and errors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from ashiguard.adapters.db import SqlUnitOfWork
from ashiguard.adapters.db.models import (
    AuditEntry,
    Client,
    Intake,
    Practitioner,
    Room,
    Screening,
    TreatmentSession,
)
from ashiguard.adapters.db.repo import utcnow
from ashiguard.domain.errors import Conflict, Forbidden, InputError
from ashiguard.services import clinic_admin, soap_notes, treatments
from ashiguard.services.soap_notes import NoteInput
from ashiguard.services.uow import Actor

OWNER = Actor(1, "olivia", "Olivia", "owner")
THERAPIST = Actor(2, "mia", "Mia", "therapist")
OTHER = Actor(3, "noah", "Noah", "therapist")

SUMMARY = {
    "frames": 3000,
    "t_first": 0.0,
    "t_last": 299.9,
    "therapist_weight_n": 600.0,
    "zones": {
        "erector_lumbar_left": {"contact_s": 130.0, "peak_kpa": 41.5},
        "gluteal_right": {"contact_s": 40.0, "peak_kpa": 30.0},
        "scapular_left": {"contact_s": 0.2, "peak_kpa": 9.0},
        "calf_left": {"contact_s": 0.0, "peak_kpa": 2.0},
    },
    "load": {
        "max_n": 301.7,
        "max_share": 0.5028,
        "allowed_share": 0.6,
        "series": [
            {"t": 0.0, "load_n": 0.0},
            {"t": 1.0, "load_n": 200.0},
            {"t": 2.0, "load_n": 300.0},
        ],
    },
}
ALERTS = [
    {"kind": "spine_pressure", "priority": "high", "zone": "spine_lumbar", "t_start": 1.0},
    {"kind": "spine_pressure", "priority": "high", "zone": "spine_thoracic", "t_start": 5.0},
    {"kind": "unsupported_weight", "priority": "medium", "zone": None, "t_start": 9.0},
]


@pytest.fixture
def db(tmp_path, migrated_sqlite):
    database = migrated_sqlite(tmp_path / "clinic.sqlite3")
    with SqlUnitOfWork(database) as uow:
        for a in (OWNER, THERAPIST, OTHER):
            clinic_admin.add_user(
                uow.session, a.username, "long-enough-pw", a.role, hash_password=lambda p: p
            )
    yield database
    database.dispose()


def _session(db, status="ended"):
    with db.session() as s:
        c = Client(ref="c-1", name="Anna", created_at=utcnow())
        room = Room(name="Studio", notes="")
        pr = Practitioner(
            name="Mia",
            user_id=THERAPIST.id,
            mass_kg=61.2,
            active=True,
            certification="Ashiatsu Guild",
            certified_until=date.today() + timedelta(days=300),
        )
        s.add_all([c, room, pr])
        s.flush()
        it = Intake(client_id=c.id, version=1, payload={}, pain_sites=[], created_at=utcnow())
        s.add(it)
        s.flush()
        sc = Screening(
            client_id=c.id,
            intake_id=it.id,
            screened_for=date.today(),
            decision="cleared",
            rules_version="v",
            payload={},
            created_at=utcnow(),
        )
        s.add(sc)
        s.flush()
        start = utcnow()
        t = TreatmentSession(
            client_id=c.id,
            practitioner_id=pr.id,
            room_id=room.id,
            screening_id=sc.id,
            status=status,
            started_at=start - timedelta(seconds=305),
            ended_at=start,
            summary=SUMMARY,
            alerts=ALERTS,
            recording_meta={"frames": 3000, "error": None},
            notes="old plain notes",
        )
        s.add(t)
        s.flush()
        return t.id


def _audit(db):
    with db.session() as s:
        return s.execute(
            select(AuditEntry.action, AuditEntry.entity, AuditEntry.detail).order_by(AuditEntry.id)
        ).all()


def test_the_measured_facts_give_duration_loads_zones_and_alarms_in_the_clinics_words():
    facts = soap_notes.measured_facts(SUMMARY, ALERTS, {"error": None}, 305.0)
    assert facts == [
        "Duration: 5 min 5 s.",
        "Load on the client: peak 302 N (50 % of the therapist's body weight; allowed 60 %), "
        "mean 250 N (42 %) while standing on the client.",
        "Zones worked: left lower-back muscles (2 min 10 s), right buttock (40 s), "
        "left shoulder blade (under 1 s).",
        "Alarms: 3 (2 × pressure on the spine (lower-back spine, upper-back spine); "
        "1 × too much of the therapist's weight on the client).",
    ]


def test_a_session_without_measurements_says_so_and_names_why_it_ended():
    facts = soap_notes.measured_facts(None, [], {"error": "sensor unplugged"}, None)
    assert facts == [
        "Duration: —.",
        "Load on the client: not measured.",
        "Zones worked: none recorded.",
        "Alarms: none.",
        "The session did not finish normally: sensor unplugged.",
    ]


def test_a_note_started_from_a_template_keeps_the_therapists_words_and_is_audited(db):
    sid = _session(db)
    with SqlUnitOfWork(db) as uow:
        tpl = soap_notes.save_template(
            uow,
            None,
            name="Lower back",
            subjective="Client reports stiffness.",
            assessment="Tight erectors.",
            plan="Weekly for 4 weeks.",
            actor=OWNER,
            ip="",
        )
        tpl_id = tpl.id
    note = NoteInput(
        subjective="Sore after gardening.",
        objective="Skin fine.",
        areas=("gluteal_right", "erector_lumbar_left"),
        pain_before=6,
        pain_after=2,
    )
    with SqlUnitOfWork(db) as uow:
        view = soap_notes.save_note(uow, sid, note, THERAPIST, "10.0.0.1", template_id=tpl_id)
    assert view["subjective"] == "Sore after gardening."  # typed text wins over the template
    assert (view["assessment"], view["plan"]) == ("Tight erectors.", "Weekly for 4 weeks.")
    assert view["areas"] == ["erector_lumbar_left", "gluteal_right"]  # contract order
    assert (view["pain_before"], view["pain_after"], view["template"]) == (6, 2, "Lower back")
    assert view["objective_measured"][0] == "Duration: 5 min 5 s."
    assert view["notes"] == "old plain notes"  # the plain notes stay as they were
    action, entity, detail = _audit(db)[-1]
    assert (action, entity) == ("update", "session")
    assert detail.startswith("SOAP note started: subjective, objective, assessment, plan")
    assert "template 'Lower back'" in detail


def test_scores_zones_and_lengths_are_refused_naming_the_field(db):
    sid = _session(db)
    for note, field in (
        (NoteInput(pain_before=11), "pain_before"),
        (NoteInput(pain_after=-1), "pain_after"),
        (NoteInput(areas=("kidneys",)), "areas"),
        (NoteInput(plan="x" * 20001), "plan"),
        (NoteInput(assessment="tight\x00back"), "assessment"),
    ):
        with pytest.raises(InputError, match=rf"^{field}: "), SqlUnitOfWork(db) as uow:
            soap_notes.save_note(uow, sid, note, THERAPIST, "")


def test_a_signed_note_is_locked_and_corrections_are_signed_addenda_in_order(db):
    sid = _session(db)
    with SqlUnitOfWork(db) as uow:
        soap_notes.save_note(uow, sid, NoteInput(subjective="Fine."), THERAPIST, "")
    with pytest.raises(Conflict, match="not signed yet"), SqlUnitOfWork(db) as uow:
        soap_notes.add_addendum(uow, sid, "too early", THERAPIST, "")
    with SqlUnitOfWork(db) as uow:
        treatments.sign_session(uow, sid, None, THERAPIST, "")
    with SqlUnitOfWork(db) as uow:  # the stored outcome changes after signing ...
        t = treatments.get_session(uow, sid)
        t.summary = None
    with SqlUnitOfWork(db) as uow:  # ... the signed note keeps the facts it was signed with
        view = soap_notes.note_view(uow, treatments.get_session(uow, sid))
    assert view["locked"] and view["objective_measured"][0] == "Duration: 5 min 5 s."
    assert view["objective_measured"][1].startswith("Load on the client: peak 302 N")
    for note in (NoteInput(subjective="Fine."), NoteInput(subjective="Changed.")):
        locked = pytest.raises(Conflict, match="is signed: its note is locked")
        with locked, SqlUnitOfWork(db) as uow:
            soap_notes.save_note(uow, sid, note, THERAPIST, "")
    with pytest.raises(Forbidden, match="only the session's therapist"), SqlUnitOfWork(db) as uow:
        soap_notes.add_addendum(uow, sid, "not mine", OTHER, "")
    with pytest.raises(InputError, match=r"^text: "), SqlUnitOfWork(db) as uow:
        soap_notes.add_addendum(uow, sid, "   ", THERAPIST, "")
    with SqlUnitOfWork(db) as uow:
        soap_notes.add_addendum(uow, sid, "Pain was 3, not 2.", THERAPIST, "")
    with SqlUnitOfWork(db) as uow:
        soap_notes.add_addendum(uow, sid, "Seen by the owner.", OWNER, "")
    with SqlUnitOfWork(db) as uow:
        view = soap_notes.note_view(uow, treatments.get_session(uow, sid))
    assert view["subjective"] == "Fine."
    first, second = view["addenda"]
    assert (first["text"], first["signed_by"], first["signed_as"]) == (
        "Pain was 3, not 2.",
        "Mia",
        "therapist",
    )
    assert first["signer_credential"].startswith("Ashiatsu certificate, Ashiatsu Guild")
    assert (second["signed_by"], second["signed_as"]) == ("Olivia", "owner")
    assert [a for a, e, _ in _audit(db)][-2:] == ["addendum", "addendum"]


def test_a_session_signed_without_a_note_keeps_its_measured_facts(db):
    sid = _session(db)
    with SqlUnitOfWork(db) as uow:
        treatments.sign_session(uow, sid, "all fine", THERAPIST, "")
    with SqlUnitOfWork(db) as uow:
        view = soap_notes.note_view(uow, treatments.get_session(uow, sid))
    assert view["started"] and view["notes"] == "all fine"
    assert view["objective_measured"][-1].startswith("Alarms: 3")


def test_only_an_owner_keeps_templates_with_unique_names_and_every_change_is_audited(db):
    with pytest.raises(Forbidden), SqlUnitOfWork(db) as uow:
        soap_notes.save_template(uow, None, name="Mine", actor=THERAPIST, ip="")
    with SqlUnitOfWork(db) as uow:
        tid = soap_notes.save_template(uow, None, name="Neck", actor=OWNER, ip="").id
    taken = pytest.raises(InputError, match=r"^name: a template called 'Neck'")
    with taken, SqlUnitOfWork(db) as uow:
        soap_notes.save_template(uow, None, name="Neck", actor=OWNER, ip="")
    with pytest.raises(InputError, match=r"^name: give"), SqlUnitOfWork(db) as uow:
        soap_notes.save_template(uow, tid, name=" ", actor=OWNER, ip="")
    with SqlUnitOfWork(db) as uow:
        soap_notes.save_template(uow, tid, name="Neck and shoulders", plan="P", actor=OWNER, ip="")
    with SqlUnitOfWork(db) as uow:
        soap_notes.delete_template(uow, tid, OWNER, "")
    with SqlUnitOfWork(db) as uow:
        assert soap_notes.list_templates(uow) == []
    assert [(a, e) for a, e, _ in _audit(db) if e == "note_template"] == [
        ("create", "note_template"),
        ("update", "note_template"),
        ("delete", "note_template"),
    ]
