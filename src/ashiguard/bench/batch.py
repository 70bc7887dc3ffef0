"""Benchmark of batch analysis on Dask (contract section 6).

- ``batch_recordings_per_min``: 200 simulated two-minute recordings (16 with ``--quick``),
  128 x 48 at 10 Hz (the simulator's lowest rate: 200 files stay small and quick to make),
  analysed by :func:`ashiguard.services.batch.analyze_batch` on a two-worker
  ``LocalCluster`` (processes, one thread each). The detail gives the serial rate (the same
  files one after another in this process) and the ratio batch / (serial x workers); batch
  and serial runs alternate for two rounds and the best of each counts.

Generating the files (on the same cluster), starting the cluster and a warm-up run on every
worker stay out of the measurement. The workers' and the serial run's CPU time per recording are
in the detail: on a shared machine they tell cluster overhead from cores taken by others.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from ashiguard.bench import BenchResult

__all__ = ["run"]

WORKERS = 2
DURATION_S = 120.0
RATE_HZ = 10.0
ROUNDS = 2


def _cpu_s() -> float:
    """CPU time (user + system) of the calling process, s."""
    t = os.times()
    return t.user + t.system


def run(quick: bool) -> list[BenchResult]:
    """Measure recordings per minute on a two-worker local cluster (``quick``: 16 files)."""
    from ashiguard.domain.alarms import AlarmConfig
    from ashiguard.domain.simulation import SCENARIOS, SimulationConfig
    from ashiguard.services.batch import analyze_batch, analyze_one, dask_client
    from ashiguard.services.simulate import simulate_to_file

    n = 16 if quick else 200
    scenarios = list(SCENARIOS)
    cfg = AlarmConfig()
    with (
        tempfile.TemporaryDirectory(prefix="ashiguard-bench-batch-") as tmp,
        dask_client(workers=WORKERS) as client,
    ):
        files = [str(Path(tmp) / f"rec{i:03d}.h5") for i in range(n)]
        configs = [
            SimulationConfig(
                duration_s=DURATION_S,
                rate_hz=RATE_HZ,
                seed=100 + i,
                scenario=scenarios[i % len(scenarios)],
                rows=128,
                cols=48,
            )
            for i in range(n)
        ]
        t0 = time.perf_counter()
        client.gather(client.map(simulate_to_file, files, configs, pure=False))
        generated_s = time.perf_counter() - t0
        size_mb = sum(os.path.getsize(f) for f in files) / 1e6
        client.run(analyze_one, files[0], cfg)  # warm-up: imports on every worker
        analyze_one(files[0], cfg)  # and in this process
        batch_s, batch_cpu, serial_s, serial_cpu = [], [], [], []
        same, failed = True, 0
        for _ in range(ROUNDS):  # alternate, so that both see the same outside load
            cpu0 = client.run(_cpu_s)
            batch = analyze_batch(files, cfg, client=client)
            cpu1 = client.run(_cpu_s)
            batch_s.append(batch.elapsed_s)
            batch_cpu.append(sum(cpu1[w] - cpu0[w] for w in cpu0))
            failed = max(failed, batch.failed)
            t0, c0 = time.perf_counter(), _cpu_s()
            serial_rows = [row for f in files for row in analyze_one(f, cfg)]
            serial_s.append(time.perf_counter() - t0)
            serial_cpu.append(_cpu_s() - c0)
            same = same and serial_rows == batch.rows
    batch_per_min = n / min(batch_s) * 60.0
    serial_per_min = n / min(serial_s) * 60.0
    ratio = batch_per_min / (serial_per_min * WORKERS)
    cpu_ratio = min(serial_cpu) / min(batch_cpu)
    detail = (
        f"{n} simulated recordings of {DURATION_S:g} s, 128x48 at {RATE_HZ:g} Hz "
        f"({size_mb / n:.2f} MB each, generated in {generated_s:.0f} s, not timed); best of "
        f"{ROUNDS} alternating rounds; {WORKERS}-worker LocalCluster (1 thread each): "
        f"{min(batch_s):.1f} s (rounds {', '.join(f'{x:.1f}' for x in batch_s)}); serial (one "
        f"process, same files): {serial_per_min:.0f} /min, {min(serial_s):.1f} s (rounds "
        f"{', '.join(f'{x:.1f}' for x in serial_s)}); ratio batch / (serial x {WORKERS}) "
        f"{ratio:.2f} (goal >= 0.8); CPU per recording: workers "
        f"{min(batch_cpu) / n * 1e3:.0f} ms, serial {min(serial_cpu) / n * 1e3:.0f} ms (serial "
        f"/ workers {cpu_ratio:.2f}); rows identical to serial: {'yes' if same else 'NO'}; "
        f"{failed} failed; {os.cpu_count()} cpus shared with other work, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    return [
        BenchResult(
            "batch_recordings_per_min", batch_per_min, "recordings/min", 600.0, "higher", detail
        )
    ]
