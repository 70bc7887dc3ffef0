"""A session host's tick: its pacing (each simulated frame due on the tick grid) and the
views it slows while busy."""

from __future__ import annotations

import gc
import threading
import time
from types import SimpleNamespace

import numpy as np

from ashiguard.adapters.sources.base import Frame
from ashiguard.services.session_host import HostedSession, SessionHost, ViewGovernor

TICK = 0.01


class _Source:
    """A 100 Hz source of empty frames (what the tick takes synchronously)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.info = SimpleNamespace(rate_hz=100.0)
        self.stats = SimpleNamespace(overflowed=0)

    def frames(self):
        for k in range(self.n):
            yield Frame(k, k * TICK, np.zeros((2, 2), dtype=np.float32), None)


def _hosted(n: int = 20) -> HostedSession:
    monitor = SimpleNamespace(
        max_batch=50,
        engine=SimpleNamespace(config=SimpleNamespace(max_frame_gap_s=0.5)),
        check_silence=lambda: None,
    )
    session = SimpleNamespace(source=_Source(n), session_id=1, monitor=monitor, begin=lambda: None)
    h = HostedSession(session, speed=1.0)
    h.open()
    return h


def test_a_frame_is_taken_by_the_tick_scheduled_for_it_though_the_first_tick_began_late():
    h = _hosted()
    grid = 1000.0
    # the tick that takes frame 0 was scheduled at `grid` and began 4 ms late
    first = h.take(grid + 0.004, grid)
    assert [f.counter for f in first] == [0]
    assert first[0].arrived == grid  # due when its tick was scheduled
    # every following tick begins 0.2 ms after its schedule: each takes its own frame
    for k in range(1, 10):
        tick_t = grid + k * TICK
        got = h.take(tick_t + 0.0002, tick_t)
        assert [f.counter for f in got] == [k]
        assert abs(got[0].arrived - tick_t) < 1e-9


def test_a_late_tick_takes_every_frame_due_meanwhile_stamped_with_its_due_time():
    h = _hosted()
    grid = 50.0
    h.take(grid, grid)
    # the ticks at +10 and +20 ms did not run; the one scheduled at +30 ms began at +34 ms
    got = h.take(grid + 0.034, grid + 0.03)
    assert [f.counter for f in got] == [1, 2, 3]
    assert np.allclose([f.arrived for f in got], [grid + 0.01, grid + 0.02, grid + 0.03])


def test_the_view_governor_slows_views_while_the_tick_is_busy_and_restores_them_after():
    g = ViewGovernor(busy_hz=10.0, high=0.6, low=0.35, window=4)
    assert g.view_hz(20.0) == 20.0
    # a window at 50 % of the period: between the thresholds, nothing changes
    assert [g.update(0.005, TICK) for _ in range(4)] == [None] * 4
    assert not g.busy and g.load == 0.5
    # a window at 70 %: busy, views at 10 a second (a session asking for fewer keeps its own)
    assert [g.update(0.007, TICK) for _ in range(4)] == [None, None, None, True]
    assert g.view_hz(20.0) == 10.0 and g.view_hz(5.0) == 5.0
    # 50 % again: still busy (no flapping between the thresholds)
    assert [g.update(0.005, TICK) for _ in range(4)] == [None] * 4
    assert g.busy
    # 30 %: back to each session's own rate
    assert [g.update(0.003, TICK) for _ in range(4)] == [None, None, None, False]
    assert g.view_hz(20.0) == 20.0 and g.busy_windows == 1


def _ticking_session() -> SimpleNamespace:
    """A session the tick can run (an endless source; engine and view do nothing)."""
    return SimpleNamespace(
        source=_Source(10**6),
        session_id=1,
        view_hz=20.0,
        stopping=False,
        begin=lambda: None,
        process=lambda frames: (frames, False),
        record_and_view=lambda batch: None,
        request_stop=lambda: None,
        finish=lambda error=None: None,
        monitor=SimpleNamespace(
            max_batch=50,
            engine=SimpleNamespace(config=SimpleNamespace(max_frame_gap_s=0.5)),
            check_silence=lambda: None,
        ),
    )


def _wait(cond, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_busy_host_slows_the_views_of_its_sessions():
    # every window of one tick counts as busy (high 0): the sessions' views go to 10 a second
    host = SessionHost(views=ViewGovernor(busy_hz=10.0, high=0.0, low=-1.0, window=1))
    session = _ticking_session()
    h = HostedSession(session, speed=1.0)
    h.open()
    host.add(h)
    _wait(lambda: session.view_hz == 10.0)
    assert session.view_hz == 10.0
    assert h.view_hz == 20.0  # its own rate, restored when the host is no longer busy
    session.stopping = True
    host.close()
    host.join(10)


def test_a_collecting_host_runs_the_young_collections_on_its_tick():
    """With the automatic collector off (as in a host process), the tick collects: never a
    thread that happened to allocate (a niced recording thread held every tick up so)."""
    threads: list[str] = []

    def seen(phase, info):
        if phase == "start":
            threads.append(threading.current_thread().name)

    was = gc.isenabled()
    gc.disable()
    gc.callbacks.append(seen)
    try:
        host = SessionHost(collect=True)
        session = _ticking_session()
        h = HostedSession(session, speed=1.0)
        h.open()
        host.add(h)
        junk = [[i] for i in range(5000)]  # allocations on this thread, not collected here
        _wait(lambda: host.collections > 0)
        session.stopping = True
        host.close()
        host.join(10)
        assert host.collections > 0 and len(junk) == 5000
        assert threads and set(threads) == {"session-host-tick"}
    finally:
        gc.callbacks.remove(seen)
        if was:
            gc.enable()
