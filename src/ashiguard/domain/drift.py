"""Baseline drift and creep of pressure grids: measured and corrected through unloaded frames
(issue 14).

Resistive and capacitive pressure sensors drift: an unloaded sensel does not stay at zero but
creeps with time, temperature and past load (Hsiao, Guan and Weatherly 2002, "Accuracy and
precision of two in-shoe pressure measurement systems", Ergonomics 45(8):537-555, measured
drift and creep of F-Scan and pedar). Since an unloaded sensel should read zero, its reading in
frames where nothing loads the sensor *is* its baseline. Method (the usual re-zeroing between
zero-load phases, e.g. the swing phase of gait, see the Biomch-L thread "drift correction after
measurements", 2001): find the unloaded stretches, take each sensel's mean over each stretch as
an anchor at the stretch's mean time, join the anchors by straight lines (constant before the
first and after the last), and subtract that piecewise-linear baseline from every frame.

A frame is *unloaded* when no sensel reads above ``contact`` (source units; 20 kPa by
default, far above a few kPa of drift and far below contact pressure under a foot); an
unloaded stretch needs at least ``min_frames`` consecutive such frames. Stretches closer than
``min_gap_s`` to the previous anchor are merged into it, which bounds the anchors kept (one
``rows x cols`` array each).

Notes
-----
A recording with no unloaded stretch (a body lying on an under-client mat all along) cannot be
corrected this way: :meth:`DriftEstimator.report` says so and nothing is changed. Drift while
loaded is not observable from the data; the correction assumes it moves linearly between the
unloaded stretches around it. Values are clipped at 0 after the correction (as after a tare).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DriftAnchor", "DriftEstimator", "correct_drift"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DriftAnchor:
    """Each sensel's mean reading (source units) over an unloaded stretch, at time ``t`` s."""

    t: float
    frames: int
    baseline: F64


class DriftEstimator:
    """Anchors of the unloaded baseline, found chunk after chunk (see module).

    Parameters
    ----------
    contact : float, source units
        A sensel above this loads the frame.
    min_frames : int
        Consecutive unloaded frames needed for a stretch.
    min_gap_s : float, s
        Stretches closer than this to the previous anchor are merged into it.
    """

    def __init__(self, contact: float = 20.0, min_frames: int = 5, min_gap_s: float = 1.0) -> None:
        self.contact = float(contact)
        self.min_frames = int(min_frames)
        self.min_gap_s = float(min_gap_s)
        self.anchors: list[DriftAnchor] = []
        self.frames = 0
        self.unloaded_frames = 0
        self._run_sum: F64 | None = None
        self._run_t = 0.0
        self._run_n = 0

    def add(self, times: F64, pressure: F32) -> None:
        """Add frames ``[k, rows, cols]`` at ``times`` [k] s (NaN = no sensel)."""
        p = np.asarray(pressure)
        t = np.asarray(times, dtype=np.float64)
        k = p.shape[0]
        self.frames += k
        flat = p.reshape(k, -1)
        with np.errstate(invalid="ignore"):
            loaded = np.nanmax(np.where(np.isnan(flat), -np.inf, flat), axis=1) > self.contact
        self.unloaded_frames += int(k - loaded.sum())
        # runs of unloaded frames in this chunk, summed slice by slice (not frame by frame)
        edges = np.flatnonzero(np.diff(np.concatenate(([True], loaded, [True])).astype(np.int8)))
        starts, stops = edges[0::2], edges[1::2]
        for a, b in zip(starts, stops, strict=True):
            if a > 0:  # a loaded frame before this run (in this chunk) ended the previous run
                self._end_run()
            block = np.nan_to_num(flat[a:b].astype(np.float64), nan=0.0).sum(axis=0)
            self._run_sum = block if self._run_sum is None else self._run_sum + block
            self._run_t += float(t[a:b].sum())
            self._run_n += int(b - a)
        if k and loaded[-1]:
            self._end_run()

    def _end_run(self) -> None:
        if self._run_sum is not None and self._run_n >= self.min_frames:
            anchor = DriftAnchor(
                self._run_t / self._run_n, self._run_n, self._run_sum / self._run_n
            )
            last = self.anchors[-1] if self.anchors else None
            if last is not None and anchor.t - last.t < self.min_gap_s:
                n = last.frames + anchor.frames
                self.anchors[-1] = DriftAnchor(
                    (last.t * last.frames + anchor.t * anchor.frames) / n,
                    n,
                    (last.baseline * last.frames + anchor.baseline * anchor.frames) / n,
                )
            else:
                self.anchors.append(anchor)
        self._run_sum = None
        self._run_t = 0.0
        self._run_n = 0

    def finish(self) -> list[DriftAnchor]:
        """Close the last stretch; the anchors in time order."""
        self._end_run()
        return self.anchors

    def report(self) -> dict[str, object]:
        """What ``info`` and the analysis show: anchors, the baseline's change from the first to
        the last anchor (mean over sensels and the largest sensel), its rate per minute."""
        anchors = self.finish()
        out: dict[str, object] = {
            "method": "piecewise-linear baseline through unloaded frames",
            "contact_threshold": self.contact,
            "unloaded_frames": self.unloaded_frames,
            "anchors": len(anchors),
            "baseline_change_mean": None,
            "baseline_change_max": None,
            "rate_per_min": None,
        }
        if len(anchors) >= 2:
            change = anchors[-1].baseline - anchors[0].baseline
            span_min = (anchors[-1].t - anchors[0].t) / 60.0
            biggest = float(change[np.argmax(np.abs(change))])
            out["baseline_change_mean"] = round(float(change.mean()), 4)
            out["baseline_change_max"] = round(biggest, 4)
            out["rate_per_min"] = round(biggest / span_min, 4) if span_min > 0 else None
            out["anchor_times_s"] = [round(a.t, 4) for a in anchors]
        return out


def correct_drift(times: F64, pressure: F32, anchors: list[DriftAnchor]) -> F32:
    """``pressure`` ``[k, rows, cols]`` minus the piecewise-linear baseline through ``anchors``
    at ``times``, clipped at 0 (NaN kept); a new array. No anchors: a copy, unchanged."""
    p = np.asarray(pressure, dtype=np.float32)
    if not anchors:
        same: F32 = p.copy()
        return same
    at = np.array([a.t for a in anchors])
    base = np.stack([a.baseline for a in anchors])  # [A, S]
    t = np.asarray(times, dtype=np.float64)
    j = np.clip(np.searchsorted(at, t), 1, max(len(anchors) - 1, 1))
    if len(anchors) == 1:
        b = np.broadcast_to(base[0], (t.size, base.shape[1]))
    else:
        t0, t1 = at[j - 1], at[j]
        w = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)[:, None]
        b = base[j - 1] * (1.0 - w) + base[j] * w
    out: F32 = (p.reshape(t.size, -1) - b).astype(np.float32).reshape(p.shape)
    np.maximum(out, 0.0, out=out, where=~np.isnan(out))
    return out
