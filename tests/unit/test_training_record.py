"""The clinic's training record: stored exercises and attempts, the policy the readiness gate
checks (naming what is missing), the researchers' de-identified attempts."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources

import numpy as np
import pytest
from sqlalchemy import select

from ashiguard.adapters.db import Database, SqlUnitOfWork, sqlite_url
from ashiguard.adapters.db.models import AuditEntry
from ashiguard.domain.errors import Conflict, Forbidden, InputError, Refused
from ashiguard.domain.training import AttemptScore, score_attempt, shipped_exercise
from ashiguard.domain.zones import ZONES
from ashiguard.services import clinic, clinic_admin, consent, training, treatments
from ashiguard.services.uow import Actor

TODAY = date.today()
OWNER = Actor(1, "olivia", "Olivia", "owner")
THERAPIST = Actor(2, "mia", "Mia", "therapist")
INSTRUCTOR = Actor(3, "ian", "Ian", "instructor")
RESEARCHER = Actor(4, "rae", "Rae", "researcher")


def _toml(name: str) -> str:
    return resources.files("ashiguard.domain").joinpath(f"exercises/{name}.toml").read_text("utf-8")


@pytest.fixture
def db(tmp_path):
    database = Database(sqlite_url(tmp_path / "clinic.sqlite3"))
    database.migrate()
    with SqlUnitOfWork(database) as uow:
        for a in (OWNER, THERAPIST, INSTRUCTOR, RESEARCHER):
            clinic_admin.add_user(
                uow.session, a.username, "long-enough-pw", a.role, hash_password=lambda p: "h:" + p
            )
    yield database
    database.dispose()


def _clinic(db) -> dict[str, int]:
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
        for label in ("left", "right"):
            bar = clinic_admin.add_bar(
                uow, room.id, {"label": label, "rated_load_n": "3000"}, OWNER, ""
            )
            clinic_admin.add_inspection(
                uow,
                bar.id,
                {
                    "inspected_on": (TODAY - timedelta(days=5)).isoformat(),
                    "inspector": "Bo",
                    "passed": "yes",
                },
                OWNER,
                "",
            )
        c = clinic.create_client(uow, {"name": "Anna"}, OWNER, "")
        intake = {
            "schema": "ashiguard.intake/1",
            "date": TODAY.isoformat(),
            "client": {"id": c.ref, "height_cm": 170, "weight_kg": 70},
        }
        clinic.store_intake(uow, c.id, intake, [], OWNER, "")
        consent.sign_consent(uow, c.id, {"typed_name": "Anna", "agreed": "yes"}, OWNER, "")
        return {"client_id": c.id, "practitioner_id": pr.id, "room_id": room.id}


def _score(kpa: float) -> AttemptScore:
    """An attempt at lumbar-heel-hold holding ``kpa`` on the lumbar erector for 30 s."""
    labels = np.full((2, 4), ZONES.index("erector_lumbar_left"))
    t = np.arange(301) / 10.0
    p = np.full((301, 2, 4), kpa, dtype=np.float32)
    return score_attempt(shipped_exercise("lumbar-heel-hold"), [(t, p)], labels, ZONES)


def test_an_instructor_stores_exercises_and_a_therapist_may_not(db) -> None:
    with SqlUnitOfWork(db) as uow:
        row = training.save_exercise(uow, _toml("lumbar-heel-hold"), INSTRUCTOR, "10.0.0.9")
        assert (row.slug, row.version, row.skill) == ("lumbar-heel-hold", 1, "heel_hold")
    with (
        pytest.raises(Forbidden, match="role 'therapist' may not create exercises"),
        SqlUnitOfWork(db) as uow,
    ):
        training.save_exercise(uow, _toml("thoracic-glide"), THERAPIST, "")
    with (
        pytest.raises(Conflict, match="exercise lumbar-heel-hold v1 exists: raise its version"),
        SqlUnitOfWork(db) as uow,
    ):
        training.save_exercise(uow, _toml("lumbar-heel-hold"), OWNER, "")
    bad = _toml("thoracic-glide").replace("level = 2", "level = 8")
    with (
        pytest.raises(InputError, match=r"^target\.level: must be an integer 1-5, got 8$"),
        SqlUnitOfWork(db) as uow,
    ):
        training.save_exercise(uow, bad, OWNER, "")
    v2 = _toml("lumbar-heel-hold").replace("version = 1", "version = 2")
    with SqlUnitOfWork(db) as uow:
        training.save_exercise(uow, v2, OWNER, "")
        assert [(e.slug, e.version) for e in training.list_exercises(uow)] == [
            ("lumbar-heel-hold", 2),
            ("lumbar-heel-hold", 1),
        ]
    with db.session() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "training_exercise")
        ).first()
        assert entry is not None and entry.username == "ian" and entry.ip == "10.0.0.9"


def test_an_attempt_is_stored_only_against_the_exercise_version_it_was_scored_on(db) -> None:
    ids = _clinic(db)
    with SqlUnitOfWork(db) as uow:
        ex = training.save_exercise(uow, _toml("lumbar-heel-hold"), OWNER, "")
        other = training.save_exercise(uow, _toml("thoracic-glide"), OWNER, "")
        first = training.store_attempt(
            uow,
            ids["practitioner_id"],
            ex.id,
            _score(40.0),
            INSTRUCTOR,
            "",
            on=TODAY - timedelta(1),
        )
        second = training.store_attempt(
            uow, str(ids["practitioner_id"]), str(ex.id), _score(20.0), INSTRUCTOR, ""
        )
        assert (first.passed, second.passed) == (False, True)
        with pytest.raises(InputError, match=r"^exercise_id: the score is of lumbar-heel-hold v1"):
            training.store_attempt(uow, ids["practitioner_id"], other.id, _score(20.0), OWNER, "")
        with pytest.raises(Forbidden):
            training.store_attempt(uow, ids["practitioner_id"], ex.id, _score(20.0), THERAPIST, "")
        record = training.attempts_of(uow, ids["practitioner_id"], THERAPIST)
        assert [a.id for a in record] == [second.id, first.id]
        assert record[1].score["reasons"][0].startswith("time in band 0 %")


def test_the_gate_names_the_skill_without_a_recent_pass_until_one_is_stored(db) -> None:
    ids = _clinic(db)
    with SqlUnitOfWork(db) as uow:
        ex = training.save_exercise(uow, _toml("lumbar-heel-hold"), OWNER, "")
        assert training.set_training_policy(uow, "12:heel_hold", OWNER, "") is not None
        old = TODAY - timedelta(days=400)
        training.store_attempt(uow, ids["practitioner_id"], ex.id, _score(20.0), OWNER, "", on=old)
        training.store_attempt(uow, ids["practitioner_id"], ex.id, _score(40.0), OWNER, "")
    with pytest.raises(Refused) as refused, SqlUnitOfWork(db) as uow:
        treatments.start_session(uow, **ids, source="sim", actor=OWNER, ip="")
    assert refused.value.reasons == [
        "heel_hold: no passed assessment within 12 months "
        f"(last passed lumbar-heel-hold on {old.isoformat()})"
    ]
    with SqlUnitOfWork(db) as uow:
        training.store_attempt(uow, ids["practitioner_id"], ex.id, _score(20.0), OWNER, "")
    with SqlUnitOfWork(db) as uow:
        assert treatments.start_session(uow, **ids, source="sim", actor=OWNER, ip="").id


def test_without_a_policy_the_gate_asks_nothing_of_training_and_only_the_owner_sets_one(
    db,
) -> None:
    ids = _clinic(db)
    with SqlUnitOfWork(db) as uow:
        assert training.training_policy(uow) is None
        assert training.training_checks(uow, ids["practitioner_id"], TODAY) == ()
        with pytest.raises(Forbidden):
            training.set_training_policy(uow, "12:heel_hold", INSTRUCTOR, "")
        with pytest.raises(InputError, match=r"skills: unknown skill 'toe_hold'"):
            training.set_training_policy(uow, "12:toe_hold", OWNER, "")
        training.set_training_policy(uow, "6:heel_hold,whole_foot_stroke", OWNER, "")
        training.set_training_policy(uow, "", OWNER, "")
        assert training.training_policy(uow) is None
    with SqlUnitOfWork(db) as uow:
        assert treatments.start_session(uow, **ids, source="sim", actor=OWNER, ip="").id


def test_researchers_get_the_stored_attempts_de_identified(db) -> None:
    ids = _clinic(db)
    with SqlUnitOfWork(db) as uow:
        ex = training.save_exercise(uow, _toml("lumbar-heel-hold"), OWNER, "")
        training.store_attempt(uow, ids["practitioner_id"], ex.id, _score(40.0), OWNER, "")
        training.store_attempt(uow, ids["practitioner_id"], ex.id, _score(20.0), OWNER, "")
        rows = training.research_attempt_rows(uow, RESEARCHER, "")
        with pytest.raises(Forbidden):
            training.research_attempt_rows(uow, THERAPIST, "")
    assert [(r["attempt"], r["passed"]) for r in rows] == [(1, "no"), (2, "yes")]
    assert rows[1]["in_band_fraction"] == 1.0
    text = repr(rows)
    assert "Mia" not in text and TODAY.isoformat() not in text
