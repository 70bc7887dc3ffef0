"""The live monitor service on a real FrameSource: events, snapshot, acknowledge, signal loss."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from ashiguard.adapters.sources.base import Frame, FrameSource, SourceInfo
from ashiguard.domain.live_messages import AlarmNotice
from ashiguard.domain.zones import ZONES, Grid, ZoneMap
from ashiguard.services.monitor import LiveMonitor

ROWS, COLS, PITCH, ORIGIN = 128, 48, 10.0, (-235.0, -150.0)


class ArraySource(FrameSource):
    """Frames from an array at 100 Hz, optionally going silent for a while midway."""

    def __init__(self, pressure: np.ndarray, silence_at: int | None = None) -> None:
        super().__init__(
            SourceInfo(
                rows=ROWS,
                cols=COLS,
                pitch_mm=PITCH,
                origin_mm=ORIGIN,
                placement="on_client",
                rate_hz=100.0,
                therapist_mass_kg=70.0,
                client={"height_cm": 170.0, "weight_kg": 70.0},
            )
        )
        self.pressure = pressure
        self.silence_at = silence_at

    def _produce(self) -> Iterator[Frame]:
        for i, p in enumerate(self.pressure):
            if i == self.silence_at:
                time.sleep(0.6)
            yield Frame(i, i / 100.0, p)


def _frames(n: int) -> np.ndarray:
    labels = ZoneMap.from_height(1700.0).rasterize(Grid(ROWS, COLS, PITCH, ORIGIN)).labels
    p = np.zeros((n, ROWS, COLS), dtype=np.float32)
    er, ec = np.nonzero(labels == ZONES.index("erector_lumbar_left"))
    p[:, er[20], ec[20]] = 30.0 + (np.arange(n) % 3)[:, None].T[0]
    rr, cc = np.nonzero(labels == ZONES.index("spine_lumbar"))
    p[50:90, rr[4] : rr[4] + 2, cc[4] : cc[4] + 2] = 120.0
    return p


def test_monitor_publishes_alarms_and_latches_them_until_acknowledged() -> None:
    seen: list[AlarmNotice] = []
    mon = LiveMonitor(ArraySource(_frames(150)), on_alert=seen.append)
    mon.run()
    raised = [e for e in seen if e.action == "raised"]
    assert [(e.kind, e.zone) for e in raised] == [("spine_pressure", "spine_lumbar")]
    assert mon.alerts.qsize() == len(seen)
    snap = mon.snapshot()
    assert snap["state"] == "alarm" and snap["frames"] == 150
    (alarm,) = snap["active_alarms"]
    assert alarm["latched"] and alarm["rule"] == "spine_pressure:spine_lumbar"
    assert snap["hottest_zones"][0]["zone"] == "erector_lumbar_left"
    assert set(snap["depth_stress_max_kpa"]) == {"10mm", "30mm", "60mm"}
    assert snap["share"] == round(snap["load_n"] / (70.0 * 9.80665), 4)
    assert mon.acknowledge(alarm["alarm_id"]) is True
    assert mon.snapshot()["state"] == "ok"
    assert mon.acknowledge(alarm["alarm_id"]) is False


def test_monitor_turns_unknown_when_the_signal_is_lost() -> None:
    seen: list[AlarmNotice] = []
    states: list[str] = []
    mon = LiveMonitor(ArraySource(_frames(40), silence_at=20), on_alert=seen.append)
    mon.start()
    deadline = time.monotonic() + 10.0
    while mon.running and time.monotonic() < deadline:
        states.append(mon.snapshot()["state"])
        time.sleep(0.02)
    mon.stop()
    assert mon.error is None
    assert any(e.action == "signal_lost" for e in seen)
    assert "unknown" in states
    assert mon.snapshot()["state"] == "ok"  # frames came back: trusted again
    assert mon.snapshot()["frames"] == 40


def test_started_source_stamps_frame_arrival_and_alarm_latency_is_measured() -> None:
    src = ArraySource(_frames(150))
    mon = LiveMonitor(src, on_frame=lambda fr, _f: stamps.append(fr.arrived))
    stamps: list[float | None] = []
    mon.run()
    assert stamps and all(s is not None for s in stamps)
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert len(mon.raise_latencies_ms) == 1  # one raised alarm: spine_lumbar
    assert mon.raise_latencies_ms[0] >= 0.0
    direct = LiveMonitor(ArraySource(_frames(150)))
    for fr in direct.source.frames():  # not through the queue: no stamp, not measured
        assert fr.arrived is None
        direct.process_frame(fr)
    assert direct.raise_latencies_ms == []
