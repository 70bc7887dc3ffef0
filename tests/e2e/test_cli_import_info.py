"""``ashiguard import`` and ``ashiguard info`` through the real command line."""

from __future__ import annotations

import json

import h5py


def test_import_then_info_summarizes_a_real_fscan_movie(run_cli, shared_data, tmp_path):
    out = tmp_path / "REC.h5"
    r = run_cli("import", shared_data / "vendor-exports" / "fscan_testL.asf", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "tekscan, 205 frames, grid 60x21" in r.stdout
    r = run_cli("info", out, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["frames"] == 205
    assert s["grid"] == [60, 21]
    assert s["rate_hz"] == 31.25  # 0.032 s per frame
    assert s["duration_s"] == 6.56
    assert s["units"] == "kPa"
    assert s["placement"] == "foot" and s["side"] == "left"
    assert s["peak"] == 760.0
    assert s["missing_sensels"] == 305  # the "B" cells outside the insole outline
    assert s["bars"] is False and s["insoles"] == {}
    assert s["truth_events"] == 0 and s["dropped_frames"] is None
    r = run_cli("info", out)
    assert r.returncode == 0
    assert "grid        60 x 21   pitch 5.08 mm" in r.stdout
    assert "placement   foot (left)" in r.stdout


def test_import_of_insoles_and_forced_format(run_cli, shared_data, tmp_path):
    out = tmp_path / "moticon.h5"
    src = shared_data / "moticon" / "230927_102137.txt"
    r = run_cli("import", src, "-o", out, "--format", "moticon", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["insoles"] == ["left", "right"]
    assert min(summary["insole_samples"].values()) > 100
    # the plain summary says what was read (insole samples), never "0 frames"
    r = run_cli("import", src, "-o", tmp_path / "again.h5", "--format", "moticon")
    assert r.returncode == 0, r.stderr
    assert "0 frames" not in r.stdout and "grid none" not in r.stdout
    n = summary["insole_samples"]["left"]
    assert f"left insole {n} samples, 16 sensors" in r.stdout
    r = run_cli("info", out)
    assert r.returncode == 0
    assert "insole      left: 2200 samples, 16 sensors, rate 100 Hz" in r.stdout


def test_bad_input_is_one_line_on_stderr_exit_2_and_nothing_on_stdout(
    run_cli, shared_data, tmp_path
):
    text = (shared_data / "vendor-exports" / "fscan_testL.asf").read_text()
    bad = tmp_path / "bad.asf"
    bad.write_text(text.replace("COLS 21", "COLS 22"))
    r = run_cli("import", bad, "-o", tmp_path / "x.h5")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.strip().count("\n") == 0
    assert "bad.asf: line 32: expected 22 values, got 21" in r.stderr
    assert not (tmp_path / "x.h5").exists()

    rec = tmp_path / "rec.h5"
    assert run_cli("import", shared_data / "popu/tactilus/prone1_0.json", "-o", rec).returncode == 0
    with h5py.File(rec, "r+") as f:
        t = f["mat/time"][()]
        t[7] = t[3]
        f["mat/time"][...] = t
    r = run_cli("info", rec)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.strip() == f"ashiguard: error: {rec}: /mat/time: not increasing at frame 7"

    r = run_cli("info", tmp_path / "nope.h5")
    assert r.returncode == 2 and "no such file" in r.stderr
