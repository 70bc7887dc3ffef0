"""Training attempts run live from the browser, the student's progress PDF, the class
overview and the de-identified attempts as Parquet (docs/training.md)."""

from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta
from importlib import resources

import numpy as np
import pytest
from webhelpers import csrf_of, login, make_client

from ashiguard.adapters.db import SqlUnitOfWork
from ashiguard.adapters.db.models import Practitioner, TrainingAttempt
from ashiguard.domain.training import score_attempt, shipped_exercise
from ashiguard.domain.zones import ZONES
from ashiguard.entrypoints.web.security import create_user
from ashiguard.services import training

HOLD = resources.files("ashiguard.domain").joinpath("exercises/lumbar-heel-hold.toml")


def _setup(db, users, *, therapist_linked: bool = True) -> tuple[int, int, int]:
    """An instructor, two practitioners (Tess linked to the therapist's login), the shipped
    heel hold stored; returns (Mia's id, Tess's id, the exercise row id)."""
    with db.session() as s:
        create_user(s, "ian", "instructor-pass-123", "instructor", "Ian Instructor")
        mia = Practitioner(
            name="Mia Trainee",
            mass_kg=60.0,
            training_hours=10,
            active=True,
            certification="Ashiatsu Guild",
            certified_on=date(2026, 1, 5),
        )
        tess = Practitioner(
            name="Tess Therapist",
            mass_kg=62.0,
            training_hours=40,
            active=True,
            user_id=users["therapist"] if therapist_linked else None,
        )
        s.add_all([mia, tess])
        s.flush()
        ids = (mia.id, tess.id)
    with SqlUnitOfWork(db) as uow:
        ex_id = training.save_exercise(uow, HOLD.read_text("utf-8"), None, "").id
    return ids[0], ids[1], ex_id


def _instructor(app):
    c = make_client(app)
    c.__enter__()
    assert login(c, "ian", "instructor-pass-123").status_code == 303
    return c


def _finish(app, location: str) -> str:
    run_id = location.rsplit("/", 1)[-1]
    assert app.state.training.wait(run_id, 60)
    return run_id


