"""Bench part ``mechanics``: stress at 3 depths per frame, zone rasterization per session."""

from __future__ import annotations

import statistics
import time

import numpy as np

from ashiguard.bench import BenchResult
from ashiguard.domain.mechanics import DepthStress, render_contact
from ashiguard.domain.zones import Grid, ZoneMap

__all__ = ["run"]

ROWS, COLS, PITCH = 128, 48, 15.0
DEPTHS = (20.0, 45.0, 80.0)


def _grid() -> Grid:
    """128 x 48 sensels at 15 mm centred on the midline from above C7 (1920 x 720 mm)."""
    return Grid(ROWS, COLS, PITCH, origin_mm=(-(COLS - 1) * PITCH / 2, -150.0))


def _frames(n: int, grid: Grid) -> list[np.ndarray]:
    """Two-foot frames walking down the back (real contact models, varying loads)."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        y = 100.0 + 600.0 * i / max(1, n - 1)
        load = 250.0 + 150.0 * rng.random()
        frame = render_contact("foot", load, grid, 60.0, y, 5.0)
        frame += render_contact("heel", 0.6 * load, grid, -60.0, y + 80.0, -5.0)
        out.append(frame)
    return out


def run(quick: bool) -> list[BenchResult]:
    """Median time of DepthStress on one frame and of ZoneMap.rasterize on the grid."""
    grid = _grid()
    stress = DepthStress((ROWS, COLS), PITCH, DEPTHS)
    frames = _frames(50 if quick else 400, grid)
    for f in frames[:5]:
        stress(f)
    times = []
    for f in frames:
        t0 = time.perf_counter()
        stress(f)
        times.append((time.perf_counter() - t0) * 1000.0)
    zone_map = ZoneMap.from_height(1750.0)
    zone_map.rasterize(grid)
    ztimes = []
    for _ in range(10 if quick else 60):
        t0 = time.perf_counter()
        zone_map.rasterize(grid)
        ztimes.append((time.perf_counter() - t0) * 1000.0)
    fr, fc = stress.fft_shape
    return [
        BenchResult(
            "stress_3_depths_ms",
            statistics.median(times),
            "ms",
            1.0,
            "lower",
            f"median of {len(times)} frames {ROWS}x{COLS} at {PITCH:g} mm, depths "
            f"{'/'.join(f'{d:g}' for d in DEPTHS)} mm, FFT {fr}x{fc}, p95 "
            f"{float(np.percentile(times, 95)):.3f} ms",
        ),
        BenchResult(
            "zone_raster_ms",
            statistics.median(ztimes),
            "ms",
            5.0,
            "lower",
            f"median of {len(ztimes)}, {ROWS}x{COLS} at {PITCH:g} mm, H 1750 mm, 5x5 supersampling "
            "of boundary sensels",
        ),
    ]
