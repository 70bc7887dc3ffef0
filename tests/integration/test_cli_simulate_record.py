"""``ashiguard simulate`` and ``ashiguard record`` through a subprocess."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from ashiguard.adapters.recording import open_recording


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, run_cli_module):
    path = tmp_path_factory.mktemp("sim") / "faults.h5"
    r = run_cli_module(
        "simulate", "-o", path, "--duration", "30", "--seed", "7", "--scenario", "faults"
    )
    assert r.returncode == 0, r.stderr
    return path, r


@pytest.fixture(scope="module")
def run_cli_module(run_cli):
    return run_cli


def test_simulate_writes_a_valid_recording_with_truth_and_counters(mixed):
    path, r = mixed
    assert r.stderr == ""
    assert r.stdout.startswith(f"wrote {path}: ")
    with open_recording(path) as rec:
        m = rec.meta
        assert m.complete and m.rows == 128 and m.cols == 48 and m.pitch_mm == 15.0
        assert m.origin_mm == (-352.5, -100.0) and m.placement == "on_client"
        assert m.therapist_mass_kg == 68.0 and m.bars_samples == m.frames
        assert m.has_counter and m.truth_events >= 1
        events = rec.truth_events()
        counters = rec.counter()
        assert m.dropped_frames == int((np.diff(counters) - 1).sum())
        assert m.frames + m.dropped_frames == 3000
    assert {e["kind"] for e in events} == {"sensor_fault"}
    assert f"truth events {len(events)}" in r.stdout
    with h5py.File(path) as f:
        assert json.loads(f["mat"].attrs["truth_restrictions"]) == {"avoid_zones": []}


@pytest.mark.slow
def test_same_seed_writes_byte_identical_data_arrays(tmp_path, run_cli):
    paths = [tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"]
    for p, seed in zip(paths, ("5", "5", "6"), strict=True):
        r = run_cli("simulate", "-o", p, "--duration", "8", "--seed", seed, "--scenario", "mixed")
        assert r.returncode == 0, r.stderr
    with h5py.File(paths[0]) as a, h5py.File(paths[1]) as b, h5py.File(paths[2]) as c:
        for name in (
            "mat/pressure",
            "mat/time",
            "mat/counter",
            "bars/force",
            "bars/time",
            "truth/events",
        ):
            assert a[name][()].tobytes() == b[name][()].tobytes(), name
        assert a["mat/pressure"][()].tobytes() != c["mat/pressure"][()].tobytes()


def test_simulate_lists_its_scenarios(run_cli):
    r = run_cli("simulate", "--list-scenarios")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names[0] == "baseline" and "mixed" in names and "faults" in names


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scenario", "nope"), "scenario: unknown scenario 'nope'"),
        (("--placement", "ceiling"), "placement: must be on_client or under_client"),
        (("--duration", "-5"), "duration_s: must be between"),
    ],
)
def test_simulate_refuses_bad_options_with_one_line_and_exit_2(tmp_path, run_cli, args, message):
    r = run_cli("simulate", "-o", tmp_path / "x.h5", *args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and message in r.stderr


def test_record_from_the_simulator_stores_frames_and_stream_counts(tmp_path, run_cli):
    out = tmp_path / "live.h5"
    r = run_cli("record", "--source", "sim:spine", "--duration", "3", "--speed", "0", "-o", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        f"recorded 300 frames (2.99 s) from sim:spine to {out}: dropped 0, reordered 0"
    )
    with open_recording(out) as rec:
        assert rec.meta.frames == 300
        assert rec.meta.dropped_frames == 0 and rec.meta.reordered_frames == 0
        assert rec.counter().tolist() == list(range(300))
        assert rec.meta.bars_samples == 300


def test_record_from_a_replay_keeps_the_dropped_frames_of_the_source(mixed, tmp_path, run_cli):
    src, _ = mixed
    with open_recording(src) as rec:
        counters = rec.counter()
        t = rec.times()
    gaps = np.diff(counters) - 1
    expected = int(gaps.sum())
    assert expected > 0
    out = tmp_path / "copy.h5"
    r = run_cli(
        "record", "--source", f"replay:{src}", "--duration", "60", "--speed", "0", "-o", out
    )
    assert r.returncode == 0, r.stderr
    assert f"dropped {expected}, reordered 0" in r.stdout
    with open_recording(out) as rec:
        assert rec.meta.dropped_frames == expected
        assert rec.meta.frames == len(t)
        assert np.array_equal(rec.counter(), counters)
        assert np.allclose(rec.times(), t - t[0])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("bogus", "source: 'bogus' is not one of sim, sim:SCENARIO, replay:FILE or lsl:NAME"),
        ("replay:/no/such.h5", "/no/such.h5: no such file"),
    ],
)
def test_record_refuses_a_bad_source_with_one_line_and_exit_2(tmp_path, run_cli, source, message):
    r = run_cli("record", "--source", source, "--duration", "2", "-o", tmp_path / "x.h5")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == f"ashiguard: error: {message}\n"
    assert not (tmp_path / "x.h5").exists()


def test_record_from_the_simulator_keeps_the_truth_inside_the_window(tmp_path, run_cli):
    from ashiguard.domain.simulation import Simulation, SimulationConfig

    out = tmp_path / "spine.h5"
    r = run_cli(
        "record",
        "--source",
        "sim:spine",
        "--duration",
        "30",
        "--speed",
        "0",
        "--seed",
        "6",
        "-o",
        out,
    )
    assert r.returncode == 0, r.stderr
    truth = Simulation(SimulationConfig(duration_s=31, scenario="spine", seed=6)).truth
    expected = [e for e in truth if e.t_start < 30]
    assert expected
    with open_recording(out) as rec:
        got = rec.truth_events()
    assert [(e["kind"], e["zone"]) for e in got] == [(e.kind, e.zone) for e in expected]
    assert [e["t_start"] for e in got] == pytest.approx([e.t_start for e in expected], abs=1e-3)
    with h5py.File(out) as f:
        assert f["mat"].attrs["scenario"] == "spine"
        assert json.loads(f["mat"].attrs["truth_restrictions"]) == {"avoid_zones": []}


def test_a_real_vendor_export_replays_and_records_through_the_cli(shared_data, tmp_path, run_cli):
    imported = tmp_path / "fscan.h5"
    src = shared_data / "vendor-exports" / "fscan_testL.asf"
    assert run_cli("import", src, "-o", imported).returncode == 0
    out = tmp_path / "copy.h5"
    r = run_cli(
        "record", "--source", f"replay:{imported}", "--duration", "100", "--speed", "0", "-o", out
    )
    assert r.returncode == 0, r.stderr
    with open_recording(imported) as a, open_recording(out) as b:
        assert b.meta.frames == a.meta.frames == 205
        assert b.meta.placement == "foot" and b.meta.rows == 60 and b.meta.cols == 21
        assert np.array_equal(a.read()[1], b.read()[1], equal_nan=True)
        assert b.meta.dropped_frames == 0 and b.meta.bars_samples == 0