def test_an_instructor_runs_a_live_attempt_and_it_is_scored_and_stored_with_its_criteria(
    app, db, users
) -> None:
    mia, _tess, ex_id = _setup(db, users)
    app.state.live.speed = 0.0  # as fast as the source goes
    c = _instructor(app)
    form = c.get("/training/live")
    assert form.status_code == 200
    assert "sim:good_student" in form.text and "Mia Trainee" in form.text
    assert "left lower-back muscles" in form.text  # the exercise in words, not slugs
    assert "erector_lumbar_left" not in form.text
    token = csrf_of(c, "/training/live")
    r = c.post(
        "/training/live",
        data={
            "csrf_token": token,
            "practitioner_id": str(mia),
            "exercise_id": str(ex_id),
            "source": "sim:good_student",
        },
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/training/live/")
    run_id = _finish(app, r.headers["location"])
    view = c.get(f"/training/live/{run_id}/view.json").json()
    assert view["status"] == "ended", view["error"]
    assert view["passed"] is True and view["attempt_id"] is not None
    assert view["band_kpa"] == [15.0, 25.0]
    assert [x["ok"] for x in view["criteria"]] == [True] * 6
    page = c.get(r.headers["location"])
    assert (
        page.status_code == 200 and "Passed" in page.text and "Time in the target band" in page.text
    )
    with SqlUnitOfWork(db) as uow:
        [stored] = training.attempts_of(uow, mia)
        assert stored.id == view["attempt_id"] and stored.passed
        assert stored.source == "sim:good_student" and stored.recording.startswith("training-")
        recording = app.state.settings.recordings_dir / stored.recording
    # the recording is what `ashiguard train -o` writes: it scores the same from its exercise
    again = training.score_recording(recording)
    assert again.passed and again.in_band_s == pytest.approx(stored.score["in_band_s"], abs=0.01)
    record = c.get("/training").text
    assert "0.01 h (0.5 min) on the sensor" in record  # 30 s
    c.__exit__(None, None, None)


def test_the_poor_student_fails_live_with_its_reasons_in_words(app, db, users) -> None:
    mia, _tess, ex_id = _setup(db, users)
    app.state.live.speed = 0.0
    c = _instructor(app)
    token = csrf_of(c, "/training/live")
    r = c.post(
        "/training/live",
        data={
            "csrf_token": token,
            "practitioner_id": str(mia),
            "exercise_id": str(ex_id),
            "source": "sim:poor_student",
        },
    )
    run_id = _finish(app, r.headers["location"])
    view = c.get(f"/training/live/{run_id}/view.json").json()
    assert view["status"] == "ended" and view["passed"] is False
    failed = {x["name"] for x in view["criteria"] if not x["ok"]}
    assert failed == {
        "Stayed off the forbidden zones",
        "Time in the target band",
        "Too heavy (overshoot)",
        "Steady pressure (variation)",
    }
    forbidden = next(x for x in view["criteria"] if x["name"].startswith("Stayed off"))
    assert forbidden["measured"] == "lower-back spine loaded"
    page = c.get("/training").text
    assert "forbidden zone lower-back spine loaded" in page and "spine_lumbar" not in page
    c.__exit__(None, None, None)


def test_a_stopped_attempt_is_stored_as_cut_short(app, db, users) -> None:
    mia, _tess, ex_id = _setup(db, users)
    app.state.live.speed = 1.0  # real time: the Stop comes long before the 30 s are over
    c = _instructor(app)
    token = csrf_of(c, "/training/live")
    r = c.post(
        "/training/live",
        data={
            "csrf_token": token,
            "practitioner_id": str(mia),
            "exercise_id": str(ex_id),
            "source": "sim:good_student",
        },
    )
    loc = r.headers["location"]
    assert c.post(f"{loc}/stop", data={}).status_code == 403  # no CSRF token
    stopped = c.post(f"{loc}/stop", data={"csrf_token": token})
    assert stopped.status_code == 303
    view = c.get(f"{loc}/view.json").json()
    assert view["status"] == "ended" and view["passed"] is False
    assert view["criteria"][0] == {
        "name": "Full length",
        "measured": view["criteria"][0]["measured"],
        "asked": "30 s",
        "ok": False,
    }
    c.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("practitioner_id", "abc", "practitioner_id: "),
        ("practitioner_id", "999", "practitioner_id: no practitioner 999"),
        ("exercise_id", "999", "exercise_id: no stored exercise 999"),
        ("source", "bogus:thing", "source: must be sim, sim:SCENARIO, replay:FILE or lsl:NAME"),
        ("source", "replay:nothere.h5", "source: no recording 'nothere.h5' in the data directory"),
    ],
)
def test_a_bad_start_shows_the_form_again_with_a_one_line_error_naming_the_field(
    app, db, users, field, value, message
) -> None:
    mia, _tess, ex_id = _setup(db, users)
    c = _instructor(app)
    data = {
        "csrf_token": csrf_of(c, "/training/live"),
        "practitioner_id": str(mia),
        "exercise_id": str(ex_id),
        "source": "sim:good_student",
        field: value,
    }
    r = c.post("/training/live", data=data)
    assert r.status_code == 400
    [error] = map(html.unescape, re.findall(r'<p class="error" role="alert">([^<]*)</p>', r.text))
    assert error.startswith(message) and "\n" not in error
    c.__exit__(None, None, None)


