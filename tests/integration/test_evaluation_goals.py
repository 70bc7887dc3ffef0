"""Evaluation goals on simulated mixed sessions: per kind recall >= 0.95, precision >= 0.90,
onset within 0.5 s, pooled over several seeds (simulator service -> analyzer -> evaluation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ashiguard.adapters.recording import open_recording
from ashiguard.domain.alarms import KINDS, AlarmConfig
from ashiguard.domain.simulation import SimulationConfig
from ashiguard.services.analyze import analyze_recording, evaluate_alerts
from ashiguard.services.simulate import simulate_to_file

# mixed sessions (every original kind, depth_stress under the heel edges on the spine), a
# static hold (dwell_time, zone_dose) and flank loads (depth_stress at kidney depth)
SESSIONS = (
    ("mixed", 2, 180.0),
    ("mixed", 3, 180.0),
    ("mixed", 11, 180.0),
    ("static_hold", 4, 240.0),
    ("deep_flank", 5, 60.0),
)


@pytest.mark.slow
def test_every_alert_kind_meets_the_recall_precision_and_onset_goals(tmp_path: Path) -> None:
    truth_all: list[dict[str, object]] = []
    alerts_all: list[dict[str, object]] = []
    for i, (scenario, seed, seconds) in enumerate(SESSIONS):
        path = tmp_path / f"{scenario}-{seed}.h5"
        cfg = SimulationConfig(duration_s=seconds, seed=seed, scenario=scenario)
        simulate_to_file(path, cfg)
        result = analyze_recording(path, AlarmConfig(), use_truth_restrictions=True)
        with open_recording(path) as rec:
            truth = rec.truth_events()
        offset = 1000.0 * i  # pool the sessions on one time axis
        truth_all += [
            e | {"t_start": e["t_start"] + offset, "t_end": e["t_end"] + offset} for e in truth
        ]
        alerts_all += [
            a.to_json() | {"t_start": a.t_start + offset, "t_end": a.t_end + offset}
            for a in result.alerts
        ]
    report = evaluate_alerts(truth_all, alerts_all)["kinds"]
    assert set(report) == set(KINDS)
    for kind, r in report.items():
        assert r["recall"] >= 0.95, (kind, r)
        assert r["precision"] >= 0.90, (kind, r)
        assert r["onset_delay_max_s"] <= 0.5, (kind, r)


def test_truth_restrictions_are_never_applied_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "restricted.h5"
    simulate_to_file(path, SimulationConfig(duration_s=40.0, seed=5, scenario="restricted"))
    with open_recording(path) as rec:
        assert any(e["kind"] == "restricted_zone" for e in rec.truth_events())
    plain = analyze_recording(path, AlarmConfig())
    assert "restricted_zone" not in [a.kind for a in plain.alerts]
    assert plain.summary["limits"]["avoid_zones"] == []
    told = analyze_recording(path, AlarmConfig(), use_truth_restrictions=True)
    assert "restricted_zone" in [a.kind for a in told.alerts]
