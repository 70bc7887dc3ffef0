"""The HDF5 recording store: round trips, contract validation and chunked reading."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from ashiguard.adapters.recording import (
    SCHEMA,
    RecordingWriter,
    open_recording,
)
from ashiguard.domain.errors import InputError


def _frames(n: int, rows: int = 8, cols: int = 5) -> np.ndarray:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 200, size=(n, rows, cols)).astype(np.float32)
    p[:, 0, 0] = np.nan  # one dead sensel
    return p


def _write(path, n=100, **kw):
    p = _frames(n)
    t = np.arange(n) * 0.01
    args = dict(rows=8, cols=5, pitch_mm=10.0, origin_mm=(-20.0, 50.0), therapist_mass_kg=62.5)
    args.update(kw)
    with RecordingWriter(path, **args) as w:
        for i in range(n):
            w.append(t[i], p[i])
        w.append_bars(t[:3], np.full((3, 2), 150.0))
    return t, p


def test_frames_written_one_by_one_read_back_exactly_with_nan_kept(tmp_path):
    t, p = _write(tmp_path / "r.h5", n=100)
    with open_recording(tmp_path / "r.h5") as rec:
        assert rec.meta.frames == 100
        assert (rec.meta.rows, rec.meta.cols) == (8, 5)
        assert rec.meta.pitch_mm == 10.0
        assert rec.meta.origin_mm == (-20.0, 50.0)
        assert rec.meta.placement == "on_client"
        assert rec.meta.units == "kPa"
        assert rec.meta.therapist_mass_kg == 62.5
        assert rec.meta.complete is True
        tt, pp = rec.read()
    np.testing.assert_array_equal(tt, t)
    np.testing.assert_array_equal(pp, p)  # NaN positions equal too
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert f.attrs["schema"] == SCHEMA
        assert f["mat/pressure"].dtype == np.float32
        assert f["mat/time"].dtype == np.float64
        assert f["mat/pressure"].compression == "lzf"
        assert f["mat/pressure"].chunks[1:] == (8, 5)


@pytest.mark.parametrize("n", [1, 7, 16, 100])
def test_chunked_iteration_covers_every_frame_once_in_order(tmp_path, n):
    t, p = _write(tmp_path / "r.h5", n=37)
    with open_recording(tmp_path / "r.h5") as rec:
        blocks = list(rec.iter_chunks(n))
    assert all(b[1].shape[0] <= n for b in blocks)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in blocks]), t)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), p)


def test_bars_insoles_truth_alerts_counter_and_stats_round_trip(tmp_path):
    path = tmp_path / "r.h5"
    events = [
        {"kind": "spine_pressure", "zone": "spine_lumbar", "t_start": 1.0, "t_end": 2.5},
        {"kind": "sudden_shift", "zone": None, "t_start": 3.0, "t_end": 3.2, "peak": 410.0},
    ]
    with RecordingWriter(
        path,
        rows=4,
        cols=3,
        pitch_mm=5.0,
        placement="foot",
        side="right",
        counter=True,
        client={"height_cm": 172, "weight_kg": 70, "landmarks_mm": {"t12": 290.0}},
    ) as w:
        w.append([0.0, 0.01, 0.02], np.ones((3, 4, 3)), counter=[10, 11, 13])
        w.append_bars([0.0, 0.05], [[100.0, 120.0], [90.0, 130.0]])
        w.append_bars([0.1], [[80.0, 85.0]])
        w.append_insole("left", [0.0, 0.01], [300.0, 310.0], pressure=np.full((2, 16), 40.0))
        w.write_truth(events)
        w.write_alerts([{"kind": "spine_pressure", "priority": "high", "t_start": 1.0}])
        w.set_stream_stats(dropped_frames=1, reordered_frames=0)
    with open_recording(path) as rec:
        m = rec.meta
        assert (m.placement, m.side, m.has_counter) == ("foot", "right", True)
        assert (m.dropped_frames, m.reordered_frames, m.truth_events, m.alerts) == (1, 0, 2, 1)
        assert m.client == {"height_cm": 172.0, "weight_kg": 70.0, "landmarks_mm": {"t12": 290.0}}
        np.testing.assert_array_equal(rec.counter(), [10, 11, 13])
        bt, bf = rec.bars()
        np.testing.assert_array_equal(bt, [0.0, 0.05, 0.1])
        np.testing.assert_array_equal(bf[:, 1], [120.0, 130.0, 85.0])
        ins = rec.insoles()
        assert list(ins) == ["left"]
        np.testing.assert_array_equal(ins["left"].force, [300.0, 310.0])
        assert ins["left"].pressure.shape == (2, 16)
        assert rec.truth_events() == [events[0], events[1]]
        assert rec.alerts()[0]["priority"] == "high"


def test_insole_only_recording_has_no_mat_and_reads(tmp_path):
    path = tmp_path / "ins.h5"
    with RecordingWriter(path) as w:
        w.append_insole("right", [0.0, 0.01, 0.02], [1.0, 2.0, 3.0], cop_norm=np.zeros((3, 2)))
    with open_recording(path) as rec:
        assert rec.meta.rows is None
        assert rec.meta.insoles == ("right",)
        assert rec.insoles()["right"].cop_norm.shape == (3, 2)
        assert list(rec.iter_chunks()) == []


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"placement": "on_ceiling"}, "placement: 'on_ceiling' is not one of"),
        ({"placement": "foot"}, "side: placement 'foot' needs side"),
        ({"pitch_mm": 0.0}, "pitch_mm: must be a positive number"),
        ({"units": "mmHg"}, "units: 'mmHg' is not one of kPa, raw"),
        ({"origin_mm": (1.0,)}, r"origin_mm: must be \[x, y\]"),
        ({"flush_interval_s": 2.0}, r"flush_interval_s: must be in \(0, 0.5\]"),
    ],
)
def test_writer_refuses_bad_arguments_naming_the_field(tmp_path, kw, match):
    args = dict(rows=2, cols=2, pitch_mm=5.0) | kw
    with pytest.raises(InputError, match=match):
        RecordingWriter(tmp_path / "bad.h5", **args)


def test_writer_refuses_time_going_backwards_and_wrong_shapes(tmp_path):
    with RecordingWriter(tmp_path / "r.h5", rows=2, cols=2, pitch_mm=5.0) as w:
        w.append(0.0, np.zeros((2, 2)))
        with pytest.raises(InputError, match="time not increasing at frame 1"):
            w.append(0.0, np.zeros((2, 2)))
        with pytest.raises(InputError, match="time not finite at frame 1"):
            w.append(float("nan"), np.zeros((2, 2)))
        with pytest.raises(InputError, match=r"pressure shape \(1, 3, 2\) does not match"):
            w.append(1.0, np.zeros((3, 2)))
        w.append(1.0, np.zeros((2, 2)))
    with open_recording(tmp_path / "r.h5") as rec:
        assert rec.frames == 2


def _break(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)


def _set_time(f, k, value):
    t = f["mat/time"][()]
    t[k] = value
    f["mat/time"][...] = t


def _swap_pressure(f, shape):
    del f["mat/pressure"]
    f["mat"].create_dataset("pressure", data=np.zeros(shape, np.float32))


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        (lambda f: f.attrs.__setitem__("schema", "other/1"), "/: schema attr is 'other/1'"),
        (lambda f: _set_time(f, 17, 0.05), "/mat/time: not increasing at frame 17"),
        (lambda f: _set_time(f, 30, np.inf), "/mat/time: not finite at frame 30"),
        (lambda f: f["mat"].attrs.__setitem__("pitch_mm", -1.0), "/mat: pitch_mm must be > 0"),
        (lambda f: f["mat"].attrs.__delitem__("pitch_mm"), "/mat: pitch_mm attr missing"),
        (lambda f: f["mat"].attrs.__setitem__("placement", "wall"), "/mat: placement 'wall'"),
        (lambda f: f["mat"].attrs.__setitem__("origin_mm", [1.0]), "/mat: origin_mm must be 2"),
        (
            lambda f: f["mat/pressure"].attrs.__setitem__("units", "psi"),
            "/mat/pressure: units attr 'psi' is not kPa or raw",
        ),
        (
            lambda f: f["mat/time"].attrs.__setitem__("units", "ms"),
            "/mat/time: units attr 'ms' is not s",
        ),
        (
            lambda f: f["bars/force"].attrs.__setitem__("units", "kgf"),
            "/bars/force: units attr 'kgf' is not N",
        ),
        (lambda f: _swap_pressure(f, (99, 8, 5)), "/mat/pressure: has 99 rows but time has 100"),
        (lambda f: _swap_pressure(f, (100, 40)), "/mat/pressure: must be float"),
        (lambda f: f["client"].attrs.__setitem__("weight_kg", 0.0), "/client: weight_kg must be"),
        (lambda f: f.attrs.__setitem__("started_at", "yesterday"), "started_at is not an ISO"),
    ],
)
def test_reader_refuses_a_broken_file_saying_what_is_wrong(tmp_path, breaker, message):
    path = tmp_path / "REC.h5"
    _write(path, client={"height_cm": 170, "weight_kg": 60})
    _break(path, breaker)
    with pytest.raises(InputError) as err:
        open_recording(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_reader_refuses_files_that_are_not_recordings(tmp_path):
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(InputError, match="not a readable HDF5 file"):
        open_recording(tmp_path / "text.h5")
    with pytest.raises(InputError, match="no such file"):
        open_recording(tmp_path / "missing.h5")
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f.attrs["schema"] = SCHEMA
    with pytest.raises(InputError, match="neither /mat nor /insoles"):
        open_recording(tmp_path / "empty.h5")


def test_infinite_pressure_is_refused_when_its_chunk_is_read(tmp_path):
    path = tmp_path / "r.h5"
    _write(path, n=40)
    _break(path, lambda f: f["mat/pressure"].__setitem__((33, 2, 2), np.inf))
    with open_recording(path) as rec, pytest.raises(InputError, match="infinite value at frame 33"):
        for _ in rec.iter_chunks(16):
            pass


def test_summary_reports_peak_missing_sensels_and_rate(tmp_path):
    _t, p = _write(tmp_path / "r.h5", n=50)
    with open_recording(tmp_path / "r.h5") as rec:
        s = rec.summary()
    assert s["peak"] == pytest.approx(float(np.nanmax(p)), abs=1e-3)
    assert s["missing_sensels"] == 1
    assert s["missing_fraction"] == pytest.approx(1 / 40)
    assert s["rate_hz"] == pytest.approx(100.0)
    assert s["duration_s"] == pytest.approx(0.5)
    json.dumps(s)  # JSON-ready


def test_an_open_writer_is_readable_in_swmr_mode_with_flushed_frames(tmp_path):
    path = tmp_path / "live.h5"
    w = RecordingWriter(path, rows=2, cols=2, pitch_mm=5.0)
    try:
        for i in range(30):
            w.append(i * 0.01, np.full((2, 2), float(i)))
        w.flush()
        with open_recording(path) as rec:
            assert rec.meta.complete is False
            assert rec.frames == 30
            _t, p = rec.read()
            assert p[29, 0, 0] == 29.0
    finally:
        w.close()
    with open_recording(path) as rec:
        assert rec.meta.complete is True


def test_mat_attrs_returns_the_mat_group_attributes_as_plain_values(tmp_path):
    _write(tmp_path / "r.h5", n=10)
    with h5py.File(tmp_path / "r.h5", "a") as f:
        f["mat"].attrs["sensor_max_kpa"] = np.float64(500.0)
        f["mat"].attrs["truth_restrictions"] = b'{"avoid_zones": ["kidney_left"]}'
    with open_recording(tmp_path / "r.h5") as rec:
        attrs = rec.mat_attrs()
    assert attrs["sensor_max_kpa"] == 500.0
    assert type(attrs["sensor_max_kpa"]) is float
    assert json.loads(attrs["truth_restrictions"]) == {"avoid_zones": ["kidney_left"]}
