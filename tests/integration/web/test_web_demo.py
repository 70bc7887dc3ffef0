"""The demo clinic that `make run` (``ashiguard serve --demo``) starts with."""

from __future__ import annotations

from sqlalchemy import select

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import (
    NoteTemplate,
    Room,
    Screening,
    SoapNote,
    TreatmentSession,
    User,
)
from ashiguard.adapters.recording import open_recording
from ashiguard.bootstrap import open_database
from ashiguard.entrypoints.web.demo import seed_demo
from ashiguard.settings import Settings


def test_demo_clinic_covers_every_decision_rooms_and_recorded_sessions(tmp_path):
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings)
    logins = seed_demo(settings, db)
    assert {role for _, _, role in logins} == {"owner", "therapist", "front_desk", "researcher"}
    with db.session() as s:
        assert len(s.scalars(select(User)).all()) == len(logins)
        decisions = set(s.scalars(select(Screening.decision)).all())
        assert decisions == {"cleared", "modify", "defer", "clearance_required", "decline"}
        versions = set(s.scalars(select(Screening.rules_version)).all())
        assert versions == {"ashiguard-default-v1.1"}  # the default rule set
        rooms = {r.name: r for r in s.scalars(select(Room)).all()}
        assert set(rooms) == {"Studio A", "Studio B"}
        due = {room.name for room, _, _ in repo.bars_due(s, repo.utcnow().date())}
        assert due == {"Studio B"}  # its bar was never inspected; Studio A's were last month
        sessions = s.scalars(select(TreatmentSession)).all()
        assert len(sessions) == 3
        for t in sessions:
            assert t.status in ("ended", "signed")
            with open_recording(settings.data_dir / t.recording_path) as rec:
                assert rec.meta.frames > 0
            assert t.summary["schema"] == "ashiguard.analysis/1"
            if t.status == "signed":  # a SOAP note with its measured facts, signer named
                note = s.scalar(select(SoapNote).where(SoapNote.session_id == t.id))
                assert note.objective_measured.startswith("Duration: 1 min 30 s.")
                assert note.pain_before == 6 and note.template_name == "Lower back, first visit"
                assert t.signer_name == t.practitioner.name and t.signed_as == "therapist"
        assert len(s.scalars(select(NoteTemplate)).all()) == 3
    # seeding twice keeps what is there (one demo per data directory)
    assert seed_demo(settings, db) == logins
    with db.session() as s:
        assert len(s.scalars(select(TreatmentSession)).all()) == 3
