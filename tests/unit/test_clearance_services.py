"""Recording physicians' clearances (services over an SQLite unit of work): validation, the
letter, the audit entry, the readiness gate and the dashboard's waiting list."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from test_uploads import PDF, png_bytes

from ashiguard.adapters.db import SqlUnitOfWork, repo
from ashiguard.adapters.db.models import (
    AuditEntry,
    Clearance,
    Client,
    Screening,
    TreatmentSession,
)
from ashiguard.adapters.uploads import UploadStore
from ashiguard.domain.errors import Forbidden, InputError, Refused
from ashiguard.services import clearances, clinic, clinic_admin, consent, treatments
from ashiguard.services.uow import Actor

TODAY = date.today()
OWNER = Actor(1, "olivia", "Olivia", "owner")
THERAPIST = Actor(2, "mia", "Mia", "therapist")
DESK = Actor(3, "fay", "Fay", "front_desk")
RESEARCHER = Actor(4, "rex", "Rex", "researcher")


@pytest.fixture
def db(tmp_path, migrated_sqlite):
    database = migrated_sqlite(tmp_path / "clinic.sqlite3")
    with SqlUnitOfWork(database) as uow:
        for a in (OWNER, THERAPIST, DESK, RESEARCHER):
            clinic_admin.add_user(
                uow.session, a.username, "long-enough-pw", a.role, hash_password=lambda p: "h" + p
            )
    yield database
    database.dispose()


@pytest.fixture
def uploads(tmp_path):
    return UploadStore(tmp_path / "data")


def _clinic(db, **facts):
    """A certified practitioner, a room with inspected bars, a client screened today."""
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
            },
            OWNER,
            "",
        )
        room = clinic_admin.add_room(uow, {"name": "Studio"}, OWNER, "")
        bar = clinic_admin.add_bar(
            uow, room.id, {"label": "left", "rated_load_n": "3000"}, OWNER, ""
        )
        clinic_admin.add_inspection(
            uow,
            bar.id,
            {"inspected_on": TODAY.isoformat(), "inspector": "Bo", "passed": "yes"},
            OWNER,
            "",
        )
        c = clinic.create_client(uow, {"name": "Anna"}, DESK, "")
        intake = {
            "schema": "ashiguard.intake/1",
            "date": TODAY.isoformat(),
            "client": {"id": c.ref},
        }
        clinic.store_intake(uow, c.id, {**intake, **facts}, [], DESK, "")
        consent.sign_consent(uow, c.id, {"typed_name": "Anna", "agreed": "yes"}, DESK, "")
        return {"client_id": c.id, "practitioner_id": pr.id, "room_id": room.id}


ANTICOAGULANT = {"medications": [{"code": "anticoagulant"}]}
FIELDS = {
    "physician_name": "Dr Jane Roe",
    "practice": "Northside Medical",
    "contact": "+44 20 7946 0000",
    "cleared_on": TODAY.isoformat(),
    "rules": ["anticoagulant"],
    "restrictions": "Light pressure on the legs.",
}


def _record(db, uploads, cid, actor=DESK, letter=PDF, **fields):
    with SqlUnitOfWork(db) as uow:
        row = clearances.record_clearance(
            uow,
            cid,
            {**FIELDS, **fields},
            clearances.Letter(letter, "../../letter.pdf") if letter is not None else None,
            uploads,
            actor,
            "10.0.0.9",
        )
        return row.id


def _start(db, ids):
    with SqlUnitOfWork(db) as uow:
        return treatments.start_session(uow, **ids, source="sim:mixed", actor=THERAPIST, ip="").id


def _files(uploads):
    return sorted(uploads.root.iterdir()) if uploads.root.exists() else []


def test_a_clearance_is_stored_with_its_letter_and_audited(db, uploads):
    ids = _clinic(db, **ANTICOAGULANT)
    cid = _record(db, uploads, ids["client_id"])
    with db.session() as s:
        row = s.get(Clearance, cid)
        assert row.rules == ["anticoagulant"] and row.cleared_on == TODAY
        assert row.letter_type == "application/pdf" and row.letter_name == "letter.pdf"
        assert row.letter_path.startswith("uploads/") and "letter" not in row.letter_path
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity == "clearance")).one()
    assert (entry.username, entry.action, entry.ip) == ("fay", "create", "10.0.0.9")
    assert "Dr Jane Roe" in entry.detail and "rules anticoagulant" in entry.detail
    assert [f.name for f in _files(uploads)] == [row.letter_path.split("/")[1]]
    with SqlUnitOfWork(db) as uow:
        _, data = clearances.read_letter(uow, cid, uploads, THERAPIST, "")
    assert data == PDF


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"physician_name": " "}, "physician_name: required"),
        ({"practice": ""}, "practice: required"),
        ({"contact": ""}, "contact: required"),
        ({"cleared_on": ""}, "cleared_on: required"),
        ({"cleared_on": "05/12/2026"}, "cleared_on: expected YYYY-MM-DD"),
        ({"cleared_on": (TODAY + timedelta(days=1)).isoformat()}, "lies in the future"),
        ({"valid_until": (TODAY - timedelta(days=1)).isoformat()}, "valid_until: "),
        ({"rules": []}, "rules: tick the findings"),
        ({"rules": ["osteoporosis"]}, "rules: 'osteoporosis' is not a finding"),
        ({"restrictions": "x" * 2001}, "restrictions: at most 2000"),
    ],
)
def test_bad_fields_are_refused_naming_the_field_and_nothing_is_stored(
    db, uploads, fields, message
):
    ids = _clinic(db, **ANTICOAGULANT)
    with pytest.raises(InputError, match=message):
        _record(db, uploads, ids["client_id"], **fields)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Clearance)) == 0
    assert _files(uploads) == []


def test_a_refused_letter_leaves_no_record_and_no_file(db, uploads):
    ids = _clinic(db, **ANTICOAGULANT)
    for letter, message in (
        (None, "letter: attach"),
        (b"<html><script>alert(1)</script></html>", "letter: not a PDF, PNG or JPEG"),
        (png_bytes() + b"<script>alert(1)</script>", "letter: data after the end"),
    ):
        with pytest.raises(InputError, match=message):
            _record(db, uploads, ids["client_id"], letter=letter)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Clearance)) == 0
    assert _files(uploads) == []


def test_a_client_whose_screening_needs_no_clearance_cannot_get_one(db, uploads):
    ids = _clinic(db)
    with pytest.raises(InputError, match="rules: the client's latest screening needs no"):
        _record(db, uploads, ids["client_id"])


def test_a_researcher_may_not_record_a_clearance_or_read_a_letter(db, uploads):
    ids = _clinic(db, **ANTICOAGULANT)
    with pytest.raises(Forbidden):
        _record(db, uploads, ids["client_id"], actor=RESEARCHER)
    cid = _record(db, uploads, ids["client_id"])
    with pytest.raises(Forbidden), SqlUnitOfWork(db) as uow:
        clearances.read_letter(uow, cid, uploads, RESEARCHER, "")


def test_the_gate_refuses_until_a_clearance_covers_the_finding_then_lets_the_session_start(
    db, uploads
):
    ids = _clinic(db, **ANTICOAGULANT)
    with pytest.raises(Refused) as exc:
        _start(db, ids)
    assert any("rule 'anticoagulant'" in r for r in exc.value.reasons)
    _record(db, uploads, ids["client_id"])
    sid = _start(db, ids)
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        sc = s.get(Screening, t.screening_id)
        assert sc.decision == "clearance_required"  # the stored screening is not rewritten
        assert sc.payload["decision"] == "clearance_required"
    with SqlUnitOfWork(db) as uow:
        ctx = treatments.session_context(uow, sid, uploads.root)
    assert ctx.screening["decision"] == "cleared"


def test_an_expired_clearance_no_longer_opens_the_gate(db, uploads):
    ids = _clinic(db, **ANTICOAGULANT)
    cid = _record(db, uploads, ids["client_id"], valid_until=TODAY.isoformat())
    with db.session() as s:  # the letter was valid until yesterday
        row = s.get(Clearance, cid)
        row.cleared_on = TODAY - timedelta(days=30)
        row.valid_until = TODAY - timedelta(days=1)
        s.commit()
    with pytest.raises(Refused):
        _start(db, ids)


def test_a_clearance_never_opens_the_gate_for_a_decline(db, uploads):
    ids = _clinic(db, **ANTICOAGULANT, conditions=[{"code": "osteoporosis", "status": "active"}])
    _record(db, uploads, ids["client_id"], rules=["anticoagulant", "low-bone-density"])
    with pytest.raises(Refused) as exc:
        _start(db, ids)
    assert any("'decline'" in r for r in exc.value.reasons)


def test_the_waiting_list_drops_a_client_once_every_finding_is_cleared(db, uploads):
    ids = _clinic(db, **ANTICOAGULANT, conditions=[{"code": "fibromyalgia", "status": "active"}])
    with db.session() as s:
        assert [c.id for c, _ in repo.clients_awaiting_clearance(s)] == [ids["client_id"]]
    _record(db, uploads, ids["client_id"], rules=["anticoagulant"])
    with db.session() as s:
        assert [c.id for c, _ in repo.clients_awaiting_clearance(s)] == [ids["client_id"]]
    _record(db, uploads, ids["client_id"], rules=["unknown-code"])
    with db.session() as s:
        assert repo.clients_awaiting_clearance(s) == []
        later = TODAY + timedelta(days=400)
        assert [c.id for c, _ in repo.clients_awaiting_clearance(s, later)] == []


def test_the_review_reads_the_screening_as_the_session_was_treated_that_day(db, uploads):
    ids = _clinic(db, **ANTICOAGULANT)
    _record(db, uploads, ids["client_id"])
    with db.session() as s:
        sc = repo.latest_screening(s, ids["client_id"])
        assert clearances.screening_as_treated(s, sc, TODAY)["decision"] == "cleared"
        before = clearances.screening_as_treated(s, sc, TODAY - timedelta(days=1))
        assert before["decision"] == "clearance_required"
        assert sc.payload["decision"] == "clearance_required"


def test_a_later_unknown_code_needs_a_new_letter(db, uploads):
    ids = _clinic(db, conditions=[{"code": "fibromyalgia", "status": "active"}])
    _record(db, uploads, ids["client_id"], rules=["unknown-code"])
    with db.session() as s:
        assert repo.clients_awaiting_clearance(s) == []
    with SqlUnitOfWork(db) as uow:  # a new intake version names another unknown code
        c = uow.session.get(Client, ids["client_id"])
        intake = {
            "schema": "ashiguard.intake/1",
            "date": TODAY.isoformat(),
            "client": {"id": c.ref},
        }
        facts = {"conditions": [{"code": "lupus_thing", "status": "active"}]}
        clinic.store_intake(uow, c.id, {**intake, **facts}, [], DESK, "")
        consent.sign_consent(uow, c.id, {"typed_name": "Anna", "agreed": "yes"}, DESK, "")
    with db.session() as s:
        assert [c.id for c, _ in repo.clients_awaiting_clearance(s)] == [ids["client_id"]]
    with pytest.raises(Refused) as exc:
        _start(db, ids)
    assert any("rule 'unknown-code'" in r for r in exc.value.reasons)
