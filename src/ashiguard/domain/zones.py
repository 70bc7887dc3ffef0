"""Body frame, landmarks and the zone map of the posterior body (contract section 1).

The client lies prone. ``y`` is mm from the spinous process of C7 toward the feet, ``x`` is mm
from the midline toward the client's LEFT. Every contract zone is a region of this frame built
from the landmarks; regions never overlap, and points outside the body outline (or in the gap
between the legs, or in the flank between L3 and the iliac crest) belong to no zone.

The map is made of horizontal *bands* between landmark levels; inside a band the zones are
strips at fixed distances from the midline, clipped laterally by a body outline whose
half-width is a piecewise-linear function of ``y``. This makes :meth:`ZoneMap.zone_at` exact
and :meth:`ZoneMap.rasterize` a handful of vectorised numpy operations.

Anatomical proportions (all scaled with the client through the half shoulder width ``s``,
default 0.115 H, and the vertebral levels through the landmarks):

- spinous processes: a midline strip 0.10 s wide each side (about 20 mm for H = 1750 mm);
  spinous processes are 1-2 cm wide (Moore, Dalley & Agur, *Clinically Oriented Anatomy*, 7th
  ed., 2014, ch. 4).
- erector spinae (with multifidus): from the spine strip to 0.35 s (about 70 mm), i.e. the
  "2 to 7 cm from the midline" of the paraspinal muscle mass on CT/MRI (Moore et al. 2014,
  ch. 4; Standring (ed.), *Gray's Anatomy*, 41st ed., 2016, ch. 44).
- kidneys: between T11 and L3 (contract section 1; Gray's Anatomy 2016, ch. 74: upper pole at
  T11-T12, lower pole at L3), projecting 2.5 to 9.5 cm from the midline. The medial part lies
  under the erector spinae; the zone ``kidney_*`` is the flank lateral to the erector (as the
  contract says), out to the body outline. See docs/zones-and-mechanics.md.
- scapula: superior angle at T2, inferior angle at T7 (Moore et al. 2014, ch. 6). The zone
  ``scapular_*`` runs from T2 down to the kidney zone (T11) so the upper back has no gap.
- iliac crests at L4 (Tuffier's line; Moore et al. 2014, ch. 4): ``gluteal_*`` starts there.
- popliteal fossa: 0.025 H above and below the knee crease (about 44 mm for H = 1750 mm).

Vertebral levels are interpolated between the landmarks: thoracic spinous processes T1..T12
equally spaced from C7 (y = 0) to ``t12``; lumbar L1..L5 equally spaced below ``t12`` with the
L5/S1 junction half a segment below L5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError
from ashiguard.domain.zone_names import ENDANGERMENT_ZONE_SLUGS, ZONE_SLUGS

__all__ = [
    "DEFAULT_FRACTIONS",
    "ENDANGERMENT_ZONES",
    "ZONES",
    "Grid",
    "Landmarks",
    "ZoneMap",
    "ZoneRaster",
    "zone_index",
]

ZONES: tuple[str, ...] = ZONE_SLUGS
"""Every zone slug of the contract, in contract order; raster labels index into this."""

ENDANGERMENT_ZONES: frozenset[str] = ENDANGERMENT_ZONE_SLUGS
"""``spine_*``, ``sacrum``, ``kidney_*``, ``neck`` and ``popliteal_*`` (contract section 1)."""

DEFAULT_FRACTIONS: dict[str, float] = {
    "t12": 0.165,
    "l5s1": 0.27,
    "coccyx": 0.33,
    "gluteal_fold": 0.38,
    "popliteal": 0.565,
    "ankle": 0.81,
    "half_shoulder": 0.115,
    # Not in the contract (project estimate): the inion/occiput about 6 % of H above C7.
    "occiput": -0.06,
}
"""Landmarks as fractions of standing height H (contract section 1, plus ``occiput``)."""

_INDEX = {z: i for i, z in enumerate(ZONES)}
_ORDER = ("occiput", "t12", "l5s1", "coccyx", "gluteal_fold", "popliteal", "ankle")


def zone_index(zone: str) -> int:
    """Index of ``zone`` in :data:`ZONES` (raster label); unknown slugs raise InputError."""
    try:
        return _INDEX[zone]
    except KeyError:
        raise InputError(f"zone: unknown zone {zone!r}") from None


@dataclass(frozen=True)
class Landmarks:
    """Body landmarks of one client, y in mm from C7 (contract section 1).

    Parameters
    ----------
    height_mm : float
        Standing height, mm (scales the parts no landmark fixes, e.g. the popliteal band).
    t12, l5s1, coccyx, gluteal_fold, popliteal, ankle : float
        y of each landmark, mm from C7 toward the feet; strictly increasing.
    half_shoulder : float
        Half the shoulder (biacromial) width, mm; all zone widths scale with it.
    occiput : float
        y of the occiput (top of the neck), mm; negative (above C7).
    """

    height_mm: float
    t12: float
    l5s1: float
    coccyx: float
    gluteal_fold: float
    popliteal: float
    ankle: float
    half_shoulder: float
    occiput: float

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"landmarks.{f.name}: must be a finite number of mm, got {v!r}")
        if not 1000.0 <= self.height_mm <= 2500.0:
            raise InputError(
                f"landmarks.height_mm: {self.height_mm:g} mm is not a plausible adult height "
                "(1000-2500 mm)"
            )
        if self.occiput >= 0:
            raise InputError(f"landmarks.occiput: must be above C7 (< 0), got {self.occiput:g}")
        ys = [getattr(self, n) for n in _ORDER]
        for i in range(1, len(_ORDER)):
            n0, y0, n1, y1 = _ORDER[i - 1], ys[i - 1], _ORDER[i], ys[i]
            if not y1 > y0:
                raise InputError(
                    f"landmarks.{n1}: {y1:g} mm must lie below {n0} ({y0:g} mm) toward the feet"
                )
        if self.t12 <= 0:
            raise InputError(f"landmarks.t12: must lie below C7 (> 0), got {self.t12:g}")
        if not 0.05 * self.height_mm <= self.half_shoulder <= 0.2 * self.height_mm:
            raise InputError(
                f"landmarks.half_shoulder: {self.half_shoulder:g} mm is implausible for height "
                f"{self.height_mm:g} mm"
            )

    @classmethod
    def from_height(cls, height_mm: float, **measured: float) -> Landmarks:
        """Landmarks estimated from standing height, overridden by any measured ones.

        Parameters
        ----------
        height_mm : float
            Standing height, mm.
        **measured : float
            Measured landmark y values (mm), e.g. ``t12=300.0``; unknown names are refused.
        """
        if isinstance(height_mm, bool) or not isinstance(height_mm, int | float):
            raise InputError(f"height_mm: must be a number of mm, got {height_mm!r}")
        unknown = sorted(set(measured) - set(DEFAULT_FRACTIONS))
        if unknown:
            raise InputError(f"landmarks.{unknown[0]}: unknown landmark")
        values = {k: f * float(height_mm) for k, f in DEFAULT_FRACTIONS.items()}
        values.update({k: float(v) for k, v in measured.items()})
        return cls(height_mm=float(height_mm), **values)

    def vertebra_y(self, level: str) -> float:
        """y (mm) of a spinous process: ``C7``, ``T1``..``T12``, ``L1``..``L5``, ``S1``."""
        kind, num = level[:1].upper(), level[1:]
        if not num.isdigit():
            raise InputError(f"level: unknown vertebral level {level!r}")
        n = int(num)
        if kind == "C" and n == 7:
            return 0.0
        if kind == "T" and 1 <= n <= 12:
            return self.t12 * n / 12.0
        if kind == "L" and 1 <= n <= 5:
            return self.t12 + (self.l5s1 - self.t12) * n / 5.5
        if kind == "S" and n == 1:
            return self.l5s1
        raise InputError(f"level: unknown vertebral level {level!r}")

    def to_dict(self) -> dict[str, float]:
        """Landmark values in mm, by name."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


