"""The offline analyzer on small synthetic recordings and on real imported vendor files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ashiguard.adapters.recording import RecordingWriter
from ashiguard.domain.alarms import AlarmConfig
from ashiguard.domain.zones import ZONES, Grid, ZoneMap
from ashiguard.services.analyze import analyze_recording, evaluate_alerts

ROWS, COLS, PITCH = 128, 48, 10.0
ORIGIN = (-235.0, -150.0)


def _block(labels: np.ndarray, zone: str, rows: int = 3, cols: int = 2) -> tuple[slice, slice]:
    rr, cc = np.nonzero(labels == ZONES.index(zone))
    for r, c in zip(rr, cc, strict=True):
        if (labels[r : r + rows, c : c + cols] == ZONES.index(zone)).all():
            return slice(r, r + rows), slice(c, c + cols)
    raise AssertionError(f"no {rows}x{cols} block in {zone}")


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """20 s at 50 Hz: three 2 s presses of 40 kPa on the left lumbar erector (6 sensels),
    and one 1 s heel of 120 kPa on the lumbar spine at 12 s."""
    labels = ZoneMap.from_height(1700.0).rasterize(Grid(ROWS, COLS, PITCH, ORIGIN)).labels
    n = 1000
    t = np.arange(n) / 50.0
    p = np.zeros((n, ROWS, COLS), dtype=np.float32)
    er, ec = _block(labels, "erector_lumbar_left")
    for start in (1.0, 5.0, 9.0):
        k = slice(int(start * 50), int((start + 2.0) * 50))
        p[k, er, ec] = 40.0
    sr, sc = _block(labels, "spine_lumbar", 2, 2)
    p[600:650, sr, sc] = 120.0
    p += (np.arange(n) % 2)[:, None, None].astype(np.float32) * 0.25 * (p > 0)  # never stale
    path = tmp_path_factory.mktemp("an") / "session.h5"
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
    return path, {"labels": labels}


def test_summary_reports_contact_time_dose_area_strokes_and_peaks_per_zone(
    session: tuple[Path, dict[str, object]],
) -> None:
    path, _ = session
    result = analyze_recording(path, AlarmConfig(), chunk_frames=64)
    z = result.summary["zones"]["erector_lumbar_left"]
    assert z["strokes"] == 3
    assert z["contact_s"] == pytest.approx(6.0, abs=0.1)
    assert z["mean_kpa"] == pytest.approx(40.125, abs=0.2)
    assert z["dose_kpa_s"] == pytest.approx(40.125 * 6.0, rel=0.02)
    assert z["contact_area_mm2"] == pytest.approx(6 * PITCH * PITCH)
    assert z["over_limit_s"] == 0.0
    spine = result.summary["zones"]["spine_lumbar"]
    assert spine["peak_kpa"] == pytest.approx(120.25, abs=0.01)
    assert spine["over_limit_s"] == pytest.approx(1.0, abs=0.05)
    assert [a.kind for a in result.alerts] == ["spine_pressure"]
    assert result.summary["checks"]["zone_pressure"]["status"] == "applied"
    load = result.summary["load"]
    assert load["max_n"] == pytest.approx(0.1 * 4 * 120.25, rel=0.01)  # 1 kPa on 100 mm²: 0.1 N
    assert len(load["series"]) == 20
    assert result.summary["symmetry"]["index_percent"] > 0  # the load sits on the left
    assert result.summary["cop_paths_mm"]["foot_a"]


def test_summary_does_not_depend_on_the_chunk_size(
    session: tuple[Path, dict[str, object]],
) -> None:
    path, _ = session
    a = analyze_recording(path, AlarmConfig(), chunk_frames=37)
    b = analyze_recording(path, AlarmConfig(), chunk_frames=1000)
    assert a.summary["zones"] == b.summary["zones"]
    assert [x.to_json() for x in a.alerts] == [x.to_json() for x in b.alerts]


def test_evaluation_counts_recall_precision_and_onset_delay() -> None:
    truth = [
        {"kind": "spine_pressure", "zone": "spine_lumbar", "t_start": 10.0, "t_end": 12.0},
        {"kind": "spine_pressure", "zone": "spine_lumbar", "t_start": 30.0, "t_end": 31.0},
    ]
    alerts = [
        {"kind": "spine_pressure", "zone": "spine_lumbar", "t_start": 10.2, "t_end": 12.1},
        {"kind": "spine_pressure", "zone": "spine_lumbar", "t_start": 50.0, "t_end": 51.0},
        {"kind": "spine_pressure", "zone": "sacrum", "t_start": 30.1, "t_end": 30.5},
    ]
    r = evaluate_alerts(truth, alerts)["kinds"]["spine_pressure"]
    assert r["recall"] == 0.5 and r["precision"] == pytest.approx(1 / 3)
    assert r["onset_delay_max_s"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("vendor_file", "placement", "applied"),
    [
        ("vendor-exports/fscan_testL.asf", "foot", {"sensor_fault"}),
        ("moticon/230927_102114.txt", "insoles", {"sensor_fault", "uneven_load"}),
    ],
)
def test_real_imported_files_are_analyzed_with_only_the_checks_their_data_can_make(
    shared_data: Path,
    tmp_path: Path,
    run_cli: object,
    vendor_file: str,
    placement: str,
    applied: set[str],
) -> None:
    rec = tmp_path / "rec.h5"
    done = run_cli("import", shared_data / vendor_file, "-o", rec)  # type: ignore[operator]
    assert done.returncode == 0, done.stderr
    result = analyze_recording(rec, AlarmConfig())
    checks = result.summary["checks"]
    assert {k for k, v in checks.items() if v["status"] == "applied"} == applied
    assert result.summary["placement"] == placement
    assert all(v["reason"] for v in checks.values())
    assert result.summary["therapist_mass_known"] is False
    json.dumps(result.summary)  # plain JSON
