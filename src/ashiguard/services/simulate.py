"""Write a simulated session to a recording (``ashiguard simulate``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ashiguard.adapters.recording import RecordingWriter
from ashiguard.domain.simulation import Simulation, SimulationConfig

__all__ = ["SimulateResult", "simulate_to_file"]


@dataclass(frozen=True)
class SimulateResult:
    """What :func:`simulate_to_file` wrote."""

    path: str
    frames: int
    dropped: int
    truth_events: int
    duration_s: float
    elapsed_s: float


def simulate_to_file(
    path: str | Path,
    config: SimulationConfig,
    *,
    progress: Callable[[int, int], None] | None = None,
    started_at: str | None = None,
) -> SimulateResult:
    """Simulate ``config`` and write it as an ``ashiguard.recording/1`` file.

    Parameters
    ----------
    path : str or Path
        Output ``.h5`` file (replaced if it exists).
    config : SimulationConfig
        The session.
    progress : callable, optional
        Called with (frames planned so far, total frames) after each chunk.
    started_at : str, optional
        ISO time stored as ``started_at`` (default: now).

    Notes
    -----
    Besides the contract datasets, the file holds ``/mat/counter`` (frames lost to a simulated
    dropped-frames fault leave counter gaps, counted in the ``/mat`` attr ``dropped_frames``),
    ``/truth/events`` and ``/mat`` attrs ``truth_restrictions`` (JSON ``{"avoid_zones": [...]}``),
    ``simulation`` (JSON of the config) and ``sensor_max_kpa``.
    """
    t_start = time.perf_counter()
    sim = Simulation(config)
    c = config
    mat_attrs = {
        "truth_restrictions": json.dumps(sim.restrictions),
        "simulation": json.dumps(asdict(c) | {"origin_mm": list(c.origin)}),
        "sensor_max_kpa": float(c.sensor_max_kpa),
        "source_format": "ashiguard-simulator",
    }
    if sim.attempt_truth is not None:
        mat_attrs["truth_attempt"] = json.dumps(sim.attempt_truth)
    frames = 0
    dropped = 0
    last = -1
    with RecordingWriter(
        path,
        rows=c.rows,
        cols=c.cols,
        pitch_mm=c.pitch_mm,
        origin_mm=c.origin,
        placement=c.placement,
        therapist_mass_kg=c.therapist_mass_kg,
        started_at=started_at,
        client={"height_cm": c.client_height_cm, "weight_kg": c.client_weight_kg},
        mat_attrs=mat_attrs,
        counter=True,
        chunk_frames=16,
    ) as w:
        for chunk in sim.chunks(100):
            w.append(chunk.times, chunk.pressure, chunk.counters)
            w.append_bars(chunk.times, chunk.bars)
            dropped += int(chunk.counters[0]) - last - 1
            dropped += int((chunk.counters[1:] - chunk.counters[:-1] - 1).sum())
            last = int(chunk.counters[-1])
            frames += chunk.counters.shape[0]
            if progress is not None:
                progress(last + 1, sim.n_frames)
        w.write_truth([e.to_dict() for e in sim.truth])
        w.set_stream_stats(dropped_frames=dropped, reordered_frames=0)
    return SimulateResult(
        path=str(path),
        frames=frames,
        dropped=dropped,
        truth_events=len(sim.truth),
        duration_s=sim.n_frames / c.rate_hz,
        elapsed_s=time.perf_counter() - t_start,
    )