def _finite(value: object) -> float | None:
    """``value`` as a finite float, or None when it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class Grid:
    """Placement of a sensor grid in the body frame (contract section 4).

    Parameters
    ----------
    rows, cols : int
        Sensels; the row index grows with +y (toward the feet) and the column index with +x
        (client's left) when ``rotation_deg`` is 0.
    pitch_mm : float
        Sensel spacing, mm (square sensels).
    origin_mm : tuple of float
        Body-frame (x, y) of the centre of sensel [0, 0], mm.
    rotation_deg : float
        Counter-clockwise rotation of the grid axes in the body frame (from +x toward +y), deg.
    """

    rows: int
    cols: int
    pitch_mm: float
    origin_mm: tuple[float, float] = (0.0, 0.0)
    rotation_deg: float = 0.0

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise InputError(f"grid.{name}: must be a positive integer, got {v!r}")
        pitch = _finite(self.pitch_mm)
        if pitch is None or pitch <= 0:
            raise InputError(f"grid.pitch_mm: must be a positive number, got {self.pitch_mm!r}")
        try:
            origin = tuple(_finite(v) for v in self.origin_mm)
        except TypeError:
            origin = ()
        if len(origin) != 2 or None in origin:
            raise InputError(f"grid.origin_mm: must be [x, y] in mm, got {self.origin_mm!r}")
        rotation = _finite(self.rotation_deg)
        if rotation is None:
            raise InputError(f"grid.rotation_deg: must be finite, got {self.rotation_deg!r}")
        object.__setattr__(self, "pitch_mm", pitch)
        object.__setattr__(self, "origin_mm", origin)
        object.__setattr__(self, "rotation_deg", rotation)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return (int(self.rows), int(self.cols))

    def to_body(
        self, rows: npt.ArrayLike, cols: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Body-frame (x, y) in mm of (fractional) sensel coordinates (row, col)."""
        r = np.asarray(rows, dtype=np.float64)
        c = np.asarray(cols, dtype=np.float64)
        th = math.radians(self.rotation_deg)
        cs, sn = math.cos(th), math.sin(th)
        u, v = c * self.pitch_mm, r * self.pitch_mm
        return self.origin_mm[0] + cs * u - sn * v, self.origin_mm[1] + sn * u + cs * v

    def to_sensel(
        self, x_mm: npt.ArrayLike, y_mm: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Fractional (row, col) of body-frame points (x, y) in mm (inverse of to_body)."""
        dx = np.asarray(x_mm, dtype=np.float64) - self.origin_mm[0]
        dy = np.asarray(y_mm, dtype=np.float64) - self.origin_mm[1]
        th = math.radians(self.rotation_deg)
        cs, sn = math.cos(th), math.sin(th)
        return (-sn * dx + cs * dy) / self.pitch_mm, (cs * dx + sn * dy) / self.pitch_mm

    def centres(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Body-frame (x, y) of every sensel centre, each ``[rows, cols]``, mm."""
        r, c = np.meshgrid(np.arange(self.rows), np.arange(self.cols), indexing="ij")
        return self.to_body(r, c)


@dataclass(frozen=True)
class ZoneRaster:
    """A zone map rasterized onto a :class:`Grid`.

    Attributes
    ----------
    labels : ndarray of int16, [rows, cols]
        Index into :data:`ZONES` of the zone under each sensel centre, -1 for none.
    coverage : ndarray of float32, [rows, cols]
        Fraction of the sensel's area inside that zone (1 inside, in (0, 1) on a boundary,
        0 where the label is -1).
    """

    labels: npt.NDArray[np.int16]
    coverage: npt.NDArray[np.float32]
    grid: Grid = field(repr=False)

    def mask(self, zone: str) -> npt.NDArray[np.bool_]:
        """Boolean ``[rows, cols]`` mask of the sensels labelled ``zone``."""
        return np.asarray(self.labels == zone_index(zone))


_NONE = -1  # raster label of "no zone"


@dataclass(frozen=True)
class _Band:
    y0: float
    y1: float
    breaks: tuple[float, ...]  # |x| boundaries (mm) between the strips, ascending
    strips: tuple[str | None, ...]  # len(breaks) + 1 zone stems; "x_*" stems get a side


def _sided(stem: str | None) -> tuple[int, int]:
    """(left index, right index) of a strip stem (-1 for none; midline zones twice)."""
    if stem is None:
        return (_NONE, _NONE)
    if stem in _INDEX:
        return (_INDEX[stem], _INDEX[stem])
    return (_INDEX[f"{stem}_left"], _INDEX[f"{stem}_right"])


class ZoneMap:
    """Regions of every contract zone for one client's landmarks.

    Parameters
    ----------
    landmarks : Landmarks
        The client's landmarks (measured or :meth:`Landmarks.from_height`).

    Notes
    -----
    Safety: the endangerment zones are drawn generously at the midline (spine strip 0.10 s each
    side, sacrum 0.22 s) and the kidney zone reaches from the erector spinae to the body
    outline. Points in no zone (outside the outline, between the legs, the flank between L3 and
    the iliac crest) return ``None``; a monitor must not treat "no zone" as safe by default.
    """

    SPINE_HALF = 0.10
    ERECTOR_OUTER = 0.35
    NECK_HALF = 0.30
    SACRUM_HALF = 0.22
    LEG_GAP_HALF = 0.05
    KIDNEY_MEDIAL = 0.125
    KIDNEY_LATERAL = 0.47
    POPLITEAL_HALF_H = 0.025

    def __init__(self, landmarks: Landmarks) -> None:
        if not isinstance(landmarks, Landmarks):
            raise InputError("landmarks: must be a Landmarks value")
        self.landmarks = landmarks
        lm = landmarks
        s = lm.half_shoulder
        h = lm.height_mm
        v = lm.vertebra_y
        self.spine_half = self.SPINE_HALF * s
        self.erector_outer = self.ERECTOR_OUTER * s
        self.neck_half = self.NECK_HALF * s
        self.sacrum_half = self.SACRUM_HALF * s
        self.leg_gap_half = self.LEG_GAP_HALF * s
        pop_top = lm.popliteal - self.POPLITEAL_HALF_H * h
        pop_bot = lm.popliteal + self.POPLITEAL_HALF_H * h
        t2, t11, l3, l4 = v("T2"), v("T11"), v("L3"), v("L4")
        sh, eo, nh, sa, lg = (
            self.spine_half,
            self.erector_outer,
            self.neck_half,
            self.sacrum_half,
            self.leg_gap_half,
        )
        self.bands: tuple[_Band, ...] = (
            _Band(lm.occiput, 0.0, (sh, nh), ("spine_cervical", "neck", "upper_trapezius")),
            _Band(0.0, t2, (sh, eo), ("spine_thoracic", "erector_thoracic", "upper_trapezius")),
            _Band(t2, t11, (sh, eo), ("spine_thoracic", "erector_thoracic", "scapular")),
            _Band(t11, lm.t12, (sh, eo), ("spine_thoracic", "erector_thoracic", "kidney")),
            _Band(lm.t12, l3, (sh, eo), ("spine_lumbar", "erector_lumbar", "kidney")),
            _Band(l3, l4, (sh, eo), ("spine_lumbar", "erector_lumbar", None)),
            _Band(l4, lm.l5s1, (sh, eo), ("spine_lumbar", "erector_lumbar", "gluteal")),
            _Band(lm.l5s1, lm.coccyx, (sa,), ("sacrum", "gluteal")),
            _Band(lm.coccyx, lm.gluteal_fold, (), ("gluteal",)),
            _Band(lm.gluteal_fold, pop_top, (lg,), (None, "hamstring")),
            _Band(pop_top, pop_bot, (lg,), (None, "popliteal")),
            _Band(pop_bot, lm.ankle, (lg,), (None, "calf")),
        )
        for b in self.bands:
            if not b.y1 > b.y0:
                raise InputError(
                    f"landmarks: levels too close to build the zone map (band {b.strips} "
                    f"from {b.y0:.0f} to {b.y1:.0f} mm)"
                )
        # Body outline (project estimate of a posterior silhouette): knots of (y in mm,
        # half-width as a multiple of the half shoulder width s), linear in between.
        gf, pop = lm.gluteal_fold, lm.popliteal
        knots = (
            (lm.occiput, 0.30),  # neck
            (0.4 * lm.occiput, 0.34),  # base of the neck
            (0.0, 0.85),  # slope of the shoulders at C7
            (0.02 * h, 1.0),  # acromion
            (v("T4"), 1.0),
            (v("T8"), 0.86),  # lower ribs
            (lm.t12, 0.74),  # waist
            (lm.l5s1 - 0.3 * (lm.l5s1 - lm.t12), 0.80),
            (lm.l5s1, 0.88),  # iliac crests, hips
            (lm.coccyx, 0.90),
            (gf, 0.86),  # gluteal fold
            (gf + 0.4 * (pop - gf), 0.74),  # thighs
            (pop, 0.58),  # knees
            (pop + 0.3 * (lm.ankle - pop), 0.58),  # calves
            (lm.ankle, 0.42),  # ankles (both legs)
        )
        self.outline_y = np.maximum.accumulate(np.array([k[0] for k in knots]))
        self.outline_half = np.array([k[1] for k in knots]) * s
        nb = len(self.bands)
        width = max(len(b.breaks) for b in self.bands)
        self._edges = np.array([b.y0 for b in self.bands] + [self.bands[-1].y1])
        self._breaks = np.full((nb, width), np.inf)
        self._codes = np.full((nb, width + 1, 2), _NONE, dtype=np.int16)
        for i, b in enumerate(self.bands):
            self._breaks[i, : len(b.breaks)] = b.breaks
            for j, stem in enumerate(b.strips):
                self._codes[i, j] = _sided(stem)

    @classmethod
    def from_height(cls, height_mm: float, **measured: float) -> ZoneMap:
        """Zone map from standing height (mm) with the contract's default fractions."""
        return cls(Landmarks.from_height(height_mm, **measured))

    # -- lookup ---------------------------------------------------------------------------
    def half_width(self, y_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Half-width (mm) of the body outline at ``y_mm``; 0 above the occiput/below the ankle."""
        y = np.asarray(y_mm, dtype=np.float64)
        hw = np.interp(y, self.outline_y, self.outline_half)
        inside = (y >= self.outline_y[0]) & (y <= self.outline_y[-1])
        return np.where(inside, hw, 0.0)

    def labels(self, x_mm: npt.ArrayLike, y_mm: npt.ArrayLike) -> npt.NDArray[np.int16]:
        """Zone index (into :data:`ZONES`, -1 for none) at body-frame points, vectorised."""
        x = np.asarray(x_mm, dtype=np.float64)
        y = np.asarray(y_mm, dtype=np.float64)
        # Quantities of y alone are computed on y's own shape (cheap when x and y are a row and
        # a column of a lattice), then everything broadcasts to the common shape.
        band = np.searchsorted(self._edges, y, side="right") - 1
        invalid_y = (band < 0) | (y > self._edges[-1])
        half = self.half_width(y)
        band = np.clip(band, 0, len(self.bands) - 1)
        width = self._breaks.shape[1]
        ax = np.abs(x)
        flat = np.broadcast_to(band * (width + 1), np.broadcast_shapes(x.shape, y.shape)).copy()
        for j in range(width):
            flat += ax >= self._breaks[band, j]
        flat *= 2
        flat += x < 0
        out = self._codes.reshape(-1)[flat]
        return np.where(invalid_y | (ax > half), np.int16(_NONE), out).astype(np.int16)

    def kidney_footprint(self, x_mm: npt.ArrayLike, y_mm: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether body-frame points lie over a kidney's anatomical projection (vectorised).

        The projection is T11 to L3 and 0.125 s to 0.47 s from the midline (2.5 to 9.5 cm for
        H = 1750 mm). Unlike the ``kidney_*`` zones it overlaps the lumbar erector spinae: use
        it for stress at depth (about 80 mm), not for surface labels.
        """
        x = np.abs(np.asarray(x_mm, dtype=np.float64))
        y = np.asarray(y_mm, dtype=np.float64)
        lm, s = self.landmarks, self.landmarks.half_shoulder
        return np.asarray(
            (y >= lm.vertebra_y("T11"))
            & (y <= lm.vertebra_y("L3"))
            & (x >= self.KIDNEY_MEDIAL * s)
            & (x <= self.KIDNEY_LATERAL * s)
        )

    def zone_at(self, x_mm: float, y_mm: float) -> str | None:
        """The zone slug at body-frame point (x, y) in mm, or ``None`` outside every zone."""
        i = int(self.labels(np.float64(x_mm), np.float64(y_mm)))
        return None if i < 0 else ZONES[i]

    # -- geometry -------------------------------------------------------------------------
    def _pieces(self, zone: str) -> list[tuple[float, float, float, float, float]]:
        """(y0, y1, inner |x|, outer |x|, sign) strips; sign +1 left, -1 right, 0 midline."""
        k = zone_index(zone)
        out = []
        for i, b in enumerate(self.bands):
            for j in range(len(b.strips)):
                left, right = (int(c) for c in self._codes[i, j])
                if k not in (left, right):
                    continue
                lo = 0.0 if j == 0 else float(self._breaks[i, j - 1])
                hi = float(self._breaks[i, j]) if j < len(b.breaks) else math.inf
                if left != right:
                    out.append((b.y0, b.y1, lo, hi, 1.0 if k == left else -1.0))
                elif lo == 0.0:
                    out.append((b.y0, b.y1, lo, hi, 0.0))
                else:  # one zone on both sides of a midline zone (the neck)
                    out += [(b.y0, b.y1, lo, hi, 1.0), (b.y0, b.y1, lo, hi, -1.0)]
        return out

    def _edge_samples(self, y0: float, y1: float) -> npt.NDArray[np.float64]:
        inner = self.outline_y[(self.outline_y > y0) & (self.outline_y < y1)]
        return np.unique(np.concatenate([np.linspace(y0, y1, 9), inner]))

    def polygons(self, zone: str) -> list[list[tuple[float, float]]]:
        """Outline of ``zone`` as closed polygons of body-frame (x, y) points in mm.

        One polygon per connected part (two for ``neck``, which lies on both sides of the
        cervical spine; one for every other zone). A midline zone's polygon runs around both
        sides of the midline; a sided zone's is traced down its medial edge and back up its
        lateral edge.
        """
        parts: dict[float, tuple[list[tuple[float, float]], list[tuple[float, float]]]] = {}
        for y0, y1, lo, hi, sign in self._pieces(zone):
            ys = self._edge_samples(y0, y1)
            outer = np.minimum(hi, self.half_width(ys))
            inner = -outer if sign == 0.0 else np.minimum(lo, outer)
            sgn = 1.0 if sign == 0.0 else sign
            medial, lateral = parts.setdefault(sign, ([], []))
            medial += [(float(sgn * a), float(y)) for a, y in zip(inner, ys, strict=True)]
            lateral += [(float(sgn * a), float(y)) for a, y in zip(outer, ys, strict=True)]
        return [medial + lateral[::-1] for medial, lateral in parts.values()]

    @cached_property
    def _moments(self) -> dict[str, tuple[float, float, float]]:
        res: dict[str, tuple[float, float, float]] = {}
        for zone in ZONES:
            area = mx = my = 0.0
            for y0, y1, lo, hi, sign in self._pieces(zone):
                n = max(64, int((y1 - y0) / 0.5))
                dy = (y1 - y0) / n
                ys = y0 + (np.arange(n) + 0.5) * dy
                outer = np.minimum(hi, self.half_width(ys))
                inner = np.minimum(lo, outer)
                if sign == 0.0:
                    inner = -outer
                    sign = 1.0
                w = (outer - inner) * dy
                area += float(w.sum())
                mx += sign * float(((outer**2 - inner**2) / 2 * dy).sum())
                my += float((ys * w).sum())
            res[zone] = (area, mx, my)
        return res

    def area_mm2(self, zone: str) -> float:
        """Area of ``zone`` in mm²."""
        zone_index(zone)
        return self._moments[zone][0]

    def centroid(self, zone: str) -> tuple[float, float]:
        """Body-frame (x, y) of the zone's centroid, mm.

        If the area centroid of a non-convex zone falls outside it, the zone point nearest to
        it is returned instead, so the result always lies inside the zone.
        """
        zone_index(zone)
        area, mx, my = self._moments[zone]
        cx, cy = mx / area, my / area
        if self.zone_at(cx, cy) == zone:
            return (cx, cy)
        poly = np.concatenate([np.array(p) for p in self.polygons(zone)])
        xs = np.linspace(poly[:, 0].min(), poly[:, 0].max(), 81)
        ys = np.linspace(poly[:, 1].min(), poly[:, 1].max(), 161)
        gx, gy = np.meshgrid(xs, ys)
        inside = self.labels(gx, gy) == _INDEX[zone]
        d = np.where(inside, (gx - cx) ** 2 + (gy - cy) ** 2, np.inf)
        j = int(np.argmin(d))
        return (float(gx.flat[j]), float(gy.flat[j]))

    def outline(self) -> list[tuple[float, float]]:
        """The body outline (trunk and both legs, neck up to the occiput) as (x, y) points, mm."""
        ys = self.outline_y
        hw = self.outline_half
        left = [(float(a), float(y)) for a, y in zip(hw, ys, strict=True)]
        right = [(-float(a), float(y)) for a, y in zip(hw, ys, strict=True)]
        fold, ankle, gap = self.landmarks.gluteal_fold, self.landmarks.ankle, self.leg_gap_half
        crotch = [(gap, ankle), (gap, fold), (-gap, fold), (-gap, ankle)]
        return left + crotch + right[::-1]

    # -- rasterization --------------------------------------------------------------------
    def rasterize(self, grid: Grid, supersample: int = 5) -> ZoneRaster:
        """Zone labels and coverage of every sensel of ``grid``.

        Parameters
        ----------
        grid : Grid
            Sensor grid placed in the body frame.
        supersample : int
            Odd number k: a sensel cut by a boundary is sampled on a k x k lattice (centre
            included) to estimate the fraction of its area inside the zone of its centre.

        Returns
        -------
        ZoneRaster
            ``labels`` = zone under each sensel centre (same as :meth:`zone_at`), ``coverage``
            = fraction of the sensel in that zone (0 where the label is -1).

        Notes
        -----
        A sensel counts as cut by a boundary when its centre, corners and edge midpoints do not
        all carry the same label; a sliver of another zone narrower than half a sensel that
        touches none of these points is not seen in ``coverage`` (the labels stay exact).
        """
        if isinstance(supersample, bool) or supersample < 1 or supersample % 2 == 0:
            raise InputError(f"supersample: must be an odd positive integer, got {supersample!r}")
        k = supersample
        rows, cols = grid.shape
        # Labels on the half-sensel lattice: centres, edge midpoints and corners of every sensel.
        r2 = np.arange(2 * rows + 1, dtype=np.float64)[:, None] * 0.5 - 0.5
        c2 = np.arange(2 * cols + 1, dtype=np.float64)[None, :] * 0.5 - 0.5
        lat = self.labels(*self._lattice(grid, r2, c2))
        centre = lat[1::2, 1::2]
        mixed = np.zeros((rows, cols), dtype=bool)
        for di in range(3):
            for dj in range(3):
                mixed |= lat[di : di + 2 * rows : 2, dj : dj + 2 * cols : 2] != centre
        cov = np.ones((rows, cols), dtype=np.float32)
        ri, ci = np.nonzero(mixed)
        if ri.size:
            off = (np.arange(k, dtype=np.float64) + 0.5) / k - 0.5
            rr = ri[:, None, None] + off[None, :, None]
            cc = ci[:, None, None] + off[None, None, :]
            lab = self.labels(*self._lattice(grid, rr, cc)).reshape(ri.size, k * k)
            cov[ri, ci] = (lab == centre[ri, ci][:, None]).mean(axis=-1)
        cov[centre < 0] = 0.0
        return ZoneRaster(labels=centre.astype(np.int16), coverage=cov, grid=grid)

    @staticmethod
    def _lattice(
        grid: Grid, rows: npt.NDArray[np.float64], cols: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Body (x, y) of sensel coordinates; unbroadcast (x of cols, y of rows) if unrotated."""
        if grid.rotation_deg == 0.0:
            return (
                grid.origin_mm[0] + cols * grid.pitch_mm,
                grid.origin_mm[1] + rows * grid.pitch_mm,
            )
        return grid.to_body(rows, cols)

    def to_json(self) -> dict[str, object]:
        """Zones with their polygon, centroid and area (``ashiguard.zones/1``)."""
        return {
            "schema": "ashiguard.zones/1",
            "landmarks_mm": {k: round(v, 1) for k, v in self.landmarks.to_dict().items()},
            "zones": [
                {
                    "zone": z,
                    "endangerment": z in ENDANGERMENT_ZONES,
                    "centroid_mm": [round(c, 1) for c in self.centroid(z)],
                    "area_cm2": round(self.area_mm2(z) / 100.0, 1),
                    "polygons_mm": [
                        [[round(a, 1), round(b, 1)] for a, b in poly] for poly in self.polygons(z)
                    ],
                }
                for z in ZONES
            ],
        }
