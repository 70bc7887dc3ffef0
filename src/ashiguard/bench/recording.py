"""Bench part ``recording``: write speed, import throughput and memory while reading.

- ``record_write_x_realtime``: a 10-minute 100 Hz 128 x 48 recording (1 minute with --quick)
  appended frame by frame with crash safety on (SWMR, flush every 0.25 s), frame counter
  included; seconds of recording per second of wall time. Goal >= 20.
- ``import_mb_per_s``: ``import_file`` + ``write_imported`` on a synthetic Tekscan ASCII movie
  (128 x 48, 2000 frames, about 30 MB; 300 frames with --quick). Detail: the real vendor files.
- ``read_1h_peak_rss_mb``: peak resident memory of a fresh process that opens a one-hour
  100 Hz 128 x 48 recording (8.8 GB as float32; 5 minutes with --quick) and reads every frame
  with ``iter_chunks``. Goal < 1024 MB.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ashiguard.bench import BenchResult

__all__ = ["foot_frames", "run"]

ROWS, COLS, RATE_HZ = 128, 48, 100.0


def foot_frames(n: int, seed: int = 0) -> np.ndarray:
    """``n`` realistic frames, kPa: zeros with two foot-shaped blobs that walk and rock.

    Notes
    -----
    Like the simulator's frames: each foot an ellipse (about 250 x 90 mm at 10 mm pitch) with
    a heel and a forefoot peak, up to about 120 kPa, plus 1 kPa noise where loaded.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ROWS, 0:COLS].astype(np.float32)
    out = np.zeros((n, ROWS, COLS), dtype=np.float32)
    for i in range(n):
        phase = 2 * np.pi * i / max(n, 1)
        for side, cx in ((-1, 16.0), (1, 32.0)):
            cy = 60.0 + 20.0 * np.sin(phase + (side > 0) * np.pi)
            load = 0.5 + 0.5 * np.sin(phase * 3 + side)
            e = ((yy - cy) / 12.5) ** 2 + ((xx - cx) / 4.5) ** 2
            heel = np.exp(-(((yy - cy - 8) / 4) ** 2 + ((xx - cx) / 3) ** 2))
            fore = np.exp(-(((yy - cy + 7) / 4) ** 2 + ((xx - cx) / 3.5) ** 2))
            blob = np.where(e < 1, 30 + 60 * heel + 50 * fore, 0) * load
            out[i] += blob.astype(np.float32)
        mask = out[i] > 0
        out[i][mask] += rng.normal(0, 1, int(mask.sum())).astype(np.float32)
    np.clip(out, 0, None, out=out)
    return out


def _write(path: Path, seconds: float, *, per_frame: bool) -> tuple[float, float]:
    """Write a synthetic recording; returns (wall s, CPU s of this process)."""
    from ashiguard.adapters.recording import RecordingWriter

    frames = foot_frames(200)
    n = int(seconds * RATE_HZ)
    t0, c0 = time.perf_counter(), time.process_time()
    with RecordingWriter(
        path, rows=ROWS, cols=COLS, pitch_mm=10.0, therapist_mass_kg=70.0, counter=True
    ) as w:
        if per_frame:
            for i in range(n):
                w.append(i / RATE_HZ, frames[i % 200], counter=i)
        else:
            for i in range(0, n, 200):
                k = min(200, n - i)
                idx = np.arange(i, i + k)
                w.append(idx / RATE_HZ, frames[:k], counter=idx)
    return time.perf_counter() - t0, time.process_time() - c0


def _tekscan_text(n: int) -> str:
    frames = foot_frames(50)
    head = [
        "DATA_TYPE MOVIE",
        "VERSION synthetic ashiguard bench",
        "SENSOR_TYPE MAT",
        f"ROWS {ROWS}",
        f"COLS {COLS}",
        "ROW_SPACING 1.0 cm",
        "COL_SPACING 1.0 cm",
        "SECONDS_PER_FRAME 0.01",
        "START_FRAME 1",
        f"END_FRAME {n}",
        "UNITS KPa",
        "ASCII_DATA @@",
        "",
    ]
    blocks = []
    for i in range(n):
        grid = np.rint(frames[i % 50]).astype(int)
        rows = "\n".join(",".join(map(str, r)) for r in grid)
        blocks.append(f"Frame {i + 1}\n{rows}\n")
    return "\n".join(head) + "\n".join(blocks) + "@@\n"


def _import_rate(paths: list[Path], out: Path) -> float:
    from ashiguard.adapters.importers import import_file, write_imported

    size = sum(p.stat().st_size for p in paths)
    t0 = time.perf_counter()
    for p in paths:
        write_imported(import_file(p), out)
    return size / 1e6 / (time.perf_counter() - t0)


_READER = """
import resource, sys
import numpy as np
from ashiguard.adapters.recording import open_recording
peak = 0.0
with open_recording(sys.argv[1]) as rec:
    n = 0
    for t, p in rec.iter_chunks():
        n += p.shape[0]
        peak = max(peak, float(np.nanmax(p)))
# VmHWM is this process's own peak RSS; ru_maxrss would also count the parent's memory
# at fork time on Linux.
hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
try:
    with open("/proc/self/status") as f:
        hwm = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")) / 1024.0
except (OSError, StopIteration):
    pass
print(n, peak, hwm)
"""


def run(quick: bool) -> list[BenchResult]:
    """Measure the three ``recording`` numbers (see module docstring)."""
    write_s = 60.0 if quick else 600.0
    read_s = 300.0 if quick else 3600.0
    tek_frames = 300 if quick else 2000
    shared = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    with tempfile.TemporaryDirectory(prefix="ashiguard-bench-") as tmp:
        d = Path(tmp)
        wall, cpu = _write(d / "write.h5", write_s, per_frame=True)
        size_mb = (d / "write.h5").stat().st_size / 1e6
        tek = d / "synthetic.asf"
        tek.write_text(_tekscan_text(tek_frames))
        tek_mb = tek.stat().st_size / 1e6
        rate = _import_rate([tek], d / "imp.h5")
        vendor = shared / "vendor-exports"
        real = sorted(p for p in vendor.glob("*") if p.suffix in (".asf", ".csv", ".asc"))
        real_rate = _import_rate(real, d / "imp.h5") if real else float("nan")
        _write(d / "long.h5", read_s, per_frame=False)
        long_mb = (d / "long.h5").stat().st_size / 1e6
        r = subprocess.run(
            [sys.executable, "-c", _READER, str(d / "long.h5")],
            capture_output=True,
            text=True,
            check=True,
        )
        frames, _, rss = r.stdout.split()
    return [
        BenchResult(
            "record_write_x_realtime",
            write_s / wall,
            "x",
            20.0,
            "higher",
            f"{write_s / 60:g} min 100 Hz {ROWS}x{COLS} frame by frame, SWMR lzf, "
            f"{wall:.1f} s wall, {cpu:.1f} s CPU, {size_mb:.0f} MB",
        ),
        BenchResult(
            "import_mb_per_s",
            rate,
            "MB/s",
            None,
            "higher",
            f"synthetic Tekscan {ROWS}x{COLS} x {tek_frames} frames "
            f"({tek_mb:.1f} MB); real vendor files {real_rate:.1f} MB/s",
        ),
        BenchResult(
            "read_1h_peak_rss_mb",
            float(rss),
            "MB",
            1024.0,
            "lower",
            f"{int(frames)} frames ({read_s / 60:g} min, {long_mb:.0f} MB on disk) "
            "read with iter_chunks in a subprocess",
        ),
    ]
