"""`analyze` on a mat under the client: where the therapist's load goes, per zone."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import pytest

from ashiguard.domain.alarms import AlarmConfig
from ashiguard.domain.simulation import SimulationConfig
from ashiguard.services.analyze import analyze_recording
from ashiguard.services.simulate import simulate_to_file


@pytest.fixture(scope="module")
def under_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Whole feet on both hamstrings, load ramped up to about 70 % of the therapist's weight."""
    path = tmp_path_factory.mktemp("zl") / "weight.h5"
    cfg = SimulationConfig(duration_s=30.0, seed=3, scenario="weight", placement="under_client")
    simulate_to_file(path, cfg)
    return path


def _hamstring_share(zl: dict) -> float:
    return zl["zones"]["hamstring_left"]["share"] + zl["zones"]["hamstring_right"]["share"]


def test_a_mat_with_a_stored_placement_shows_the_load_on_the_hamstrings(
    under_client: Path,
) -> None:
    zl = analyze_recording(under_client, AlarmConfig()).summary["zone_load"]
    assert zl["status"] == "applied" and zl["placement"] == "recording origin_mm"
    assert _hamstring_share(zl) > 0.6
    # the client alone (74 kg) rests on the zones; the rest of the weight is off the zone map
    assert 0.85 * 74 * 9.81 < zl["baseline_on_zones_n"] < 1.02 * 74 * 9.81
    assert zl["peak_total_n"] > 0.6 * 68 * 9.81


def test_without_a_stored_placement_the_body_is_registered_on_the_quiet_frames(
    under_client: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "unplaced.h5"
    shutil.copy(under_client, copy)
    with h5py.File(copy, "r+") as f:
        del f["mat"].attrs["origin_mm"]
    zl = analyze_recording(copy, AlarmConfig()).summary["zone_load"]
    assert zl["placement"] == "registration"
    assert zl["registration"]["head_end"] == "first_row"
    assert zl["registration"]["quality"] >= 0.5
    assert _hamstring_share(zl) > 0.5


def test_an_empty_mat_says_why_no_zone_load_is_reported(
    shared_data: Path, tmp_path: Path, run_cli
) -> None:
    rec = tmp_path / "empty.h5"
    assert run_cli("import", shared_data / "popu/tactilus/empty1.json", "-o", rec).returncode == 0
    zl = analyze_recording(rec, AlarmConfig()).summary["zone_load"]
    assert zl["status"] == "not_applicable"
    assert "no body found" in zl["reason"]
    assert "zones" not in zl


def test_a_real_prone_volunteer_without_a_therapist_is_registered(
    shared_data: Path, tmp_path: Path, run_cli
) -> None:
    rec = tmp_path / "prone.h5"
    assert run_cli("import", shared_data / "popu/tactilus/prone1_0.json", "-o", rec).returncode == 0
    zl = analyze_recording(rec, AlarmConfig()).summary["zone_load"]
    assert zl["status"] == "applied" and zl["placement"] == "registration"
    # a 96 kg volunteer: most of the weight rests on the zone map
    assert 0.5 * 96 * 9.81 < zl["baseline_on_zones_n"] < 96 * 9.81


def test_a_sheet_on_the_client_has_no_zone_load_section(tmp_path: Path) -> None:
    path = tmp_path / "sheet.h5"
    simulate_to_file(path, SimulationConfig(duration_s=5.0, seed=1, scenario="baseline"))
    assert "zone_load" not in analyze_recording(path, AlarmConfig()).summary


def test_the_report_of_an_unplaced_mat_draws_the_registered_body_and_the_zone_load(
    under_client: Path, tmp_path: Path
) -> None:
    from ashiguard.adapters.report_render import render_html, zone_load_rows
    from ashiguard.services.report import collect_report

    copy = tmp_path / "unplaced.h5"
    shutil.copy(under_client, copy)
    with h5py.File(copy, "r+") as f:
        del f["mat"].attrs["origin_mm"]
    data = collect_report(copy)
    assert data.body is not None and "registered" in data.body.caption
    assert data.body.grid.rotation_deg == 0.0
    rows = zone_load_rows(data.summary)
    assert {rows[0]["zone"], rows[1]["zone"]} == {"hamstring_left", "hamstring_right"}
    page = render_html(data)
    assert "Where the load goes" in page and "hamstring_left" in page
