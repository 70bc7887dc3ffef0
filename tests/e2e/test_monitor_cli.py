"""analyze, evaluate and monitor through the command line (subprocess)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ashiguard.adapters.recording import RecordingWriter
from ashiguard.domain.zones import ZONES, Grid, ZoneMap

CliRunner = Callable[..., subprocess.CompletedProcess[str]]

ROWS, COLS, PITCH, ORIGIN = 128, 48, 10.0, (-235.0, -150.0)
CONTRACT_KEYS = ["kind", "priority", "t_start", "t_end", "zone", "peak", "limit", "unit"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s at 50 Hz: a steady erector press, and a 120 kPa heel on the lumbar spine at 1-2 s."""
    labels = ZoneMap.from_height(1700.0).rasterize(Grid(ROWS, COLS, PITCH, ORIGIN)).labels
    n = 200
    t = np.arange(n) / 50.0
    p = np.zeros((n, ROWS, COLS), dtype=np.float32)
    rr, cc = np.nonzero(labels == ZONES.index("spine_lumbar"))
    p[50:100, rr[4] : rr[4] + 2, cc[4] : cc[4] + 2] = 120.0
    er, ec = np.nonzero(labels == ZONES.index("erector_lumbar_left"))
    p[:, er[20], ec[20]] = 30.0 + (np.arange(n) % 3)
    path = tmp_path_factory.mktemp("cli") / "rec.h5"
    with RecordingWriter(
        path,
        rows=ROWS,
        cols=COLS,
        pitch_mm=PITCH,
        origin_mm=ORIGIN,
        placement="on_client",
        therapist_mass_kg=70.0,
        client={"height_cm": 170.0, "weight_kg": 70.0},
    ) as w:
        w.append(t, p)
    return path


def test_analyze_writes_contract_alert_lines_and_a_summary(
    run_cli: CliRunner, recording: Path, tmp_path: Path
) -> None:
    out, summ = tmp_path / "a.jsonl", tmp_path / "s.json"
    done = run_cli("analyze", recording, "--alerts", out, "--summary", summ)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [a["kind"] for a in lines] == ["spine_pressure"]
    assert list(lines[0])[:8] == CONTRACT_KEYS
    assert lines[0]["zone"] == "spine_lumbar" and lines[0]["t_start"] == pytest.approx(1.0)
    assert lines[0]["rule"] and lines[0]["value_seen"] >= lines[0]["limit"]
    summary = json.loads(summ.read_text())
    assert summary["checks"]["zone_pressure"]["status"] == "applied"


def test_analyze_with_a_screening_tightens_the_limits(
    run_cli: CliRunner, recording: Path, tmp_path: Path
) -> None:
    screening = {
        "schema": "ashiguard.screening/1",
        "client_id": "c-1",
        "date": "2026-11-24",
        "decision": "modify",
        "findings": [],
        "restrictions": {
            "avoid_zones": ["erector_lumbar_left"],
            "max_load_fraction": None,
            "max_pressure_kpa": None,
        },
        "rules_version": "test",
    }
    s = tmp_path / "screening.json"
    s.write_text(json.dumps(screening))
    out = tmp_path / "a.jsonl"
    done = run_cli("analyze", recording, "--screening", s, "--alerts", out)
    assert done.returncode == 0, done.stderr
    kinds = [json.loads(x)["kind"] for x in out.read_text().splitlines()]
    assert "restricted_zone" in kinds


@pytest.mark.slow
def test_analyze_refuses_bad_input_with_one_line_and_exit_2(
    run_cli: CliRunner, recording: Path, tmp_path: Path
) -> None:
    bad_cfg = tmp_path / "limits.toml"
    bad_cfg.write_text("[zones]\nspleen = 10\n")
    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("hello")
    for args, needle in (
        (["analyze", recording, "--config", bad_cfg, "--alerts", tmp_path / "o"], "zones.spleen"),
        (["analyze", not_h5, "--alerts", tmp_path / "o"], "x.h5"),
        (["analyze", tmp_path / "none.h5", "--alerts", tmp_path / "o"], "none.h5"),
    ):
        done = run_cli(*args)
        assert done.returncode == 2
        assert done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1 and needle in done.stderr


def test_evaluate_needs_ground_truth_and_well_formed_alerts(
    run_cli: CliRunner, recording: Path, tmp_path: Path
) -> None:
    alerts = tmp_path / "a.jsonl"
    alerts.write_text('{"kind": "spine_pressure", "t_start": 1, "t_end": 2}\n{oops\n')
    done = run_cli("evaluate", recording, "--alerts", alerts)
    assert done.returncode == 2 and "line 2" in done.stderr and done.stdout == ""
    alerts.write_text('{"kind": "spine_pressure", "t_start": 1, "t_end": 2}\n')
    done = run_cli("evaluate", recording, "--alerts", alerts)
    assert done.returncode == 2 and "/truth/events" in done.stderr


@pytest.mark.slow
def test_analyze_then_evaluate_a_simulated_session(run_cli: CliRunner, tmp_path: Path) -> None:
    rec, out = tmp_path / "sim.h5", tmp_path / "a.jsonl"
    done = run_cli("simulate", "-o", rec, "--duration", "60", "--seed", "4", "--scenario", "mixed")
    assert done.returncode == 0, done.stderr
    done = run_cli("analyze", rec, "--alerts", out, "--truth-restrictions")
    assert done.returncode == 0, done.stderr
    done = run_cli("evaluate", rec, "--alerts", out, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["schema"] == "ashiguard.evaluation/1"
    for kind, r in report["kinds"].items():
        assert r["recall"] == 1.0, kind
    text = run_cli("evaluate", rec, "--alerts", out)
    assert text.returncode == 0 and "recall" in text.stdout.splitlines()[0]


@pytest.mark.slow
def test_monitor_runs_headless_and_prints_alarm_events_as_json_lines(
    run_cli: CliRunner, recording: Path
) -> None:
    done = run_cli("monitor", "--source", f"replay:{recording}", "--duration", "3.5", input="")
    assert done.returncode == 0, done.stderr
    events = [json.loads(x) for x in done.stdout.splitlines()]
    raised = [e for e in events if e["action"] == "raised"]
    assert [(e["kind"], e["zone"]) for e in raised] == [("spine_pressure", "spine_lumbar")]
    assert "state" in done.stderr
