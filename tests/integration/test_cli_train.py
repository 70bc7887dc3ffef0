"""``ashiguard train``: validate an exercise, run an attempt, record it, score it again."""

from __future__ import annotations

import json
from pathlib import Path

from ashiguard.adapters.recording import open_recording

EXERCISES = Path(__file__).resolve().parents[2] / "src/ashiguard/domain/exercises"
HOLD = str(EXERCISES / "lumbar-heel-hold.toml")


def test_validate_prints_a_summary_of_a_good_exercise(run_cli) -> None:
    r = run_cli("train", "validate", HOLD)
    assert r.returncode == 0, r.stderr
    assert (
        "valid exercise lumbar-heel-hold v1: hold with the heel on erector_lumbar_left" in r.stdout
    )
    assert "15-25 kPa for 30 s" in r.stdout


def test_validate_refuses_a_bad_exercise_with_one_line_and_exit_2(run_cli, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(HOLD).read_text().replace("level = 3", "level = 9"))
    r = run_cli("train", "validate", str(bad))
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == f"ashiguard: error: {bad}: target.level: must be an integer 1-5, got 9\n"


def test_train_without_an_exercise_or_a_source_exits_2(run_cli) -> None:
    r = run_cli("train", "--source", "sim:good_student")
    assert r.returncode == 2
    assert r.stderr.startswith("ashiguard: error: train: give --exercise FILE and --source")


def test_the_good_student_passes_and_the_recording_carries_the_exercise(run_cli, tmp_path) -> None:
    out = tmp_path / "attempt.h5"
    r = run_cli(
        "train", "--exercise", HOLD, "--source", "sim:good_student", "--speed", "0",
        "-o", str(out), "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    score = json.loads(r.stdout)
    assert score["passed"] is True and score["reasons"] == []
    assert score["exercise"] == "lumbar-heel-hold"
    with open_recording(out) as rec:
        attrs = rec.mat_attrs()
    assert json.loads(attrs["exercise"])["id"] == "lumbar-heel-hold"
    assert json.loads(attrs["truth_attempt"])["expected"] == "pass"
    again = run_cli("train", "score", str(out), "--json")
    assert again.returncode == 0, again.stderr
    rescored = json.loads(again.stdout)
    for key in ("passed", "in_band_s", "overshoot_kpa_s", "cv", "onset_s", "frames"):
        assert rescored[key] == score[key]


def test_the_poor_student_fails_with_the_reasons_printed(run_cli, tmp_path) -> None:
    out = tmp_path / "poor.h5"
    r = run_cli(
        "train", "--exercise", HOLD, "--source", "sim:poor_student", "--speed", "0",
        "-o", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("lumbar-heel-hold v1: FAILED: in band")
    assert any(line.startswith("  - forbidden zone spine_lumbar loaded at") for line in lines)
    assert lines[-1].startswith("recorded 3001 frames to")
    replay = run_cli(
        "train", "--exercise", HOLD, "--source", f"replay:{out}", "--speed", "0", "--json"
    )
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["passed"] is False
    csv_path, png = tmp_path / "attempts.csv", tmp_path / "progress.png"
    prog = run_cli(
        "train", "progress", str(out), str(out), "--csv", str(csv_path), "--plot", str(png)
    )
    assert prog.returncode == 0, prog.stderr
    assert prog.stdout.splitlines()[-1] == "0 of 2 attempts passed"
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("attempt,exercise,exercise_version,skill,")
    assert rows[1].startswith("1,lumbar-heel-hold,1,heel_hold,hold,heel,15.0,25.0,30.0,no,")
    assert str(tmp_path) not in csv_path.read_text()
    assert png.read_bytes().startswith(b"\x89PNG")


def test_scoring_a_recording_that_is_no_attempt_exits_2(run_cli, tmp_path) -> None:
    rec = tmp_path / "plain.h5"
    r = run_cli("simulate", "-o", str(rec), "--duration", "5", "--scenario", "baseline")
    assert r.returncode == 0, r.stderr
    s = run_cli("train", "score", str(rec))
    assert s.returncode == 2
    assert (
        s.stderr
        == f"ashiguard: error: {rec}: /mat attr exercise: absent (not a recorded attempt)\n"
    )


def _clinic_with_practitioner(data_dir: Path) -> int:
    from ashiguard.adapters.db import SqlUnitOfWork
    from ashiguard.bootstrap import open_database
    from ashiguard.services import clinic_admin
    from ashiguard.settings import Settings

    db = open_database(Settings(data_dir=data_dir))
    try:
        with SqlUnitOfWork(db) as uow:
            pr = clinic_admin.save_practitioner(uow, {"name": "Mia", "mass_kg": "62"}, None, "")
            return int(pr.id)
    finally:
        db.dispose()


def test_an_attempt_is_stored_in_the_practitioners_training_record(run_cli, tmp_path) -> None:
    from ashiguard.adapters.db import SqlUnitOfWork
    from ashiguard.bootstrap import open_database
    from ashiguard.services import training
    from ashiguard.settings import Settings

    data = tmp_path / "clinic"
    pid = _clinic_with_practitioner(data)
    args = ("train", "--exercise", HOLD, "--source", "sim:good_student", "--speed", "0")
    missing = run_cli(*args, "--practitioner", "999", "--data-dir", str(data))
    assert missing.returncode == 2
    assert missing.stderr == "ashiguard: error: practitioner 999 not found\n"
    r = run_cli(*args, "--practitioner", str(pid), "--data-dir", str(data), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["passed"] is True and out["attempt_id"] == 1
    changed = tmp_path / "changed.toml"
    changed.write_text(Path(HOLD).read_text().replace("duration_s = 30", "duration_s = 20"))
    clash = run_cli(
        "train", "--exercise", str(changed), "--source", "sim:good_student", "--speed", "0",
        "--practitioner", str(pid), "--data-dir", str(data),
    )  # fmt: skip
    assert clash.returncode == 2
    assert "exercise lumbar-heel-hold v1 is stored with other content" in clash.stderr
    db = open_database(Settings(data_dir=data))
    try:
        with SqlUnitOfWork(db) as uow:
            [attempt] = training.attempts_of(uow, pid)
            assert attempt.passed and attempt.source == "sim:good_student"
            assert attempt.exercise.slug == "lumbar-heel-hold"
    finally:
        db.dispose()
