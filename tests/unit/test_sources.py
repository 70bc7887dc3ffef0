"""Frame sources: counting dropped/reordered frames, validation, queues, pacing, replay."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import numpy as np
import pytest

from ashiguard.adapters.recording import RecordingWriter, open_recording
from ashiguard.adapters.sources import Frame, FrameSource, Pacer, SourceInfo, open_source
from ashiguard.adapters.sources.replay import ReplaySource
from ashiguard.adapters.sources.simulator import SimulatorSource
from ashiguard.domain.errors import InputError
from ashiguard.domain.simulation import Simulation, SimulationConfig

INFO = SourceInfo(
    rows=4, cols=3, pitch_mm=10.0, origin_mm=(0.0, 0.0), placement="other", rate_hz=50
)


class FakeSource(FrameSource):
    """Frames with the given counters (a frame's value is its counter)."""

    def __init__(self, counters, shape=(4, 3), fail_at=None):
        super().__init__(INFO)
        self.counters = list(counters)
        self.shape = shape
        self.fail_at = fail_at

    def _produce(self) -> Iterator[Frame]:
        for i, c in enumerate(self.counters):
            if i == self.fail_at:
                raise InputError(f"fake: broken at frame {c}")
            yield Frame(c, i / 50, np.full(self.shape, float(c)), np.array([1.0, 2.0]))


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_counter_gaps_are_counted_as_dropped_frames():
    src = FakeSource([0, 1, 2, 5, 6, 10])
    frames = list(src.frames())
    assert [f.counter for f in frames] == [0, 1, 2, 5, 6, 10]
    assert src.stats.dropped == 5
    assert src.stats.reordered == 0
    assert src.stats.frames == 6
    assert (src.stats.first_counter, src.stats.last_counter) == (0, 10)


def test_counters_going_back_are_counted_as_reordered_and_still_delivered():
    src = FakeSource([0, 2, 1, 3, 3, 4])
    frames = list(src.frames())
    assert len(frames) == 6
    assert src.stats.reordered == 2  # the late 1 and the repeated 3
    assert src.stats.dropped == 0  # the late frame 1 filled the gap after 0


def test_frames_are_validated_to_float32_of_the_declared_shape():
    frames = list(FakeSource([0, 1]).frames())
    assert frames[0].pressure.dtype == np.float32
    assert frames[0].bars.dtype == np.float32
    with pytest.raises(InputError, match=r"frame 7: pressure shape \(3, 3\) != \(4, 3\)"):
        list(FakeSource([7], shape=(3, 3)).frames())


def test_a_bad_source_info_is_refused_naming_the_field():
    with pytest.raises(InputError, match=r"source\.placement"):
        SourceInfo(rows=2, cols=2, pitch_mm=1, origin_mm=None, placement="ceiling", rate_hz=10)
    with pytest.raises(InputError, match=r"source\.rate_hz"):
        SourceInfo(rows=2, cols=2, pitch_mm=1, origin_mm=None, placement="other", rate_hz=0)


def test_frames_can_be_consumed_from_another_thread_until_the_end():
    src = FakeSource(range(50))
    src.start(maxsize=8, overflow="block")
    got = []
    while (f := src.get(timeout=5)) is not None:
        got.append(f.counter)
    assert got == list(range(50))
    assert src.get(timeout=1) is None  # the end is reported again
    src.stop()
    assert src.stats.overflowed == 0


def test_a_full_queue_drops_the_oldest_frames_and_counts_them():
    src = FakeSource(range(10))
    src.start(maxsize=1)
    deadline = time.monotonic() + 10
    while src.stats.frames < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    first = src.get(timeout=5)
    assert first is not None and first.counter == 9
    assert src.get(timeout=5) is None
    assert src.stats.overflowed == 9
    src.stop()


def test_an_error_in_the_producer_reaches_the_consumer():
    src = FakeSource(range(5), fail_at=3)
    src.start()
    got = [src.get(timeout=5) for _ in range(3)]
    assert [f.counter for f in got] == [0, 1, 2]
    with pytest.raises(InputError, match="broken at frame 3"):
        src.get(timeout=5)
    src.stop()


def test_get_times_out_when_no_frame_comes():
    class Silent(FrameSource):
        def _produce(self):
            time.sleep(1.0)
            yield from ()

    src = Silent(INFO)
    src.start()
    with pytest.raises(queue.Empty):
        src.get(timeout=0.05)
    src.stop()


def test_pacer_waits_stream_time_divided_by_speed():
    fake = FakeClock()
    pacer = Pacer(2.0, clock=fake.clock, sleep=fake.sleep)
    for k in range(101):
        pacer.wait(5.0 + k * 0.1)  # 10 s of stream
    assert sum(fake.slept) == pytest.approx(5.0, abs=1e-6)
    unpaced = FakeClock()
    p0 = Pacer(0, clock=unpaced.clock, sleep=unpaced.sleep)
    for k in range(10):
        p0.wait(k)
    assert unpaced.slept == []
    with pytest.raises(InputError, match="speed"):
        Pacer(-1)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "faults.h5"
    sim = Simulation(SimulationConfig(duration_s=30, scenario="faults", seed=7))
    with RecordingWriter(
        path,
        rows=128,
        cols=48,
        pitch_mm=15.0,
        origin_mm=sim.config.origin,
        therapist_mass_kg=68.0,
        counter=True,
    ) as w:
        for c in sim.chunks():
            w.append(c.times, c.pressure, c.counters)
            w.append_bars(c.times, c.bars)
    return path


def test_replay_reproduces_the_recorded_frames_counters_and_bars(recording):
    src = ReplaySource(recording, speed=0)
    frames = list(src.frames())
    with open_recording(recording) as rec:
        times, pressure = rec.read()
        counters = rec.counter()
        _bt, bf = rec.bars()
    assert len(frames) == len(times)
    assert np.array_equal(np.stack([f.pressure for f in frames]), pressure, equal_nan=True)
    assert [f.counter for f in frames] == counters.tolist()
    assert np.array_equal(np.stack([f.bars for f in frames]), bf)
    assert [f.t for f in frames] == times.tolist()
    assert src.info.rows == 128 and src.info.origin_mm == (-352.5, -100.0)
    assert src.info.has_bars and src.info.therapist_mass_kg == 68.0
    gaps = np.diff(counters) - 1
    assert src.stats.dropped == gaps.sum() > 0  # the recorded gaps show again


def test_replay_paces_by_recorded_time_over_speed(recording):
    fake = FakeClock()
    src = ReplaySource(recording, speed=4.0, clock=fake.clock, sleep=fake.sleep)
    frames = list(src.frames())
    span = frames[-1].t - frames[0].t
    assert sum(fake.slept) == pytest.approx(span / 4.0, rel=1e-6)


def test_replay_can_loop_with_counters_and_times_still_increasing(recording):
    src = ReplaySource(recording, speed=0, loop=True)
    n = src.frames_in_file
    got = []
    for f in src.frames():
        got.append(f)
        if len(got) == n + 10:
            break
    c = np.array([f.counter for f in got])
    t = np.array([f.t for f in got])
    assert (np.diff(c) > 0).all() and (np.diff(t) > 0).all()
    assert np.array_equal(got[n].pressure, got[0].pressure, equal_nan=True)


def test_simulator_source_streams_the_simulation_with_its_dropped_frames():
    src = SimulatorSource(duration_s=30, scenario="faults", seed=7, speed=0)
    frames = list(src.frames())
    sim = Simulation(SimulationConfig(duration_s=30, scenario="faults", seed=7))
    ref = np.concatenate([c.pressure for c in sim.chunks()])
    assert np.array_equal(np.stack([f.pressure for f in frames]), ref, equal_nan=True)
    dropped = sum(
        round((e.t_end - e.t_start) * 100)
        for e in sim.truth
        if e.detail["fault"] == "dropped_frames"
    )
    assert src.stats.dropped == dropped > 0
    assert src.info.has_bars and src.info.extra["scenario"] == "faults"
    assert src.truth_events()[0]["kind"] == "sensor_fault"


def test_simulator_source_paced_in_real_time_sleeps_the_stream_duration():
    fake = FakeClock()
    src = SimulatorSource(duration_s=3, speed=1.0, clock=fake.clock, sleep=fake.sleep)
    frames = list(src.frames())
    assert sum(fake.slept) == pytest.approx(frames[-1].t - frames[0].t, rel=1e-6)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("bogus", "is not one of sim"),
        ("replay:", "needs a file"),
        ("lsl:", "needs a stream name"),
        ("replay:/no/such/file.h5", "no such file"),
        ("sim:nope", "scenario"),
    ],
)
def test_open_source_refuses_bad_specs_with_one_line(spec, match):
    with pytest.raises(InputError, match=match):
        open_source(spec)