def test_a_therapist_practises_for_themselves_only_and_practice_never_counts_for_the_policy(
    app, db, users, as_role
) -> None:
    mia, tess, ex_id = _setup(db, users)
    app.state.live.speed = 0.0
    with SqlUnitOfWork(db) as uow:
        training.set_training_policy(uow, "12:heel_hold", None, "")
    c = as_role("therapist")
    form = c.get("/training/live").text
    assert "Tess Therapist" in form and "Mia Trainee" not in form
    token = csrf_of(c, "/training/live")
    base = {"csrf_token": token, "exercise_id": str(ex_id), "source": "sim:good_student"}
    r = c.post("/training/live", data={**base, "practitioner_id": str(mia)})
    assert r.status_code == 403  # not their own record
    r = c.post("/training/live", data={**base, "practitioner_id": str(tess)})
    assert r.status_code == 303
    run_id = _finish(app, r.headers["location"])
    assert c.get(f"/training/live/{run_id}/view.json").json()["passed"] is True
    with SqlUnitOfWork(db) as uow:
        [attempt] = training.attempts_of(uow, tess)
        pr = uow.session.get(Practitioner, tess)
        assert training.is_self_recorded(attempt, pr)
        [check] = training.training_checks(uow, tess, date.today())
        assert not check.ok  # practice: still missing
    # another user's run is not theirs to watch
    other = as_role("owner")
    assert other.get(f"/training/live/{run_id}/view.json").status_code == 200
    assert c.get("/training/live/0123456789abcdef/view.json").status_code == 404


@pytest.mark.parametrize("role", ["front_desk", "researcher"])
def test_front_desk_and_researchers_may_not_run_attempts_or_see_the_class(
    app, db, users, as_role, role
) -> None:
    mia, _tess, ex_id = _setup(db, users)
    c = as_role(role)
    assert c.get("/training/live").status_code == 403
    data = {
        "csrf_token": csrf_of(c, "/"),
        "practitioner_id": str(mia),
        "exercise_id": str(ex_id),
        "source": "sim:good_student",
    }
    assert c.post("/training/live", data=data).status_code == 403
    assert c.get("/training/class").status_code == 403
    assert c.get("/training/class.csv").status_code == 403
    assert c.get(f"/training/practitioners/{mia}/progress.pdf").status_code == 403


def _stored(db, pid: int, ex_id: int, *, passed: bool, on: date, recorded_by=None) -> None:
    labels = np.full((2, 4), ZONES.index("erector_lumbar_left"))
    t = np.arange(301) / 10.0
    p = np.full((301, 2, 4), 20.0 if passed else 40.0, dtype=np.float32)
    score = score_attempt(shipped_exercise("lumbar-heel-hold"), [(t, p)], labels, ZONES)
    assert score.passed is passed
    with SqlUnitOfWork(db) as uow:
        row = training.store_attempt(uow, pid, ex_id, score, None, "", on=on)
        row.recorded_by = recorded_by


def test_the_progress_pdf_names_the_student_their_attempts_skills_hours_and_checks(
    app, db, users, as_role, tmp_path
) -> None:
    from pypdf import PdfReader

    mia, _tess, ex_id = _setup(db, users)
    with SqlUnitOfWork(db) as uow:
        training.set_training_policy(uow, "12:heel_hold,forefoot_stroke", None, "")
    _stored(db, mia, ex_id, passed=False, on=date.today() - timedelta(days=3))
    _stored(db, mia, ex_id, passed=True, on=date.today() - timedelta(days=2))
    c = as_role("therapist")  # therapists read training records
    r = c.get(f"/training/practitioners/{mia}/progress.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    text = " ".join(text.split())
    assert "Training progress: Mia Trainee" in text
    assert "Credentials: Ashiatsu Guild, certified on 2026-01-05" in text
    assert "Hours on the sensor: 0.02 h (1.0 min) (2 attempts, 1 passed)" in text
    assert "ok: heel hold: passed lumbar-heel-hold on" in text
    assert "MISSING: forefoot stroke: no passed assessment within 12 months" in text
    assert "lumbar-heel-hold v1" in text and "failed" in text and "passed" in text
    assert "overshoot" in text.lower() and "kPa·s above the 15 allowed" in text
    assert "Passes per skill" in text and "heel hold" in text
    assert "heel_hold" not in text and "erector_lumbar_left" not in text
    assert c.get("/training/practitioners/999/progress.pdf").status_code == 404


def test_the_cli_writes_the_progress_pdf_from_the_data_dir(run_cli, tmp_path) -> None:
    from pypdf import PdfReader

    from ashiguard.bootstrap import open_database
    from ashiguard.settings import Settings

    data = tmp_path / "clinic"
    db = open_database(Settings(data_dir=data))
    try:
        with db.session() as s:
            pr = Practitioner(name="Mia Trainee", mass_kg=60.0, training_hours=10, active=True)
            s.add(pr)
            s.flush()
            mia = pr.id
        with SqlUnitOfWork(db) as uow:
            ex_id = training.save_exercise(uow, HOLD.read_text("utf-8"), None, "").id
        _stored(db, mia, ex_id, passed=True, on=date.today())
    finally:
        db.dispose()
    out = tmp_path / "mia.pdf"
    r = run_cli("train", "report", "--practitioner", str(mia), "-o", out, "--data-dir", data)
    assert r.returncode == 0, r.stderr
    assert f"wrote the progress report of Mia Trainee to {out}" in r.stdout
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(out).pages).split())
    assert "Training progress: Mia Trainee" in text and "lumbar-heel-hold v1" in text
    bad = run_cli("train", "report", "--practitioner", "999", "-o", out, "--data-dir", data)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == "ashiguard: error: practitioner 999 not found"


