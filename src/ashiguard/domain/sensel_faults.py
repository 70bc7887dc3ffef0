"""Dead and stuck sensels found from a recording itself (issue 14).

A sensel that is broken from power-on shows it over the whole recording: it never changes, or
it always reads saturated. :class:`SenselStats` gathers per-sensel statistics chunk after
chunk (constant memory: a few arrays of ``rows x cols``); :meth:`SenselStats.faults` names the
faulty sensels:

- ``stuck``: reported in every frame with one and the same non-zero value (a frozen reading or
  a constant offset) while one of its four neighbours changed by more than ``neighbour_kpa``
  (a static scene, e.g. a body lying still, leaves idle sensels constant too).
- ``dead``: read exactly zero in every frame although both of its neighbours in its row or in
  its column were loaded above ``neighbour_kpa`` at some time (a contact that covered both
  sides of a sensel covered the sensel too: the sensor's own contact area says it is dead).
- ``saturated``: at or above the sensor's full scale (``saturation``) in every frame; when the
  full scale is not known, one constant value at or above the highest value any changing
  sensel ever read (stuck at the top of the scale).

Notes
-----
A sensel that reads zero throughout with no loaded neighbours on both sides is *not* flagged:
it may simply lie outside the contact area (e.g. the cells around a foot on an F-Scan grid).
Flagging is safe for the alarms even when wrong: a flagged sensel read one constant value all
along, so it carried no information. Callers treat flagged sensels as not reporting (NaN),
which the alarm engine handles as missing data (``domain/alarms/features.py``: a sensel that
never reported is outside the sensor's outline and is left out of loads and peaks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FAULT_KINDS", "SenselFault", "SenselStats", "mask_faults"]

FAULT_KINDS = ("dead", "stuck", "saturated")

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SenselFault:
    """One faulty sensel: grid ``row``, ``col``, ``kind`` (see module), its constant ``value``
    (kPa or raw units; the lowest value for ``saturated``)."""

    row: int
    col: int
    kind: str
    value: float

    def to_json(self) -> dict[str, object]:
        """``{"row", "col", "kind", "value"}``."""
        return {"row": self.row, "col": self.col, "kind": self.kind, "value": self.value}


class SenselStats:
    """Per-sensel minimum, maximum and 'ever missing' over all frames.

    Parameters
    ----------
    rows, cols : grid shape.
    neighbour_kpa : float, kPa (or raw units)
        A neighbour above this counts as loaded for the ``dead`` test.
    """

    def __init__(self, rows: int, cols: int, neighbour_kpa: float = 30.0) -> None:
        self.rows, self.cols = rows, cols
        self.neighbour_kpa = float(neighbour_kpa)
        self.frames = 0
        self._lo = np.full((rows, cols), np.inf)
        self._hi = np.full((rows, cols), -np.inf)
        self._missed = np.zeros((rows, cols), dtype=bool)

    def add(self, pressure: F32) -> None:
        """Add frames ``[k, rows, cols]`` (NaN = not reporting)."""
        p = np.asarray(pressure)
        if p.ndim == 2:
            p = p[None]
        if p.shape[1:] != (self.rows, self.cols):
            raise ValueError(f"frames {p.shape[1:]} do not match grid {self.rows} x {self.cols}")
        if not p.shape[0]:
            return
        self.frames += p.shape[0]
        # three reductions per chunk (fmin/fmax skip NaN): cheap next to reading the frames
        self._missed |= np.isnan(p).any(axis=0)
        with np.errstate(invalid="ignore"):
            np.fmin(self._lo, np.fmin.reduce(p, axis=0), out=self._lo)
            np.fmax(self._hi, np.fmax.reduce(p, axis=0), out=self._hi)

    def _flanked(self) -> npt.NDArray[np.bool_]:
        """Both neighbours in the row, or both in the column, loaded above ``neighbour_kpa``
        at some time."""
        with np.errstate(invalid="ignore"):
            hot = self._hi > self.neighbour_kpa
        out = np.zeros_like(hot)
        if self.rows >= 3:
            out[1:-1, :] |= hot[:-2, :] & hot[2:, :]
        if self.cols >= 3:
            out[:, 1:-1] |= hot[:, :-2] & hot[:, 2:]
        return out

    def _neighbour_varied(self) -> npt.NDArray[np.bool_]:
        """Whether one of the four neighbours' range (max - min) exceeds ``neighbour_kpa``."""
        with np.errstate(invalid="ignore"):
            span = np.where(np.isfinite(self._lo), self._hi - self._lo, 0.0)
        varied = span > self.neighbour_kpa
        out = np.zeros_like(varied)
        out[1:, :] |= varied[:-1, :]
        out[:-1, :] |= varied[1:, :]
        out[:, 1:] |= varied[:, :-1]
        out[:, :-1] |= varied[:, 1:]
        return out

    def faults(self, *, saturation: float | None = None, min_frames: int = 50) -> list[SenselFault]:
        """The faulty sensels, row by row (empty with fewer than ``min_frames`` frames: a few
        snapshots cannot tell a stuck sensel from an idle one)."""
        if self.frames < min_frames:
            return []
        always = ~self._missed
        constant = always & (self._lo == self._hi)
        kind = np.full((self.rows, self.cols), "", dtype=object)
        kind[constant & (self._lo != 0) & self._neighbour_varied()] = "stuck"
        kind[constant & (self._lo == 0) & self._flanked()] = "dead"
        varying = always & (self._hi - self._lo > self.neighbour_kpa)
        if varying.any():
            top = float(self._hi[varying].max())
            kind[constant & (self._lo > 0) & (self._lo >= top)] = "saturated"
        if saturation is not None:
            kind[always & (self._lo >= saturation)] = "saturated"
        return [
            SenselFault(int(r), int(c), str(kind[r, c]), float(self._lo[r, c]))
            for r, c in zip(*np.nonzero(kind != ""), strict=True)
        ]


def mask_faults(pressure: F32, faults: list[SenselFault]) -> F32:
    """``pressure`` ``[k, rows, cols]`` (or one frame) with the faulty sensels set to NaN (a
    copy; the input is not changed)."""
    out = np.array(pressure, dtype=np.float32, copy=True)
    if faults:
        rows = [f.row for f in faults]
        cols = [f.col for f in faults]
        out[..., rows, cols] = np.nan
    return out
