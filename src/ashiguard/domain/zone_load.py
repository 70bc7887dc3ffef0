"""Where the load goes: the therapist's load seen through a mat under the client, per zone.

A mat under the prone client (placement ``under_client``) carries the client's own weight plus
the load the therapist's feet put on the back, transmitted through the body. Once the body is
registered on the mat (:mod:`ashiguard.domain.registration`) and the client-alone map is known
(the baseline), the change of each zone's force against that baseline shows which zones carry
the therapist's load. This is what ``ashiguard analyze`` reports as ``zone_load`` for such mats.

Notes
-----
The body spreads the load (the simulator blurs it by a 40 mm Gaussian; real tissue more), so a
foot on one zone also raises its neighbours: read the shares as "where the load goes", not as
contact pressure on the back (contact pressure needs a sheet on the client). Zone forces are
signed sums of ``pressure - baseline`` over the zone's sensels (noise averages out; a clipped
sum would add up positive noise); a zone's force is counted as 0 when the sum is negative
(the client shifting their own weight away from it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError

__all__ = ["BASELINE_TOLERANCE", "LOADED_SHARE", "ZoneLoad", "client_alone_baseline"]

F64 = npt.NDArray[np.float64]

#: frames whose mat total is within this share of the lowest total count as "client alone"
BASELINE_TOLERANCE = 0.02

#: default "loaded" threshold as a share of the client's own force on the zones
LOADED_SHARE = 0.15


def client_alone_baseline(pressure: npt.ArrayLike, sensel_area_mm2: float) -> tuple[F64, int]:
    """The client-alone map: the mean of the frames with the lowest mat total.

    Parameters
    ----------
    pressure : array_like, kPa
        ``[n, rows, cols]`` frames from the start of the session (NaN = missing).
    sensel_area_mm2 : float, mm²
        Area of one sensel.

    Returns
    -------
    baseline : ndarray [rows, cols], kPa
        Mean of the frames whose total is within 2 % of the lowest total (missing sensels 0).
    frames : int
        How many frames were averaged.

    Notes
    -----
    Assumes the therapist is off the client (or at their lightest) at some point of the window;
    a therapist standing on the client through the whole window raises the baseline and lowers
    every zone's load by the same amount.
    """
    p = np.asarray(pressure, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] < 1:
        raise InputError(f"pressure: expected [n, rows, cols] frames, got shape {p.shape}")
    if not sensel_area_mm2 > 0:
        raise InputError(f"sensel_area_mm2: must be positive, got {sensel_area_mm2!r}")
    p = np.where(np.isfinite(p), np.fmax(p, 0.0), 0.0)
    totals = p.sum(axis=(1, 2)) * sensel_area_mm2 * 1e-3
    lowest = float(totals.min())
    quiet = totals <= lowest + BASELINE_TOLERANCE * max(abs(lowest), 1e-9)
    return p[quiet].mean(axis=0), int(quiet.sum())


class ZoneLoad:
    """Accumulate per-zone transmitted load over a session, chunk by chunk.

    Parameters
    ----------
    labels : ndarray [rows, cols] of int
        Zone index of each sensel (``-1`` off the body), e.g. ``ZoneMap.rasterize(grid).labels``.
    zone_names : sequence of str
        Names of the label indices.
    baseline_kpa : ndarray [rows, cols], kPa
        The client-alone map (:func:`client_alone_baseline`).
    sensel_area_mm2 : float, mm²
        Area of one sensel.
    loaded_n : float or None, N
        A frame counts as "loaded" (the therapist on the client) when the positive zone forces
        add up to more than this. Default: the larger of 50 N and 15 % of the baseline's force
        on the zones (smaller changes are the client's own movement, breathing and mat noise:
        up to 14 % of the body weight between frames of the PoPu Tactilus maps).
    """

    def __init__(
        self,
        labels: npt.ArrayLike,
        zone_names: Sequence[str],
        baseline_kpa: npt.ArrayLike,
        sensel_area_mm2: float,
        *,
        loaded_n: float | None = None,
    ) -> None:
        lab = np.asarray(labels)
        base = np.asarray(baseline_kpa, dtype=np.float64)
        if lab.shape != base.shape or lab.ndim != 2:
            raise InputError(
                f"baseline_kpa: shape {base.shape} does not match the labels {lab.shape}"
            )
        if not sensel_area_mm2 > 0:
            raise InputError(f"sensel_area_mm2: must be positive, got {sensel_area_mm2!r}")
        self.zone_names = tuple(zone_names)
        z = len(self.zone_names)
        flat = lab.reshape(-1)
        on = (flat >= 0) & (flat < z)
        self._index = np.flatnonzero(on)
        # sensels x zones one-hot, scaled to newtons: one matrix product per chunk
        onehot = np.zeros((self._index.size, z), dtype=np.float64)
        onehot[np.arange(self._index.size), flat[on].astype(np.int64)] = sensel_area_mm2 * 1e-3
        self._onehot = onehot
        self._base = base.reshape(-1)[self._index] @ onehot  # zone forces of the baseline, N
        base_total = float(self._base.sum())
        self.loaded_n = (
            float(loaded_n) if loaded_n is not None else max(50.0, LOADED_SHARE * base_total)
        )
        self._sum = np.zeros(z)  # sum over loaded frames of the zone force, N
        self._impulse = np.zeros(z)  # ∫ zone force dt over loaded frames, N·s
        self._peak = np.zeros(z)
        self._loaded_frames = 0
        self._loaded_s = 0.0
        self._frames = 0
        self._last_t: float | None = None
        self._peak_total = 0.0

    def add(self, times: npt.ArrayLike, pressure: npt.ArrayLike) -> None:
        """Add ``[n]`` frame times (s) and ``[n, rows, cols]`` pressure (kPa, NaN = missing)."""
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        p = np.asarray(pressure)
        n = t.size
        if n == 0:
            return
        flat = p.reshape(n, -1)[:, self._index].astype(np.float64)
        np.nan_to_num(flat, copy=False, nan=0.0)
        zone_n = np.fmax(flat @ self._onehot - self._base, 0.0)  # [n, zones] N
        total = zone_n.sum(axis=1)
        loaded = total > self.loaded_n
        prev = self._last_t if self._last_t is not None else (t[0] - (t[1] - t[0] if n > 1 else 0))
        dt = np.diff(np.concatenate([[prev], t]))
        dt = np.where(np.isfinite(dt) & (dt > 0) & (dt < 1.0), dt, 0.0)
        self._last_t = float(t[-1])
        self._frames += n
        if loaded.any():
            zl = zone_n[loaded]
            self._sum += zl.sum(axis=0)
            self._impulse += (zl * dt[loaded, None]).sum(axis=0)
            self._peak = np.fmax(self._peak, zl.max(axis=0))
            self._loaded_frames += int(loaded.sum())
            self._loaded_s += float(dt[loaded].sum())
            self._peak_total = max(self._peak_total, float(total.max()))

    def to_json(self) -> dict[str, object]:
        """Per zone ``mean_n`` (over loaded frames), ``peak_n``, ``impulse_n_s`` and ``share``
        (of the summed impulse), plus the loaded time and the baseline's zone total."""
        total_impulse = float(self._impulse.sum())
        k = max(self._loaded_frames, 1)
        zones: dict[str, dict[str, float]] = {}
        for i, name in enumerate(self.zone_names):
            zones[name] = {
                "mean_n": round(float(self._sum[i]) / k, 2),
                "peak_n": round(float(self._peak[i]), 2),
                "impulse_n_s": round(float(self._impulse[i]), 2),
                "share": round(float(self._impulse[i]) / total_impulse, 4)
                if total_impulse > 0 and math.isfinite(total_impulse)
                else 0.0,
            }
        return {
            "frames": self._frames,
            "loaded_frames": self._loaded_frames,
            "loaded_s": round(self._loaded_s, 3),
            "loaded_threshold_n": round(self.loaded_n, 2),
            "peak_total_n": round(self._peak_total, 2),
            "baseline_on_zones_n": round(float(self._base.sum()), 2),
            "zones": zones,
        }