def test_the_class_overview_shows_each_student_per_skill_against_the_policy(app, db, users) -> None:
    mia, tess, ex_id = _setup(db, users)
    with SqlUnitOfWork(db) as uow:
        training.set_training_policy(uow, "12:heel_hold,whole_foot_stroke", None, "")
    _stored(db, mia, ex_id, passed=True, on=date.today() - timedelta(days=360))  # expiring
    _stored(db, mia, ex_id, passed=False, on=date.today() - timedelta(days=1))
    _stored(db, tess, ex_id, passed=False, on=date.today())
    c = _instructor(app)
    page = c.get("/training")
    assert 'href="/training/class"' in page.text
    r = c.get("/training/class")
    assert r.status_code == 200
    row = re.search(rf'<tr id="class-{mia}">(.*?)</tr>', r.text, re.S).group(1)
    assert "expiring" in row and "1 failed attempt since" in row and "not attempted" in row
    assert "0.02 h (1.0 min)" in row
    row = re.search(rf'<tr id="class-{tess}">(.*?)</tr>', r.text, re.S).group(1)
    assert "failed" in row and "1 failed attempt" in row and "not attempted" in row
    assert "Heel hold" in r.text and "Whole-foot stroke" in r.text and "heel_hold" not in r.text
    csv = c.get("/training/class.csv")
    assert csv.status_code == 200
    lines = csv.text.splitlines()
    assert lines[0] == "practitioner,attempts,hours_on_sensor,heel hold,whole-foot stroke"
    assert lines[1].startswith('Mia Trainee,2,0.02,"expiring ')
    c.__exit__(None, None, None)
    with SqlUnitOfWork(db) as uow:  # the standing in one skill expires after the months
        overview = training.class_overview(uow, None, date.today() + timedelta(days=10))
        st = next(r for r in overview.rows if r.practitioner_id == mia).standings["heel_hold"]
        assert st.state == "expired"


def test_researchers_get_the_attempts_as_parquet_with_the_csv_columns(
    app, db, users, as_role
) -> None:
    import pyarrow.parquet as pq

    from ashiguard.domain.training import ATTEMPT_CSV_COLUMNS

    mia, _tess, ex_id = _setup(db, users)
    _stored(db, mia, ex_id, passed=True, on=date.today())
    _stored(db, mia, ex_id, passed=False, on=date.today())
    c = as_role("researcher")
    r = c.get("/training/attempts.parquet")
    assert r.status_code == 200
    table = pq.read_table(io.BytesIO(r.content))
    assert tuple(table.column_names) == ATTEMPT_CSV_COLUMNS
    rows = table.to_pylist()
    assert [x["passed"] for x in rows] == [True, False]
    assert rows[0]["attempt"] == 1 and rows[0]["exercise"] == "lumbar-heel-hold"
    assert "Mia" not in r.content.decode("latin-1")
    assert as_role("therapist").get("/training/attempts.parquet").status_code == 403
    with SqlUnitOfWork(db) as uow:
        assert uow.session.query(TrainingAttempt).count() == 2
