"""The simulator as a live frame source (real-time paced or unpaced)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ashiguard.adapters.sources.base import Frame, FrameSource, Pacer, SourceInfo
from ashiguard.domain.errors import InputError
from ashiguard.domain.simulation import Simulation, SimulationConfig

__all__ = ["SimulatorSource"]


class SimulatorSource(FrameSource):
    """Frames of a :class:`~ashiguard.domain.simulation.Simulation`, paced like a sensor.

    Parameters
    ----------
    config : SimulationConfig, optional
        The session; built from ``**config`` when omitted (e.g. ``scenario="mixed"``).
    speed : float
        1 = real time, 0 = as fast as possible.
    clock, sleep : callable
        Pacing clock and sleep (injected in tests).
    unloaded_s : float, s
        Nothing on the sheet for this long before the simulated session starts (the
        therapist waits for the zeroing); the session's frames and ground truth come after.
    offset_kpa : float, kPa
        A sensor offset: about 1 % of the sensels (chosen by the seed) read 0.5-1 x this much
        more than the load (the largest this much), with 3 % noise; zeroing removes it.
    **config : Any
        Fields of :class:`SimulationConfig` (``duration_s``, ``seed``, ``scenario``, ...).

    Notes
    -----
    The simulated faults reach the consumer as they would from hardware: dropped frames are
    counter gaps (counted in ``stats.dropped``), stale frames repeat, NaN marks dead sensels.
    The ground truth is :attr:`simulation` ``.truth``.
    """

    def __init__(
        self,
        config: SimulationConfig | None = None,
        speed: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        unloaded_s: float = 0.0,
        offset_kpa: float = 0.0,
        **config_fields: Any,
    ) -> None:
        for name, value, hi in (("unloaded_s", unloaded_s, 3600.0), ("offset_kpa", offset_kpa, 50)):
            if not (isinstance(value, int | float) and 0 <= value <= hi):
                raise InputError(f"sim: {name} must be between 0 and {hi:g}, got {value!r}")
        if config is None:
            try:
                config = SimulationConfig(**config_fields)
            except TypeError as exc:
                raise InputError(f"sim: {exc}") from None
        elif config_fields:
            raise InputError(f"sim: give either config or fields, not both ({config_fields})")
        self._pacer = Pacer(speed, clock=clock, sleep=sleep)
        self.simulation = Simulation(config)
        c = config
        self._unloaded = round(float(unloaded_s) * c.rate_hz)
        self._offsets: np.ndarray | None = None
        if offset_kpa > 0:
            rng = np.random.default_rng([c.seed, 7919])
            shape = (c.rows, c.cols)
            on = rng.random(shape) < 0.01
            off = np.where(on, offset_kpa * rng.uniform(0.5, 1.0, shape), 0.0)
            off.flat[int(rng.integers(off.size))] = offset_kpa
            self._offsets = off.astype(np.float32)
        sim_extra: dict[str, Any] = {}
        if unloaded_s:
            sim_extra["sim_unloaded_s"] = float(unloaded_s)
        if offset_kpa:
            sim_extra["sim_offset_kpa"] = float(offset_kpa)
        info = SourceInfo(
            rows=c.rows,
            cols=c.cols,
            pitch_mm=c.pitch_mm,
            origin_mm=c.origin,
            placement=c.placement,
            rate_hz=c.rate_hz,
            therapist_mass_kg=c.therapist_mass_kg,
            client={"height_cm": c.client_height_cm, "weight_kg": c.client_weight_kg},
            has_bars=True,
            name=f"sim:{c.scenario} seed {c.seed}",
            extra={
                "scenario": c.scenario,
                "seed": c.seed,
                "truth_restrictions": json.dumps(self.simulation.restrictions),
                **(
                    {"truth_attempt": json.dumps(self.simulation.attempt_truth)}
                    if self.simulation.attempt_truth is not None
                    else {}
                ),
                **sim_extra,
            },
        )
        super().__init__(info)

    @property
    def speed(self) -> float:
        """Pacing factor (0 = unpaced)."""
        return self._pacer.speed

    def truth_events(self) -> list[dict[str, Any]]:
        """The simulation's ground-truth events as dicts (times in stream seconds)."""
        shift = self._unloaded / self.info.rate_hz
        events = [e.to_dict() for e in self.simulation.truth]
        if shift:
            for ev in events:
                ev["t_start"] += shift
                ev["t_end"] += shift
        return events

    def _offset_noise(self) -> Iterator[np.ndarray]:
        """The offsets of each frame: constant plus 3 % sensor noise (as loaded sensels have;
        identical frames would read as a frozen stream)."""
        off = self._offsets
        assert off is not None
        idx = np.flatnonzero(off)
        base = off.reshape(-1)[idx]
        rng = np.random.default_rng([self.simulation.config.seed, 104729])
        while True:
            frame = np.zeros_like(off)
            frame.reshape(-1)[idx] = base * (1.0 + 0.03 * rng.standard_normal(idx.size))
            yield frame

    def _produce(self) -> Iterator[Frame]:
        rate, n0 = self.info.rate_hz, self._unloaded
        offsets = self._offset_noise() if self._offsets is not None else None
        empty = np.zeros((self.info.rows, self.info.cols), dtype=np.float32)
        for k in range(n0):  # the sheet unloaded: only its offsets, the bars free
            self._pacer.wait(k / rate)
            p = empty.copy() if offsets is None else next(offsets)
            yield Frame(k, k / rate, p, np.zeros(2, dtype=np.float32))
            if self._stop.is_set():
                return
        shift = n0 / rate
        size = max(1, int(rate // 2))
        # the first chunk's length follows the seed (sessions get consecutive seeds): sessions
        # started together in one session host then render their chunks on different ticks
        # (rendered on the same tick, 14 of 16 took 15 ms of it)
        first = size - (self.simulation.config.seed * 31) % size
        for chunk in self.simulation.chunks(size, first_frames=first):
            pressure = chunk.pressure
            if offsets is not None:
                pressure = pressure + np.stack([next(offsets) for _ in chunk.times])
            for i in range(chunk.times.shape[0]):
                t = float(chunk.times[i]) + shift
                self._pacer.wait(t)
                yield Frame(int(chunk.counters[i]) + n0, t, pressure[i], chunk.bars[i])
                if self._stop.is_set():
                    return
