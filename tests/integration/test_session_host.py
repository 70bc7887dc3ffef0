"""Session hosts: many live sessions on one tick, each as it would run alone; failures reported."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
import weakref
from collections.abc import Iterator

import numpy as np
import pytest
from hosthelpers import sim_spec

from ashiguard.adapters.recording import open_recording
from ashiguard.adapters.sources.base import Frame, FrameSource
from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import AlarmMessage, EndedMessage, FrameMessage, encode
from ashiguard.services.live_session import LiveSession, hdf5_sink
from ashiguard.services.session_host import HostedSession, SessionHost, SessionHosts
from ashiguard.services.session_process import open_live_source

SESSIONS = (("spine", 4), ("mixed", 5), ("weight", 6))


class Collect:
    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()

    def publish(self, msg, view=False):
        with self.lock:
            self.messages.append(msg)


class Failing(FrameSource):
    """A simulated stream whose frame ``at`` cannot be read (a broken sensor driver)."""

    def __init__(self, at: int) -> None:
        self._sim = open_live_source("sim:mixed", speed=0, seed=9, duration_s=20.0)
        super().__init__(self._sim.info)
        self.at = at

    def _produce(self) -> Iterator[Frame]:
        for i, frame in enumerate(self._sim.frames()):
            if i == self.at:
                raise InputError(f"frame {frame.counter}: the driver returned garbage")
            yield frame


def _session(path, scenario: str, seed: int, *, speed: float, source=None) -> LiveSession:
    src = source or open_live_source(f"sim:{scenario}", speed=0, seed=seed, duration_s=30.0)
    return LiveSession(
        src,
        sink=hdf5_sink(path),
        publisher=Collect(),
        session_id=seed,
        duration_s=30.0,
        speed=speed,
        therapist_mass_kg=68.0,
    )


def _recording(path):
    with open_recording(path) as rec:
        times, pressure = [], []
        for t, p in rec.iter_chunks(512):
            times.append(t)
            pressure.append(p)
        return (
            np.concatenate(times),
            np.concatenate(pressure),
            rec.counter(),
            rec.bars(),
            rec.truth_events(),
            rec.meta.frames,
        )


def _same_recording(a, b) -> None:
    ra, rb = _recording(a), _recording(b)
    assert ra[5] == rb[5] > 1000
    for x, y in zip(ra[:3], rb[:3], strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(ra[3][1], rb[3][1])  # bar forces
    assert ra[4] == rb[4]


def _alone(tmp_path) -> dict:
    out = {}
    for scenario, seed in SESSIONS:
        path = tmp_path / f"alone-{scenario}.h5"
        session = _session(path, scenario, seed, speed=0)
        out[scenario] = (path, session.run(), _notices(session))
    return out


def _notices(session) -> list:
    """The live alarm notices the engine published: what the alarms decided, in time order
    (within one chunk of frames the engine reports channel by channel, so a backlog taken as
    one chunk, alone or on a host, may list simultaneous-ish notices in another order)."""
    events = [m.event for m in session.publisher.messages if isinstance(m, AlarmMessage)]
    return sorted(
        ((e.t, e.action, e.kind, e.zone, e.value, e.limit, e.rule) for e in events), key=str
    )


def _on_host(tmp_path, speed: float, failing: bool = False) -> dict:
    host = SessionHost()
    done: dict = {}
    lock = threading.Lock()
    hosted = []
    sessions = list(SESSIONS) + ([("failing", 9)] if failing else [])
    for scenario, seed in sessions:
        path = tmp_path / f"host-{scenario}-{speed:g}.h5"
        source = Failing(at=600) if scenario == "failing" else None
        session = _session(path, scenario, seed, speed=speed, source=source)

        def ended(outcome, scenario=scenario, path=path, session=session) -> None:
            with lock:
                done[scenario] = (path, outcome, session)

        h = HostedSession(session, speed=speed, on_end=ended)
        h.open()
        hosted.append(h)
    for h in hosted:
        host.add(h)
    deadline = time.monotonic() + 120
    while len(done) < len(sessions) and time.monotonic() < deadline:
        time.sleep(0.05)
    host.close()
    host.join(30)
    assert len(done) == len(sessions)
    return done


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    return _alone(tmp_path_factory.mktemp("alone"))


@pytest.mark.slow
@pytest.mark.parametrize("speed", [0.0, 2.0])
def test_sessions_sharing_a_host_record_and_alarm_as_each_would_alone(alone, tmp_path, speed):
    on_host = _on_host(tmp_path, speed)
    raised = 0
    for scenario, _seed in SESSIONS:
        path, outcome, session = on_host[scenario]
        ref_path, ref, ref_notices = alone[scenario]
        assert outcome.error is None
        assert outcome.overflowed == 0
        _same_recording(path, ref_path)
        assert outcome.frames == ref.frames
        assert outcome.alarms == ref.alarms
        assert {**outcome.summary, "recording": ""} == {**ref.summary, "recording": ""}
        assert _notices(session) == ref_notices
        raised += sum(n[1] == "raised" for n in ref_notices)
        kinds = {m.type for m in session.publisher.messages}
        assert {"init", "status", "frame", "ended"} <= kinds
        frames = [m for m in session.publisher.messages if isinstance(m, FrameMessage)]
        assert frames and encode(frames[-1])[0] == "frame"
        if speed:  # paced: each alarm says when its frame was due
            alarms = [m for m in session.publisher.messages if isinstance(m, AlarmMessage)]
            assert all(m.frame_wall is not None for m in alarms)
    assert raised > 0


@pytest.mark.slow
def test_a_failing_session_on_a_shared_host_ends_alone_with_its_error(alone, tmp_path):
    on_host = _on_host(tmp_path, 0.0, failing=True)
    path, outcome, session = on_host["failing"]
    assert "the driver returned garbage" in outcome.error
    ended = [m for m in session.publisher.messages if isinstance(m, EndedMessage)]
    assert len(ended) == 1 and "garbage" in ended[0].error
    with open_recording(path) as rec:  # every frame before the failing one is kept
        assert rec.meta.frames + outcome.overflowed + outcome.dropped == 600
    for scenario, _seed in SESSIONS:  # the others went on, unaffected
        p, out, other = on_host[scenario]
        assert out.error is None
        _same_recording(p, alone[scenario][0])
        assert _notices(other) == alone[scenario][2]


class Broker:
    def __init__(self) -> None:
        self.items: list = []
        self.ended: list = []
        self.lock = threading.Lock()

    def publish_batch(self, items):
        with self.lock:
            self.items.extend(items)

    def publish(self, session_id, msg, view=False):
        with self.lock:
            self.ended.append((session_id, msg))


@pytest.mark.slow
def test_a_killed_session_host_reports_each_of_its_sessions_with_an_error(tmp_path):
    broker, outcomes = Broker(), {}
    hosts = SessionHosts(broker, lambda sid, out: outcomes.__setitem__(sid, out), hosts=1)
    try:
        for sid, scenario in ((1, "mixed"), (2, "spine"), (3, "weight")):
            assert hosts.launch(sim_spec(tmp_path, sid, scenario), timeout=60)
        assert sorted(hosts.running_ids()) == [1, 2, 3]
        time.sleep(1.5)
        assert hosts.command(3, "stop")  # one ends normally first
        assert hosts.wait(3, 60)
        assert outcomes[3].error is None and outcomes[3].frames > 100
        (pid,) = hosts.host_pids()
        os.kill(pid, signal.SIGKILL)
        assert hosts.wait(1, 60) and hosts.wait(2, 60)
    finally:
        hosts.close()
    for sid in (1, 2):
        assert outcomes[sid].error == "session host ended unexpectedly (exit code -9)"
        assert outcomes[sid].frames > 100  # its crash-safe recording, analysed
        assert outcomes[sid].summary is not None
    assert {sid for sid, m in broker.ended if m.error and "unexpectedly" in m.error} == {1, 2}
    kinds = {(sid, enc[0]) for sid, enc, _view in broker.items}
    assert {(1, "init"), (2, "frame"), (3, "ended")} <= kinds
    assert not hosts.running(1) and not hosts.command(1, "stop")


def _frozen_cycle() -> weakref.ref:
    """Garbage only the cyclic collector frees, frozen as the host does when a session starts
    (a weak reference to it: None once it is freed)."""

    class Cycle:
        pass

    garbage = Cycle()
    garbage.me = garbage
    gone = weakref.ref(garbage)
    gc.freeze()
    return gone


def test_an_ended_hosted_session_lets_the_collector_free_what_its_start_froze(tmp_path):
    from ashiguard.services.session_host import _hosted, _Outbox

    sent: list = []
    outbox = _Outbox(sent.append)
    spec = sim_spec(tmp_path, 1, "baseline", speed=0.0, duration_s=2.0)
    hosted = _hosted(spec, outbox, sent.append)
    host = SessionHost(outbox.flush)
    try:
        gone = _frozen_cycle()
        gc.collect()
        assert gone() is not None  # frozen: a full collection does not see it
        hosted.open()
        host.add(hosted)
        deadline = time.monotonic() + 60
        while not any(m[0] == "outcome" for m in sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(m[0] == "outcome" for m in sent)
        assert gone() is None  # the session's end unfroze and collected it
    finally:
        host.close()
        host.join(30)
        gc.unfreeze()


def test_the_full_collection_after_a_sessions_end_waits_until_no_session_runs(tmp_path):
    """A full collection holds every session of the process back (60-100 ms with 16): after
    a session's end while another runs, only the unfrozen generations are collected; the
    frozen garbage goes once the last one ends."""
    from ashiguard.services import session_host as sh

    sent: list = []
    outbox = sh._Outbox(sent.append)
    short = sh._hosted(
        sim_spec(tmp_path, 1, "baseline", speed=0.0, duration_s=1.0), outbox, sent.append
    )
    long = sh._hosted(
        sim_spec(tmp_path, 2, "baseline", speed=0.0, duration_s=3600.0), outbox, sent.append
    )
    host = SessionHost(outbox.flush)

    def ended(sid: int) -> bool:
        return any(m[0] == "outcome" and m[1] == sid for m in sent)

    try:
        gone = _frozen_cycle()
        for h in (short, long):
            h.open()
            host.add(h)
        deadline = time.monotonic() + 60
        while not ended(1) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ended(1)
        time.sleep(0.5)  # the end thread has collected by now
        assert gone() is not None  # session 2 runs: no full collection yet
        long.session.request_stop()
        deadline = time.monotonic() + 60
        while gone() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ended(2)
        assert gone() is None  # the last one ended: the full collection freed it
    finally:
        host.close()
        host.join(30)
        gc.unfreeze()
