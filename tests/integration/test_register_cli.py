"""``ashiguard register`` through a subprocess, on real PoPu files and a recording."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

TACTILUS = "popu/tactilus"


def _png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_register_prints_json_placement_and_writes_the_overlay(run_cli, shared_data, tmp_path):
    out = tmp_path / "overlay.png"
    res = run_cli(
        "register",
        shared_data / TACTILUS / "prone2_0.json",
        "--height-cm",
        "190",
        "--pitch-mm",
        "auto",
        "-o",
        out,
        "--json",
    )
    assert res.returncode == 0, res.stderr
    js = json.loads(res.stdout)
    assert js["head_end"] == "first_row"
    assert 11.0 < js["midline_col"] < 17.0
    rows = js["landmarks_row"]
    assert set(rows) >= {"c7", "t12", "l5s1", "coccyx", "gluteal_fold", "popliteal", "ankle"}
    assert rows["c7"] < rows["t12"] < rows["l5s1"] < rows["gluteal_fold"] < rows["popliteal"]
    assert js["pitch_source"] == "body_length"
    assert 26.0 < js["pitch_mm"] < 34.0
    assert 0.0 < js["quality"] <= 1.0
    assert _png(out) and out.stat().st_size > 20_000


def test_register_uses_the_file_pitch_by_default(run_cli, shared_data):
    res = run_cli(
        "register", shared_data / TACTILUS / "prone1_0.json", "--height-cm", "190", "--json"
    )
    assert res.returncode == 0, res.stderr
    js = json.loads(res.stdout)
    assert js["pitch_source"] == "given"
    assert js["pitch_mm"] == pytest.approx(25.4)  # the importer's nominal pitch
    assert 26.0 < js["body_length_pitch_mm"] < 34.0


def test_register_flags_a_pitch_that_disagrees_with_the_body(run_cli, shared_data):
    res = run_cli(
        "register",
        shared_data / TACTILUS / "prone1_0.json",
        "--height-cm",
        "190",
        "--pitch-mm",
        "40",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    js = json.loads(res.stdout)
    assert any("disagrees with height" in r for r in js["reasons"])
    assert js["quality"] < 0.6


def test_register_pitch_override_is_used(run_cli, shared_data):
    res = run_cli(
        "register",
        shared_data / TACTILUS / "prone4_0.json",
        "--height-cm",
        "190",
        "--pitch-mm",
        "34",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    js = json.loads(res.stdout)
    assert js["pitch_mm"] == 34.0
    c7, t12 = js["landmarks_row"]["c7"], js["landmarks_row"]["t12"]
    assert t12 - c7 == pytest.approx(0.165 * 1900 / 34, abs=0.01)


def test_register_text_output_names_head_end_and_landmarks(run_cli, shared_data):
    res = run_cli("register", shared_data / TACTILUS / "prone3_1.json", "--height-cm", "190")
    assert res.returncode == 0, res.stderr
    assert "head end     first_row" in res.stdout
    assert "gluteal_fold" in res.stdout


@pytest.mark.parametrize("sensor", ["tactilus", "sensomatt"])
def test_register_refuses_an_empty_bed_with_exit_2(run_cli, shared_data, sensor):
    res = run_cli(
        "register", shared_data / "popu" / sensor / "empty1.json", "--height-cm", "190", "--json"
    )
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ashiguard: error: frames: ")


def test_register_refuses_the_empty_tactilus_bed_as_no_body(run_cli, shared_data):
    res = run_cli("register", shared_data / TACTILUS / "empty1.json", "--height-cm", "190")
    assert res.returncode == 2 and "no body found" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--height-cm", "tall"], "--height-cm: 'tall' is not a number"),
        (["--height-cm", "190", "--pitch-mm", "x"], "--pitch-mm: 'x' is not a number"),
        (["--height-cm", "190", "--pitch-mm", "-3"], "--pitch-mm: must be > 0"),
        (["--height-cm", "190", "-o", "out.jpg"], "--output: out.jpg: the overlay is a PNG"),
    ],
)
def test_register_bad_options_fail_with_one_line(run_cli, shared_data, args, message):
    res = run_cli("register", shared_data / TACTILUS / "prone1_0.json", *args)
    assert res.returncode == 2
    assert res.stdout == ""
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_register_reads_a_recording(run_cli, shared_data, tmp_path):
    from ashiguard.adapters.importers import import_file
    from ashiguard.adapters.recording import RecordingWriter

    imported = import_file(shared_data / TACTILUS / "prone4_1.json")
    rec = tmp_path / "mat.h5"
    with RecordingWriter(rec, rows=64, cols=27, pitch_mm=34.0, placement="under_client") as writer:
        assert imported.pressure is not None and imported.time is not None
        writer.append(imported.time, imported.pressure)
    res = run_cli("register", rec, "--height-cm", "190", "--json")
    assert res.returncode == 0, res.stderr
    js = json.loads(res.stdout)
    assert js["pitch_mm"] == 34.0 and js["head_end"] == "first_row"
    direct = run_cli(
        "register",
        shared_data / TACTILUS / "prone4_1.json",
        "--height-cm",
        "190",
        "--pitch-mm",
        "34",
        "--json",
    )
    assert json.loads(direct.stdout)["landmarks_row"] == pytest.approx(js["landmarks_row"])
    assert np.isfinite(js["midline_col"])


def test_register_on_a_missing_file_fails_cleanly(run_cli, tmp_path):
    res = run_cli("register", tmp_path / "nope.json", "--height-cm", "190")
    assert res.returncode == 2 and res.stdout == ""


def test_register_refuses_a_foot_grid(run_cli, shared_data):
    res = run_cli(
        "register", shared_data / "vendor-exports" / "fscan_testL.asf", "--height-cm", "170"
    )
    assert res.returncode == 2 and res.stdout == ""
    assert "placement 'foot': registration needs a mat under the client" in res.stderr
