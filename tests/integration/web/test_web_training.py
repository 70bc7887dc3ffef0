"""The training page: an instructor stores exercises, the owner sets the policy, each
practitioner's attempts, missing assessments and progress plot; researchers' CSV."""

from __future__ import annotations

from importlib import resources

import numpy as np
from webhelpers import csrf_of, login, make_client

from ashiguard.adapters.db import SqlUnitOfWork
from ashiguard.adapters.db.models import Practitioner
from ashiguard.domain.training import score_attempt, shipped_exercise
from ashiguard.domain.zones import ZONES
from ashiguard.entrypoints.web.security import create_user
from ashiguard.services import training

HOLD = resources.files("ashiguard.domain").joinpath("exercises/lumbar-heel-hold.toml")


def _practitioner(db) -> int:
    with db.session() as s:
        pr = Practitioner(name="Mia Trainee", mass_kg=60.0, training_hours=10, active=True)
        s.add(pr)
        s.flush()
        return pr.id


def _passed_attempt(db, practitioner_id: int) -> None:
    labels = np.full((2, 4), ZONES.index("erector_lumbar_left"))
    t = np.arange(301) / 10.0
    p = np.full((301, 2, 4), 20.0, dtype=np.float32)
    score = score_attempt(shipped_exercise("lumbar-heel-hold"), [(t, p)], labels, ZONES)
    with SqlUnitOfWork(db) as uow:
        ex = training.list_exercises(uow)[0]
        training.store_attempt(uow, practitioner_id, ex.id, score, None, "")


def test_an_instructor_stores_an_exercise_and_a_bad_one_is_shown_again_with_its_error(
    app, db
) -> None:
    with db.session() as s:
        create_user(s, "ian", "instructor-pass-123", "instructor", "Ian")
    with make_client(app) as c:
        assert login(c, "ian", "instructor-pass-123").status_code == 303
        page = c.get("/training")
        assert page.status_code == 200 and "No exercise yet." in page.text
        token = csrf_of(c, "/training")
        bad = HOLD.read_text("utf-8").replace("level = 3", "level = 9")
        r = c.post("/training/exercises", data={"csrf_token": token, "definition": bad})
        assert r.status_code == 400
        assert "target.level: must be an integer 1-5, got 9" in r.text
        assert "level = 9" in r.text  # the form keeps what was typed
        good = HOLD.read_text("utf-8")
        r = c.post("/training/exercises", data={"csrf_token": token, "definition": good})
        assert r.status_code == 303 and r.headers["location"] == "/training"
        page = c.get("/training").text
        assert "lumbar-heel-hold" in page and "15-25 kPa, 30 s" in page
        r = c.post("/training/policy", data={"csrf_token": token, "policy": "12:heel_hold"})
        assert r.status_code == 403  # the policy is the owner's


def test_the_owner_sets_the_policy_and_sees_who_is_missing_an_assessment(app, db) -> None:
    pid = _practitioner(db)
    with SqlUnitOfWork(db) as uow:
        training.save_exercise(uow, HOLD.read_text("utf-8"), None, "")
    with make_client(app) as c:
        assert login(c, "owner").status_code == 303
        token = csrf_of(c, "/training")
        r = c.post("/training/policy", data={"csrf_token": token, "policy": "12:toe_hold"})
        assert r.status_code == 400 and "skills: unknown skill" in r.text
        r = c.post("/training/policy", data={"csrf_token": token, "policy": "12:heel_hold"})
        assert r.status_code == 303
        page = c.get("/training").text
        assert "heel hold: no passed assessment within 12 months" in page  # in words
        _passed_attempt(db, pid)
        page = c.get("/training").text
        assert "heel hold: passed lumbar-heel-hold on" in page
        assert f'src="/training/practitioners/{pid}/progress.png"' in page
        png = c.get(f"/training/practitioners/{pid}/progress.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert c.get("/training/practitioners/999/progress.png").status_code == 404


def test_researchers_download_the_attempts_de_identified_and_therapists_may_not(app, db) -> None:
    pid = _practitioner(db)
    with SqlUnitOfWork(db) as uow:
        training.save_exercise(uow, HOLD.read_text("utf-8"), None, "")
    _passed_attempt(db, pid)
    with make_client(app) as c:
        assert login(c, "researcher").status_code == 303
        r = c.get("/training/attempts.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        lines = r.text.splitlines()
        assert lines[0].startswith("attempt,exercise,exercise_version,skill,")
        assert lines[1].startswith("1,lumbar-heel-hold,1,heel_hold,")
        assert "Mia" not in r.text
    with make_client(app) as c:
        assert login(c, "therapist").status_code == 303
        assert c.get("/training/attempts.csv").status_code == 403
        assert c.get("/training").status_code == 200


def test_an_instructor_uploads_a_recorded_attempt_and_it_is_scored_and_stored(
    app, db, tmp_path
) -> None:
    pid = _practitioner(db)
    attempt = tmp_path / "attempt.h5"
    training.run_attempt(shipped_exercise("lumbar-heel-hold"), "sim:good_student", attempt, speed=0)
    with db.session() as s:
        create_user(s, "ian", "instructor-pass-123", "instructor", "Ian")
    with make_client(app) as c:
        assert login(c, "ian", "instructor-pass-123").status_code == 303
        token = csrf_of(c, "/training")

        def upload(name: str, content: bytes):
            return c.post(
                "/training/attempts",
                data={"csrf_token": token, "practitioner_id": str(pid)},
                files={"recording": (name, content, "application/octet-stream")},
            )

        r = upload("attempt.h5", attempt.read_bytes())
        assert r.status_code == 400
        assert "recording: its exercise lumbar-heel-hold v1 is not stored: store it first" in r.text
        r = upload("junk.h5", b"not a recording")
        assert r.status_code == 400 and "recording: " in r.text
        with SqlUnitOfWork(db) as uow:
            training.save_exercise(uow, HOLD.read_text("utf-8"), None, "")
        r = upload("attempt.h5", attempt.read_bytes())
        assert r.status_code == 303, r.text[:300]
        page = c.get("/training").text
        assert "passed" in page and "95 %" in page
    with SqlUnitOfWork(db) as uow:
        [stored] = training.attempts_of(uow, pid)
        assert stored.source == "upload" and stored.recording.startswith("training-")
