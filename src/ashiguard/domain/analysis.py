"""Session summaries as pure reductions over the alarm engine's per-chunk features.

:class:`SessionSummary` folds chunks in order and keeps only running totals, so a recording
of any length is summarised in constant memory and the result does not depend on chunking.

Notes
-----
- Time weights: each frame counts for the time since the previous frame, capped at the
  engine's ``max_frame_gap_s`` so a lost signal never counts as contact.
- A zone is in contact in a frame when at least one of its sensels is over ``contact_kpa``.
  Mean pressure is the zone's pressure averaged over its sensels in contact; the dose is its
  time integral over contact (kPa·s).
- The neighbourhood peak is exact wherever it exceeded a limit-relevant threshold; where a
  zone never did, the summary reports the exact single-sensel peak and an upper bound.
- Feet on a contact sheet are found as the two largest connected contact regions, sampled
  every ``cop_interval_s``, and followed from sample to sample by nearest distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ashiguard.domain.alarms import AlarmEngine, ChunkFeatures, zone_summary_pass

__all__ = ["SessionSummary", "symmetry_index"]

F64 = npt.NDArray[np.float64]

# ndimage.label's default (edge neighbours), built once instead of on every call
_EDGE_NEIGHBOURS = ndimage.generate_binary_structure(2, 1)


def symmetry_index(left: float, right: float) -> float | None:
    """Robinson's symmetry index ``100 * (L - R) / ((L + R) / 2)`` in percent (None if no load).

    Parameters
    ----------
    left, right : float, N
        Load on the left and on the right side.
    """
    tot = left + right
    if not tot > 0:
        return None
    return 100.0 * (left - right) / (tot / 2.0)


_ZONE_TOTALS = (
    "peak_sensel",
    "peak_nbhd",
    "nbhd_bound",
    "over_s",
    "contact_s",
    "dose",
    "area_s",
    "max_area",
    "strokes",
    "last_contact_t",
)
"""The rows of the per-zone totals, in the order :func:`zone_summary_pass` folds them."""


@dataclass
class SessionSummary:
    """Running per-zone, load and centre-of-pressure summary of one session.

    Parameters
    ----------
    engine : AlarmEngine
        The engine whose features are folded (its layout, limits and therapist weight).
    load_bin_s : float, s
        Width of the bins of the downsampled load series.
    cop_interval_s : float, s
        Sampling interval of the feet's centre-of-pressure paths.
    stroke_gap_s : float, s
        A new stroke in a zone starts after at least this long without contact there.
    """

    engine: AlarmEngine
    load_bin_s: float = 1.0
    cop_interval_s: float = 1.0
    stroke_gap_s: float = 0.2
    _z: dict[str, F64] = field(default_factory=dict)
    _last_t: float | None = None
    _first_t: float | None = None
    _frames: int = 0
    _bins: dict[int, list[float]] = field(default_factory=dict)
    _left_s: float = 0.0
    _right_s: float = 0.0
    _loaded_s: float = 0.0
    _next_cop_t: float = -math.inf
    _paths: dict[str, list[list[float]]] = field(default_factory=dict)
    _xy: tuple[F64, F64] | None = None

    def __post_init__(self) -> None:
        nz = len(self.engine.zone_names)
        # the per-zone totals, one row each (rows of ``_acc``, folded by zone_summary_pass)
        self._acc = np.zeros((len(_ZONE_TOTALS), nz))
        for i, key in enumerate(_ZONE_TOTALS):
            if key in ("peak_sensel", "peak_nbhd", "nbhd_bound", "max_area", "last_contact_t"):
                self._acc[i] = -np.inf
            self._z[key] = self._acc[i]
        names = self.engine.zone_names
        self._limits = np.array([self.engine.config.zone_limit(z) for z in names])

    def _dt(self, t: F64) -> F64:
        prev = np.concatenate([[t[0] if self._last_t is None else self._last_t], t[:-1]])
        out: F64 = np.clip(t - prev, 0.0, self.engine.config.max_frame_gap_s)
        return out

    def add(self, f: ChunkFeatures, pressure: npt.NDArray[np.float32] | None = None) -> None:
        """Fold one chunk's features (and, for a grid, its frames for the feet's paths)."""
        t = f.times
        if t.size == 0:
            return
        dt = self._dt(t)
        if self._first_t is None:
            self._first_t = float(t[0])
        self._frames += t.size
        self._add_zones(f, dt)
        self._add_load(f, dt)
        if pressure is not None:
            self._add_cop(t, pressure)
        self._last_t = float(t[-1])

    def _add_zones(self, f: ChunkFeatures, dt: F64) -> None:
        eng = self.engine
        if not eng.zone_names:
            return
        area = eng.layout.sensel_area_mm2 if eng.layout is not None else 0.0
        zone_summary_pass(
            f.times,
            dt,
            np.ascontiguousarray(f.zone_raw_max_kpa, dtype=np.float32),
            np.ascontiguousarray(f.zone_peak_kpa, dtype=np.float32),
            np.ascontiguousarray(f.zone_peak_exact, dtype=bool),
            np.ascontiguousarray(f.zone_sum_kpa, dtype=np.float32),
            np.ascontiguousarray(f.zone_contact, dtype=np.float32),
            self._limits,
            area,
            self.stroke_gap_s,
            self._acc,
        )

    def _add_load(self, f: ChunkFeatures, dt: F64) -> None:
        load = f.load_n
        ok = np.isfinite(load)
        if ok.any():
            bins = np.floor(f.times[ok] / self.load_bin_s).astype(np.int64)
            vals = load[ok]
            for b in np.unique(bins):
                sel = vals[bins == b]
                acc = self._bins.setdefault(int(b), [0.0, 0.0, -math.inf])
                acc[0] += float(sel.sum())
                acc[1] += float(sel.size)
                acc[2] = max(acc[2], float(sel.max()))
        lr = np.isfinite(f.left_n) & np.isfinite(f.right_n)
        if lr.any():
            w = dt[lr]
            self._left_s += float((f.left_n[lr] * w).sum())
            self._right_s += float((f.right_n[lr] * w).sum())
            self._loaded_s += float(w.sum())

    def _add_cop(self, t: F64, pressure: npt.NDArray[np.float32]) -> None:
        lay = self.engine.layout
        if lay is None:
            return
        thr = self.engine.config.contact_kpa
        if self._xy is None:  # body-frame x and y of every sensel, mm (the layout is fixed)
            xs = (
                np.asarray(lay.x_mm)
                if lay.x_mm is not None
                else (np.arange(lay.cols) - (lay.cols - 1) / 2.0) * lay.pitch_mm
            )
            ys = np.arange(lay.rows) * (lay.row_pitch_mm or lay.pitch_mm)
            self._xy = (
                np.broadcast_to(xs[None, :], (lay.rows, lay.cols)).reshape(-1),
                np.broadcast_to(ys[:, None], (lay.rows, lay.cols)).reshape(-1),
            )
        xg, yg = self._xy
        i = -1
        while True:
            # the next frame at or after the next CoP time (times increase within a chunk)
            i = max(i + 1, int(t.searchsorted(self._next_cop_t, side="left")))
            if i >= t.size:
                break
            self._next_cop_t = float(t[i]) + self.cop_interval_s
            raw = pressure[i].reshape(-1)
            inside = raw > np.float64(thr)  # compared in double; NaN is never in contact
            at = np.flatnonzero(inside)
            if at.size == 0:
                continue
            # label only the bounding box of the contact (same components, numbered in the
            # same raster order) and add up only the labelled sensels (label 0, the
            # background, is dropped anyway): the same additions in the same order
            r, c = np.divmod(at, lay.cols)
            r0, c0 = int(r[0]), int(c.min())
            box = inside.reshape(lay.rows, lay.cols)[r0 : int(r[-1]) + 1, c0 : int(c.max()) + 1]
            lab_box, nlab = ndimage.label(box, structure=_EDGE_NEIGHBOURS)
            lab = lab_box[r - r0, c - c0]
            frame = raw[at].astype(np.float64)
            force = np.bincount(lab, weights=frame, minlength=nlab + 1)[1:]
            mx = np.bincount(lab, weights=frame * xg[at], minlength=nlab + 1)[1:]
            my = np.bincount(lab, weights=frame * yg[at], minlength=nlab + 1)[1:]
            keep = np.argsort(force)[::-1][:2]
            cops = [(float(mx[k] / force[k]), float(my[k] / force[k])) for k in keep]
            self._assign_feet(float(t[i]), cops)

    def _assign_feet(self, t: float, cops: list[tuple[float, float]]) -> None:
        names = ["foot_a", "foot_b"]
        last = {n: self._paths[n][-1] for n in names if self._paths.get(n)}
        if len(cops) == 2 and len(last) == 2:
            a, b = cops
            la, lb = last["foot_a"], last["foot_b"]
            straight = math.dist(a, la[1:]) + math.dist(b, lb[1:])
            swapped = math.dist(a, lb[1:]) + math.dist(b, la[1:])
            if swapped < straight:
                cops = [b, a]
        elif len(cops) == 1 and last:
            nearest = min(last, key=lambda n: math.dist(cops[0], last[n][1:]))
            self._paths.setdefault(nearest, []).append([t, *cops[0]])
            return
        for name, cop in zip(names, cops, strict=False):
            self._paths.setdefault(name, []).append([t, *cop])

    def to_json(self) -> dict[str, Any]:
        """The summary object (units in the key names)."""
        eng = self.engine
        zones: dict[str, Any] = {}
        z = self._z
        for zi, name in enumerate(eng.zone_names):
            if not math.isfinite(z["peak_sensel"][zi]):
                continue
            nb, bound = float(z["peak_nbhd"][zi]), float(z["nbhd_bound"][zi])
            exact_peak = nb if nb >= bound else None
            cs = float(z["contact_s"][zi])
            zones[name] = {
                "limit_kpa": _r(eng.config.zone_limit(name)),
                "peak_kpa": _r(exact_peak),
                "peak_below_kpa": None if exact_peak is not None else _r(bound),
                "peak_sensel_kpa": _r(float(z["peak_sensel"][zi])),
                "mean_kpa": _r(float(z["dose"][zi]) / cs) if cs > 0 else None,
                "contact_s": _r(cs),
                "contact_area_mm2": _r(float(z["area_s"][zi]) / cs) if cs > 0 else 0.0,
                "max_contact_area_mm2": _r(max(float(z["max_area"][zi]), 0.0)),
                "over_limit_s": _r(float(z["over_s"][zi])),
                "dose_kpa_s": _r(float(z["dose"][zi])),
                "strokes": int(z["strokes"][zi]),
            }
        series = []
        for b in sorted(self._bins):
            s, c, mx = self._bins[b]
            series.append(
                {
                    "t": _r(b * self.load_bin_s),
                    "load_n": _r(s / c),
                    "max_load_n": _r(mx),
                    "share": _r(s / c / eng.weight_n, 4),
                }
            )
        loads = [self._bins[b][2] for b in self._bins]
        mean_l = self._left_s / self._loaded_s if self._loaded_s > 0 else None
        mean_r = self._right_s / self._loaded_s if self._loaded_s > 0 else None
        return {
            "frames": self._frames,
            "t_first": _r(self._first_t),
            "t_last": _r(self._last_t),
            "therapist_weight_n": _r(eng.weight_n),
            "zones": zones,
            "load": {
                "source": eng.load_source,
                "bin_s": self.load_bin_s,
                "max_n": _r(max(loads)) if loads else None,
                "max_share": _r(max(loads) / eng.weight_n, 4) if loads else None,
                "allowed_share": eng.config.max_load_fraction,
                "series": series,
            },
            "symmetry": {
                "source": eng.symmetry_source,
                "mean_left_n": _r(mean_l),
                "mean_right_n": _r(mean_r),
                "index_percent": _r(symmetry_index(mean_l, mean_r))
                if mean_l is not None and mean_r is not None
                else None,
            },
            "cop_paths_mm": {
                name: [[_r(v) for v in row] for row in path]
                for name, path in sorted(self._paths.items())
            },
        }

    def add_cop_path(self, name: str, t: F64, cop_mm: npt.NDArray[Any]) -> None:
        """Record a foot's centre-of-pressure path given directly (insoles), decimated."""
        path = self._paths.setdefault(name, [])
        next_t = -math.inf
        for i in range(t.size):
            if t[i] >= next_t and np.all(np.isfinite(cop_mm[i])):
                path.append([float(t[i]), float(cop_mm[i][0]), float(cop_mm[i][1])])
                next_t = float(t[i]) + self.cop_interval_s


def _r(v: float | None, nd: int = 3) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return round(float(v), nd)
