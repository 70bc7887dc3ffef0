"""``ashiguard analyze-batch`` on a real two-worker Dask LocalCluster.

A handful of short simulated recordings plus three bad files (a truncated recording, a text
file named ``.h5`` and an HDF5 file that is not a recording); one cluster for the module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ashiguard.domain.alarms import KINDS, PRIORITIES, AlarmConfig
from ashiguard.domain.simulation import SimulationConfig
from ashiguard.services.analyze import analyze_recording
from ashiguard.services.batch import (
    COLUMNS,
    analyze_batch,
    dask_client,
    find_recordings,
    rows_table,
    write_rows,
)
from ashiguard.services.simulate import simulate_to_file

GOOD = {
    "a_mixed.h5": SimulationConfig(duration_s=3.0, rate_hz=20.0, scenario="mixed", seed=1),
    "b_spine.h5": SimulationConfig(duration_s=30.0, rate_hz=10.0, scenario="spine", seed=2),
    "c_under.h5": SimulationConfig(
        duration_s=3.0, rate_hz=20.0, scenario="baseline", seed=3, placement="under_client"
    ),
}
BAD = ("d_truncated.h5", "e_text.h5", "f_not_a_recording.h5")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with three good short recordings and three bad files."""
    folder = tmp_path_factory.mktemp("batch") / "recs"
    folder.mkdir()
    for name, cfg in GOOD.items():
        simulate_to_file(folder / name, cfg, started_at="2026-01-01T00:00:00+00:00")
    data = (folder / "a_mixed.h5").read_bytes()
    (folder / "d_truncated.h5").write_bytes(data[: len(data) // 2])
    (folder / "e_text.h5").write_text("not a recording\n", encoding="utf-8")
    with h5py.File(folder / "f_not_a_recording.h5", "w") as f:
        f["x"] = [1, 2, 3]
    (folder / "notes.txt").write_text("ignored: not *.h5\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One two-worker LocalCluster (processes, one thread each) for the module."""
    with dask_client(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def batch(recordings: Path, client: Any) -> Any:
    seen: list[tuple[int, int]] = []
    files = find_recordings([str(recordings)])
    result = analyze_batch(
        files, AlarmConfig(), client=client, progress=lambda d, n: seen.append((d, n))
    )
    return result, files, seen


def _by_recording(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(Path(r["recording"]).name, []).append(r)
    return out


def test_a_directory_gives_its_h5_files_in_name_order(recordings: Path) -> None:
    files = find_recordings([str(recordings)])
    assert [Path(f).name for f in files] == sorted([*GOOD, *BAD])
    assert find_recordings([str(recordings / "[ab]_*.h5"), str(recordings / "a_mixed.h5")]) == [
        str(recordings / "a_mixed.h5"),
        str(recordings / "b_spine.h5"),
    ]


def test_the_cluster_has_two_single_threaded_workers(client: Any) -> None:
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(w["nthreads"] == 1 for w in workers.values())


def test_each_good_recording_gives_one_row_per_zone_and_each_bad_file_one_error_row(
    batch: Any,
) -> None:
    result, files, _ = batch
    assert result.recordings == 6
    assert result.failed == 3
    assert [r["recording"] for r in result.rows] == sorted(r["recording"] for r in result.rows)
    rows = _by_recording(result.rows)
    for name in ("a_mixed.h5", "b_spine.h5"):
        zones = [r["zone"] for r in rows[name]]
        assert len(zones) > 10
        assert len(set(zones)) == len(zones)
        assert all(r["error"] is None and r["placement"] == "on_client" for r in rows[name])
    # an under-client mat has no zone map: one row that still carries frames and alarms
    (under,) = rows["c_under.h5"]
    assert under["zone"] is None and under["error"] is None and under["frames"] == 60
    for name in BAD:
        (row,) = rows[name]
        assert row["zone"] is None and row["frames"] is None
        assert row["error"].startswith(str(Path(files[0]).parent / name) + ":")
        assert "\n" not in row["error"]
    assert "not a readable HDF5 file" in rows["e_text.h5"][0]["error"]
    assert "schema" in rows["f_not_a_recording.h5"][0]["error"]


def test_rows_equal_a_direct_analysis_of_the_same_file(batch: Any, recordings: Path) -> None:
    result, _, _ = batch
    rows = _by_recording(result.rows)
    for name in GOOD:
        direct = analyze_recording(recordings / name, AlarmConfig())
        s = direct.summary
        got = rows[name]
        assert [r["zone"] for r in got] == (list(s["zones"]) or [None])
        for r in got:
            assert r["frames"] == s["frames"]
            assert r["duration_s"] == pytest.approx(s["t_last"] - s["t_first"], abs=1e-3)
            assert r["alerts_total"] == len(direct.alerts)
            for k in KINDS:
                assert r[f"alerts_{k}"] == s["alerts_by_kind"][k]
            for p in PRIORITIES:
                assert r[f"alerts_{p}"] == sum(a.priority == p for a in direct.alerts)
            if r["zone"] is None:
                continue
            z = s["zones"][r["zone"]]
            assert r["peak_kpa"] == z["peak_kpa"]
            assert r["peak_sensel_kpa"] == z["peak_sensel_kpa"]
            assert r["mean_kpa"] == z["mean_kpa"]
            assert r["dose_kpa_s"] == z["dose_kpa_s"]
            assert r["contact_time_s"] == z["contact_s"]
            assert r["strokes"] == z["strokes"]
            for p in PRIORITIES:
                n = sum(a.zone == r["zone"] and a.priority == p for a in direct.alerts)
                assert r[f"zone_alerts_{p}"] == n
    assert sum(r["zone_alerts_high"] for r in rows["b_spine.h5"]) > 0  # the spine scenario


def test_progress_counts_recordings_done_up_to_the_total(batch: Any) -> None:
    _, _, seen = batch
    assert seen == [(i, 6) for i in range(7)]


def test_parquet_and_csv_hold_the_same_table_in_the_documented_column_order(
    batch: Any, tmp_path: Path
) -> None:
    result, _, _ = batch
    parquet, csv = write_rows(result.rows, tmp_path / "results.parquet")
    assert csv == tmp_path / "results.csv"
    from_parquet = pq.read_table(parquet)
    assert tuple(from_parquet.column_names) == COLUMNS
    schema = rows_table(result.rows).schema
    from_csv = pacsv.read_csv(
        csv,
        convert_options=pacsv.ConvertOptions(
            column_types={f.name: f.type for f in schema}, strings_can_be_null=True
        ),
    )
    assert from_csv.to_pylist() == from_parquet.to_pylist()
    assert from_parquet.to_pylist() == [{c: r[c] for c in COLUMNS} for r in result.rows]


def test_cli_writes_parquet_and_csv_and_one_summary_line(
    run_cli: Any, recordings: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    shutil.copytree(recordings, work / "recs")
    (work / "out").mkdir()
    proc = run_cli("analyze-batch", "recs", "--out", "out/results.parquet", cwd=work, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("6 recordings, 3 failed, ")
    assert "recordings/min" in lines[0]
    assert "6/6" in proc.stderr  # the progress bar's last state
    table = pq.read_table(work / "out" / "results.parquet").to_pylist()
    assert {r["recording"] for r in table} == {f"recs/{n}" for n in (*GOOD, *BAD)}
    assert (work / "out" / "results.csv").read_text(encoding="utf-8").startswith('"recording"')


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["nothing_here/*.h5", "--out", "r.parquet"], "PATHS"),
        (["{recs}", "--out", "r.csv"], "--out"),
        (["{recs}", "--out", "missing_dir/r.parquet"], "--out"),
        (["{recs}", "--out", "r.parquet", "--scheduler", "localhost:8786"], "--scheduler"),
        (["{recs}", "--out", "r.parquet", "--scheduler", "tcp://host:99999"], "--scheduler"),
        (["{recs}", "--out", "r.parquet", "--workers", "0"], "--workers"),
        (["{recs}", "--out", "r.parquet", "--config", "missing.toml"], "missing.toml"),
    ],
)
def test_cli_refuses_bad_input_with_one_line_and_exit_2(
    run_cli: Any, recordings: Path, tmp_path: Path, args: list[str], names: str
) -> None:
    proc = run_cli(
        "analyze-batch", *(a.format(recs=recordings) for a in args), cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("ashiguard: error: ") and names in line
    assert not (tmp_path / "r.parquet").exists()


def test_cli_runs_on_an_existing_cluster_given_by_scheduler_address(
    run_cli: Any, recordings: Path, client: Any, tmp_path: Path
) -> None:
    address = client.scheduler.address
    out = tmp_path / "results.parquet"
    proc = run_cli(
        "analyze-batch", str(recordings / "[ab]_*.h5"), "--out", out, "--scheduler", address
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("2 recordings, 0 failed, ")
    assert f"cluster {address}" in proc.stdout
    assert {r["recording"] for r in pq.read_table(out).to_pylist()} == {
        str(recordings / "a_mixed.h5"),
        str(recordings / "b_spine.h5"),
    }
