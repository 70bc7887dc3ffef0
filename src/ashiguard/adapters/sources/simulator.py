"""The simulator as a live frame source (real-time paced or unpaced)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

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
        **config_fields: Any,
    ) -> None:
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
            },
        )
        super().__init__(info)

    @property
    def speed(self) -> float:
        """Pacing factor (0 = unpaced)."""
        return self._pacer.speed

    def truth_events(self) -> list[dict[str, Any]]:
        """The simulation's ground-truth events as dicts (times in stream seconds)."""
        return [e.to_dict() for e in self.simulation.truth]

    def _produce(self) -> Iterator[Frame]:
        for chunk in self.simulation.chunks(max(1, int(self.info.rate_hz // 2))):
            for i in range(chunk.times.shape[0]):
                t = float(chunk.times[i])
                self._pacer.wait(t)
                yield Frame(int(chunk.counters[i]), t, chunk.pressure[i], chunk.bars[i])
                if self._stop.is_set():
                    return