def test_open_source_refuses_options_the_source_does_not_take(recording):
    with pytest.raises(InputError, match="unsupported option"):
        open_source(f"replay:{recording}", colour="red")
    with pytest.raises(InputError, match="sim"):
        open_source("sim", colour="red")


def test_open_source_builds_each_kind(recording):
    assert isinstance(open_source("sim:spine", speed=0, duration_s=5), SimulatorSource)
    assert isinstance(open_source(f"replay:{recording}", speed=0), ReplaySource)


@pytest.mark.parametrize("counter", [0, 65535, 65536, 16_777_217, 2_000_000_000])
def test_lsl_samples_carry_large_counters_and_missing_bars_exactly(counter):
    from ashiguard.adapters.sources.lsl import _frame, _sample

    p = np.arange(12, dtype=np.float32).reshape(4, 3) * 1.5
    p[1, 2] = np.nan
    for bars in (None, np.array([310.5, 290.25], dtype=np.float32)):
        sample = _sample(Frame(counter, 1.0, p, bars), 12)
        assert sample.dtype == np.float32 and sample.shape == (16,)
        back = _frame(sample, 1.0, 4, 3)
        assert back.counter == counter
        assert np.array_equal(back.pressure, p, equal_nan=True)
        assert (back.bars is None) if bars is None else np.array_equal(back.bars, bars)


def test_simulated_sessions_with_consecutive_seeds_render_their_chunks_on_different_frames(
    monkeypatch,
):
    """A session host takes the frames of all its simulated sessions on one tick: with the
    chunks of 16 sessions started together beginning on the same frame, one tick in 50 rendered
    them all (15 ms). The first chunk's length follows the seed; the frames do not change."""
    starts: dict[int, list[int]] = {}
    real = Simulation.chunks

    def logged(self, chunk_frames=100, first_frames=None):
        for c in real(self, chunk_frames, first_frames):
            starts.setdefault(self.config.seed, []).append(int(c.counters[0]))
            yield c

    monkeypatch.setattr(Simulation, "chunks", logged)
    for seed in range(1, 17):
        src = SimulatorSource(duration_s=2, scenario="spine", seed=seed, speed=0)
        frames = list(src.frames())
        ref = np.concatenate([c.pressure for c in real(Simulation(src.simulation.config), 100)])
        assert np.array_equal(np.stack([f.pressure for f in frames]), ref, equal_nan=True)
    second = [starts[seed][1] for seed in range(1, 17)]  # where each second chunk begins
    assert len(set(second)) == 16, second
