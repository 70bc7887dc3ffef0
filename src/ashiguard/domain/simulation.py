"""A simulated Ashiatsu session with exact ground truth (pure: numpy, seeded generator).

A therapist of ``therapist_mass_kg`` works on a prone client with both feet while holding the
overhead bars. The session is planned up front from one seed (:class:`Simulation`) and
rendered chunk by chunk (:meth:`Simulation.chunks`): pressure frames on the sensor grid, the
two bar forces and the frame counter. Unsafe events of the chosen scenario are injected with
their ground truth (:attr:`Simulation.truth`), in the alert kinds of contract section 5.

Normal work (every scenario): strokes of 2-8 s, alternating heel compressions and glides along
the erector spinae, compressions of the scapular and gluteal muscles, forefoot glides along the
hamstrings and heel glides on the upper calves; both feet on the client, one each side of the
midline, sharing the load 42-58 %; total load 20-33 % of the therapist's weight, raised and
released over 0.8-1.4 s (cosine ramps); between strokes the feet are lifted for 0.5-1.2 s.
Every foot position is checked against the rasterized zone map: a normal contact only ever
loads sensels of treatment zones (never spine, sacrum, kidney, neck, popliteal, outside the
body, nor a zone the scenario restricts).

Contact patterns come from :func:`ashiguard.domain.mechanics.render_contact` (heel, forefoot,
whole foot), rendered once per quarter-sensel offset and pasted per frame, so force is
conserved: ``sum(pressure) * pitch^2`` equals the foot load, and ``bars + foot load = weight``
up to bar noise (1.5 % sway plus 3 N white noise).

Notes
-----
The events are made unambiguous for evaluation: each one is separated from the next by at
least two normal strokes, and each is shaped so that it shows only its own kind (e.g. a heel
on the lumbar spine carries at most 34 % of the weight, ramps over 0.6 s so it is no sudden
shift, and sits on the midline so left and right stay balanced). See
docs/simulator-and-sources.md for the exact definition of each truth interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError
from ashiguard.domain.live_view import CONTACT_KPA, MIN_CONTACT_SENSELS
from ashiguard.domain.mechanics import CONTACTS, ContactModel, render_contact
from ashiguard.domain.plan import LEVELS
from ashiguard.domain.zones import ENDANGERMENT_ZONES, ZONES, Grid, ZoneMap

__all__ = [
    "FAULT_TYPES",
    "SCENARIOS",
    "SimChunk",
    "Simulation",
    "SimulationConfig",
    "TruthEvent",
    "default_origin_mm",
]

G = 9.80665  # m/s^2

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

SCENARIOS: dict[str, str] = {
    "baseline": "normal professional work only, no unsafe event",
    "spine": "heel on the lumbar spine (spine_pressure, 150-250 kPa, 1-3 s)",
    "kidney": "pressure on the flank over a kidney (kidney_pressure, 100-180 kPa, 1-3 s)",
    "zone": "a heel pressing too hard on a hamstring (zone_pressure, 210-250 kPa, 1-3 s)",
    "restricted": "contact on a calf the screening said to avoid (restricted_zone)",
    "weight": "bars unloaded: 68-78 % of body weight on the client for 3-6 s (unsupported_weight)",
    "shift": "load jumping by 42-46 % of body weight within 0.15 s (sudden_shift)",
    "imbalance": "one foot carrying 85-92 % of the load for 3-5 s (uneven_load)",
    "faults": "sensor faults: dropped frames, stale stream, dead row, saturation, NaN burst "
    "(sensor_fault)",
    "mixed": "every kind above, several of each, in shuffled rounds",
    "static_hold": "both heels held still on the lumbar erectors for minutes "
    "(dwell_time and zone_dose on both zones)",
    "deep_flank": "a flat foot across one flank, modest surface pressure, high stress at "
    "kidney depth (depth_stress at 80 mm)",
    "good_student": "training: a student holding the heel steadily in the level-3 band on the "
    "left lumbar erector (passes lumbar-heel-hold)",
    "poor_student": "training: a student who overshoots, wavers and slips onto the lumbar spine "
    "(fails lumbar-heel-hold)",
}
"""Scenario names and what each injects."""

FAULT_TYPES = ("dropped_frames", "stale", "dead_row", "saturation", "nan_burst")

_SCENARIO_KINDS: dict[str, tuple[str, ...]] = {
    "baseline": (),
    "spine": ("spine_pressure",),
    "kidney": ("kidney_pressure",),
    "zone": ("zone_pressure",),
    "restricted": ("restricted_zone",),
    "weight": ("unsupported_weight",),
    "shift": ("sudden_shift",),
    "imbalance": ("uneven_load",),
    "faults": tuple(f"sensor_fault:{f}" for f in FAULT_TYPES),
    "mixed": (
        "spine_pressure",
        "kidney_pressure",
        "zone_pressure",
        "restricted_zone",
        "unsupported_weight",
        "sudden_shift",
        "uneven_load",
        *(f"sensor_fault:{f}" for f in FAULT_TYPES),
    ),
    "static_hold": ("static_hold",),
    "deep_flank": ("deep_flank",),
    "good_student": (),
    "poor_student": (),
}
_STUDENTS = ("good_student", "poor_student")
_DRILL_ZONE = "erector_lumbar_left"
_DRILL_LEVEL = 3
_DRILL_S = 30.0  # the hold of the shipped exercise lumbar-heel-hold
_DRILL_PERIOD_S = 34.0  # one attempt every 34 s: 30 s drill, ramps and a rest
_RESTRICTED = ("calf_left", "calf_right")

# Contacts: index -> model. The heel edge (a heel pressed in on its rim, 6 cm²) loads exactly
# the 2 x 2 sensels around a sensel corner on a 15 mm grid.
_HEEL_EDGE = ContactModel(
    "heel",
    6.0,
    1.0,
    "hertz",
    "project estimate: the rim of the heel pressed in, about 2.8 cm across",
)
# A flat foot placed across the flank (deep_flank): heel and midfoot conforming to the side of
# the trunk, round, uniform.
_FLAT_FOOT = ContactModel(
    "foot",
    85.0,
    1.0,
    "uniform",
    "project estimate: heel and midfoot (85 cm², 70 % of CONTACTS['foot']) across the flank",
)
_CONTACT_MODELS: tuple[ContactModel, ...] = (
    CONTACTS["heel"],
    CONTACTS["forefoot"],
    CONTACTS["foot"],
    _HEEL_EDGE,
    _FLAT_FOOT,
)
_HEEL, _FOREFOOT, _FOOT, _EDGE, _FLAT = 0, 1, 2, 3, 4
_Q = 4  # quarter-sensel position steps
_NORMAL_CAP_KPA = 80.0  # normal work: 2x2 peak below this (muscle limits are 100-200 kPa)
_SENSOR_THRESHOLD_KPA = 0.5


def default_origin_mm(rows: int, cols: int, pitch_mm: float) -> tuple[float, float]:
    """Sheet origin centring the columns on the midline, first row 100 mm above C7 (mm)."""
    return (-(cols - 1) / 2.0 * pitch_mm, -100.0)


@dataclass(frozen=True)
class TruthEvent:
    """One injected event (ground truth).

    Parameters
    ----------
    kind : str
        Alert kind of contract section 5.
    zone : str or None
        Zone slug where a zone applies.
    t_start, t_end : float
        Interval of the event, s (definition per kind in docs/simulator-and-sources.md).
    peak : float
        Magnitude in ``unit`` (2x2-neighbourhood peak kPa, load N, share, ...).
    unit : str
        Unit of ``peak``.
    detail : dict
        Further facts (fault type, side, load fraction, avoid_zones, ...).
    """

    kind: str
    zone: str | None
    t_start: float
    t_end: float
    peak: float
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (``kind``, ``zone``, ``t_start``, ``t_end``, ...)."""
        return {
            "kind": self.kind,
            "zone": self.zone,
            "t_start": round(self.t_start, 4),
            "t_end": round(self.t_end, 4),
            "peak": round(self.peak, 3),
            "unit": self.unit,
            **self.detail,
        }


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate.

    Parameters
    ----------
    duration_s : float
        Session length, s.
    rate_hz : float
        Frame rate, Hz.
    seed : int
        Seed of every random choice; the same config gives the same session.
    scenario : str
        One of :data:`SCENARIOS`.
    placement : str
        ``on_client`` (a sensor sheet on the back: contact pressure) or ``under_client`` (a mat
        under the client: the client's own weight plus the therapist's load spread through
        the body).
    rows, cols : int
        Sheet size, sensels.
    pitch_mm : float
        Sensel pitch, mm.
    origin_mm : tuple of float or None
        Body-frame (x, y) of the centre of sensel [0, 0], mm; None: :func:`default_origin_mm`.
    therapist_mass_kg : float
        Therapist's body mass, kg.
    client_height_cm, client_weight_kg : float
        The client (height sets the zone map through the contract's landmark fractions).
    sensor_max_kpa : float
        Full scale of the sensor, kPa (saturated sensels read exactly this).
    """

    duration_s: float = 600.0
    rate_hz: float = 100.0
    seed: int = 1
    scenario: str = "baseline"
    placement: str = "on_client"
    rows: int = 128
    cols: int = 48
    pitch_mm: float = 15.0
    origin_mm: tuple[float, float] | None = None
    therapist_mass_kg: float = 68.0
    client_height_cm: float = 172.0
    client_weight_kg: float = 74.0
    sensor_max_kpa: float = 1000.0

    def __post_init__(self) -> None:
        checks: Sequence[tuple[str, float, float, float]] = (
            ("duration_s", self.duration_s, 1.0, 14400.0),
            ("rate_hz", self.rate_hz, 10.0, 1000.0),
            ("pitch_mm", self.pitch_mm, 5.0, 30.0),
            ("therapist_mass_kg", self.therapist_mass_kg, 35.0, 200.0),
            ("client_height_cm", self.client_height_cm, 120.0, 230.0),
            ("client_weight_kg", self.client_weight_kg, 25.0, 250.0),
            ("sensor_max_kpa", self.sensor_max_kpa, 300.0, 10000.0),
        )
        for name, value, lo, hi in checks:
            if not (isinstance(value, int | float) and math.isfinite(value) and lo <= value <= hi):
                raise InputError(f"{name}: must be between {lo:g} and {hi:g}, got {value!r}")
        if self.scenario not in SCENARIOS:
            raise InputError(
                f"scenario: unknown scenario {self.scenario!r}; one of {', '.join(SCENARIOS)}"
            )
        if self.placement not in ("on_client", "under_client"):
            raise InputError(
                f"placement: must be on_client or under_client, got {self.placement!r}"
            )
        if not (16 <= self.rows <= 512 and 8 <= self.cols <= 256):
            raise InputError(f"rows/cols: sheet {self.rows}x{self.cols} out of 16-512 x 8-256")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"seed: must be a non-negative integer, got {self.seed!r}")

    @property
    def weight_n(self) -> float:
        """Therapist's weight, N."""
        return self.therapist_mass_kg * G

    @property
    def origin(self) -> tuple[float, float]:
        """The sheet origin actually used, mm."""
        if self.origin_mm is not None:
            return (float(self.origin_mm[0]), float(self.origin_mm[1]))
        return default_origin_mm(self.rows, self.cols, self.pitch_mm)


@dataclass(frozen=True)
class SimChunk:
    """Consecutive simulated frames (frames lost by a dropped-frames fault are absent).

    Attributes
    ----------
    counters : ndarray of int64, [n]
        Frame counters (gaps where frames were dropped).
    times : ndarray of float64, [n]
        Frame times, s.
    pressure : ndarray of float32, [n, rows, cols]
        kPa.
    bars : ndarray of float32, [n, 2]
        Left and right bar force, N.
    """

    counters: I64
    times: F64
    pressure: F32
    bars: F32


@dataclass(frozen=True)
class _Patch:
    """Pressure per newton of one contact at one quarter-sensel offset."""

    kpa_per_n: F64  # [h, w]
    r0: int  # row of patch[0] relative to the base sensel
    c0: int
    box_per_n: float  # peak 2x2 mean, kPa per N


@dataclass(frozen=True)
class _Fault:
    kind: str
    k0: int
    k1: int
    row: int = -1
    cells: tuple[int, int, int, int] = (0, 0, 0, 0)  # r0, r1, c0, c1 (saturation block)


def _ease(u: F64) -> F64:
    v = np.clip(u, 0.0, 1.0)
    out: F64 = 0.5 - 0.5 * np.cos(np.pi * v)
    return out


class _Plan:
    """Per-frame arrays of the whole session, filled segment by segment."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.contact = np.full((n, 2), -1, dtype=np.int8)
        self.x = np.zeros((n, 2))
        self.y = np.zeros((n, 2))
        self.load = np.zeros((n, 2))
        self.bar_left = np.full(n, 0.5)
        self.k = 0


class Simulation:
    """A planned session: call :meth:`chunks` to render it, read :attr:`truth` for events.

    Parameters
    ----------
    config : SimulationConfig
        What to simulate.
    """

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        c = config
        self.grid = Grid(c.rows, c.cols, c.pitch_mm, c.origin)
        self.zone_map = ZoneMap.from_height(c.client_height_cm * 10.0)
        self.labels = self.zone_map.rasterize(self.grid).labels
        self.n_frames = round(c.duration_s * c.rate_hz)
        self.weight_n = c.weight_n
        self.restrictions: dict[str, list[str]] = {
            "avoid_zones": list(_RESTRICTED) if c.scenario in ("restricted", "mixed") else []
        }
        forbidden = set(ENDANGERMENT_ZONES) | set(self.restrictions["avoid_zones"])
        self._allowed = np.zeros(len(ZONES) + 1, dtype=bool)  # index -1 -> last: no zone
        for i, z in enumerate(ZONES):
            self._allowed[i] = z not in forbidden
        self._patches = self._build_patches()
        seeds = np.random.SeedSequence(c.seed).spawn(3)
        self._rng = np.random.default_rng(seeds[0])
        self._mat_seed = seeds[1]
        bar_rng = np.random.default_rng(seeds[2])
        self._xcentre: dict[tuple[str, int], float] = {}
        self._label_cache: dict[tuple[int, int, int, int], npt.NDArray[np.int16]] = {}
        self._targets: tuple[Any, I64] | None = None
        self._plan = _Plan(self.n_frames)
        self._faults: list[_Fault] = []
        self._events: list[TruthEvent] = []
        self.attempt_truth: dict[str, Any] | None = None
        self._stroke_sign = 1.0
        self._build()
        self.truth: tuple[TruthEvent, ...] = tuple(self._events)
        self._bar_noise = self._make_bar_noise(bar_rng)
        self._keep = np.ones(self.n_frames, dtype=bool)
        for f in self._faults:
            if f.kind == "dropped_frames":
                self._keep[f.k0 : f.k1] = False
        under = c.placement == "under_client"
        self._body = self._client_body() if under else None
        self._blurred = self._build_blurred() if under else []

    # ------------------------------------------------------------------ geometry helpers
    def _build_patches(self) -> list[list[_Patch]]:
        """Each contact rendered at every quarter-sensel offset, per newton."""
        p = self.config.pitch_mm
        out: list[list[_Patch]] = []
        for model in _CONTACT_MODELS:
            a, b = model.semi_axes_mm
            half = math.ceil(max(a, b) / p) + 2
            size = 2 * half + 1
            local = Grid(size, size, p, (-half * p, -half * p))
            row: list[_Patch] = []
            for qy in range(_Q):
                for qx in range(_Q):
                    k = render_contact(model, 1000.0, local, qx * p / _Q, qy * p / _Q)
                    pat = k.astype(np.float64) / 1000.0
                    nz_r = np.flatnonzero(pat.any(axis=1))
                    nz_c = np.flatnonzero(pat.any(axis=0))
                    crop = pat[nz_r[0] : nz_r[-1] + 1, nz_c[0] : nz_c[-1] + 1]
                    box = crop
                    if crop.shape[0] > 1 and crop.shape[1] > 1:
                        box = (crop[:-1, :-1] + crop[1:, :-1] + crop[:-1, 1:] + crop[1:, 1:]) / 4
                    row.append(
                        _Patch(
                            np.ascontiguousarray(crop),
                            int(nz_r[0]) - half,
                            int(nz_c[0]) - half,
                            float(box.max()),
                        )
                    )
            out.append(row)
        return out

    def _locate(self, x: F64, y: F64) -> tuple[I64, I64, I64]:
        """Base sensel (row, col) and quarter-offset index of positions (mm)."""
        r, c = self.grid.to_sensel(x, y)
        rq = np.rint(r * _Q).astype(np.int64)
        cq = np.rint(c * _Q).astype(np.int64)
        br, qy = np.divmod(rq, _Q)
        bc, qx = np.divmod(cq, _Q)
        return br, bc, qy * _Q + qx

    def _support_labels(self, contact: int, x: F64, y: F64) -> npt.NDArray[np.int16]:
        """The distinct zone labels of the sensels a contact loads at the given positions
        (-2 off-grid); each placement's labels are computed once per simulation."""
        br, bc, q = self._locate(x, y)
        out: list[npt.NDArray[np.int16]] = []
        rows, cols = self.grid.shape
        cache = self._label_cache
        # distinct placements first (one integer per placement; rows/cols may be off-grid)
        span = cols + 1024
        packed = np.unique(((br + 512) * span + (bc + 512)) * (_Q * _Q) + q)
        placements, qs = np.divmod(packed, _Q * _Q)
        rs, cs = np.divmod(placements, span)
        for b_r, b_c, qq in zip((rs - 512).tolist(), (cs - 512).tolist(), qs.tolist(), strict=True):
            key = (contact, b_r, b_c, qq)
            lab = cache.get(key)
            if lab is None:
                patch = self._patches[contact][qq]
                rr, cc = np.nonzero(patch.kpa_per_n)
                rr = rr + b_r + patch.r0
                cc = cc + b_c + patch.c0
                on = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
                full = np.full(rr.shape, -2, dtype=np.int16)
                full[on] = self.labels[rr[on], cc[on]]
                lab = cache[key] = np.unique(full)
            out.append(lab)
        return np.concatenate(out)

    def _fits(self, contact: int, x: F64, y: F64, zones: set[str] | None = None) -> bool:
        """Whether the contact loads only allowed sensels (or only ``zones``) along a path."""
        lab = self._support_labels(contact, x, y)
        if (lab < 0).any():
            return False
        if zones is not None:
            idx = {ZONES.index(z) for z in zones}
            return bool(np.isin(lab, list(idx)).all())
        return bool(self._allowed[lab].all())

    def _box_per_n(self, contact: int, x: F64, y: F64) -> F64:
        _, _, q = self._locate(x, y)
        table = np.array([p.box_per_n for p in self._patches[contact]])
        out: F64 = table[q]
        return out

    def _x_centre(self, zone: str, y: float) -> float:
        """Middle of ``zone`` across the body at height ``y`` (mm); NaN if absent there."""
        key = (zone, round(y))
        if key not in self._xcentre:
            xs = np.arange(-450.0, 450.0, 0.5)
            lab = self.zone_map.labels(xs, np.full_like(xs, float(key[1])))
            inside = xs[lab == ZONES.index(zone)]
            self._xcentre[key] = float(inside.mean()) if inside.size else math.nan
        return self._xcentre[key]

    def _y_range(self, zone: str) -> tuple[float, float]:
        ys = self.grid.centres()[1][self.labels == ZONES.index(zone)]
        return float(ys.min()), float(ys.max())

    def _corner_in(self, zone: str) -> tuple[float, float] | None:
        """A sensel corner whose four sensels, and their neighbours, all lie in ``zone``."""
        m = self.labels == ZONES.index(zone)
        box = m[:-1, :-1] & m[1:, :-1] & m[:-1, 1:] & m[1:, 1:]
        inner = box.copy()
        inner[1:-1, 1:-1] = box[1:-1, 1:-1] & box[:-2, 1:-1] & box[2:, 1:-1]
        inner[1:-1, 1:-1] &= box[1:-1, :-2] & box[1:-1, 2:]
        inner[[0, -1], :] = False
        inner[:, [0, -1]] = False
        cand = np.argwhere(inner if inner.any() else box)
        if cand.size == 0:
            return None
        r, c = cand[int(self._rng.integers(cand.shape[0]))]
        x, y = self.grid.to_body(r + 0.5, c + 0.5)
        return float(x), float(y)

    # ------------------------------------------------------------------ timeline
    def _frames(self, seconds: float) -> int:
        return max(1, round(seconds * self.config.rate_hz))

    def _room(self, seconds: float) -> bool:
        return self._plan.k + self._frames(seconds) <= self._plan.n

    def _put(
        self,
        m: int,
        feet: Sequence[tuple[int, F64, F64, F64] | None],
        bar_left: F64 | None = None,
    ) -> int:
        """Write ``m`` frames: per foot (contact, x [m], y [m], load [m] N) or None (lifted)."""
        pl = self._plan
        k0 = pl.k
        k1 = min(pl.n, k0 + m)
        cut = k1 - k0
        for i, foot in enumerate(feet):
            if foot is None:
                continue
            contact, x, y, load = foot
            pl.contact[k0:k1, i] = contact
            pl.x[k0:k1, i] = x[:cut]
            pl.y[k0:k1, i] = y[:cut]
            pl.load[k0:k1, i] = np.maximum(load[:cut], 0.0)
        if bar_left is not None:
            pl.bar_left[k0:k1] = bar_left[:cut]
        pl.k = k1
        return k0

    def _t(self, k: int) -> float:
        return k / self.config.rate_hz

    def _pause(self, seconds: float) -> None:
        self._put(self._frames(seconds), (None, None))

    def _envelope(self, m: int, up: float, down: float) -> F64:
        t = np.arange(m) / self.config.rate_hz
        dur = m / self.config.rate_hz
        env: F64 = np.minimum(_ease(t / up), _ease((dur - t) / down))
        return env

    # ------------------------------------------------------------------ normal work
    def _stroke_kinds(self) -> list[str]:
        kinds = [
            "erector_glide",
            "erector_compress",
            "scapular_compress",
            "gluteal_compress",
            "hamstring_glide",
            "hamstring_compress",
        ]
        if "calf_left" not in self.restrictions["avoid_zones"]:
            kinds.append("calf_glide")
        return kinds

    def _stroke_path(self, kind: str, m: int) -> tuple[int, F64, F64] | None:
        """Contact and path (x, y of the left foot) of a normal stroke; None if none fits."""
        rng = self._rng
        u = _ease(np.linspace(0.0, 1.0, m))
        if kind in ("erector_glide", "erector_compress"):
            contact, zones = _HEEL, ("erector_thoracic_left", "erector_lumbar_left")
            y_lo, _ = self._y_range(zones[0])
            _, y_hi = self._y_range(zones[1])
            if kind == "erector_glide":
                ya, yb = rng.uniform(y_lo + 40, y_lo + 160), rng.uniform(y_hi - 160, y_hi - 50)
                if rng.random() < 0.5:
                    ya, yb = yb, ya
            else:
                ya = yb = rng.uniform(y_lo + 50, y_hi - 50)
            zone = zones[1] if ya > self.zone_map.landmarks.t12 else zones[0]
        else:
            stem = kind.split("_")[0]
            zone = f"{stem}_left"
            contact = {
                "scapular": _HEEL,
                "gluteal": _HEEL if rng.random() < 0.5 else _FOREFOOT,
                "hamstring": _FOREFOOT,
                "calf": _HEEL,
            }[stem]
            y_lo, y_hi = self._y_range(zone)
            span = y_hi - y_lo
            if kind.endswith("glide"):
                ya = y_lo + rng.uniform(0.15, 0.3) * span
                yb = y_lo + rng.uniform(0.55, 0.7) * span
                if stem == "calf":
                    ya, yb = y_lo + 0.15 * span, y_lo + rng.uniform(0.3, 0.45) * span
                if rng.random() < 0.5:
                    ya, yb = yb, ya
            else:
                ya = yb = y_lo + rng.uniform(0.35, 0.65) * span
        y = ya + (yb - ya) * u
        xa, xb = self._x_centre(zone, ya), self._x_centre(zone, yb)
        if math.isnan(xa) or math.isnan(xb):
            return None
        x0 = xa + (xb - xa) * u
        for dx in (0.0, 3.75, -3.75, 7.5, -7.5, 11.25, -11.25, 15.0, -15.0):
            x = x0 + dx
            if self._fits(contact, x, y) and self._fits(contact, -x, y):
                return contact, x, y
        return None

    def _normal_stroke(self) -> None:
        rng = self._rng
        kinds = self._stroke_kinds()
        for _ in range(30):
            kind = kinds[int(rng.integers(len(kinds)))]
            dur = rng.uniform(3.0, 8.0) if kind.endswith("glide") else rng.uniform(2.0, 6.0)
            m = self._frames(dur)
            path = self._stroke_path(kind, m)
            if path is not None:
                break
        else:  # pragma: no cover - every stroke kind fits an adult zone map
            raise InputError("simulation: no stroke fits this client's zone map and sheet")
        contact, x, y = path
        up = min(rng.uniform(0.8, 1.4), dur / 2 - 0.1)
        down = min(rng.uniform(0.8, 1.4), dur / 2 - 0.1)
        env = self._envelope(m, up, down)
        total = rng.uniform(0.2, 0.33) * self.weight_n
        self._stroke_sign = -self._stroke_sign
        share = 0.5 + self._stroke_sign * rng.uniform(0.02, 0.08)
        cap = _NORMAL_CAP_KPA * (0.85 if kind.startswith(("calf", "scapular")) else 1.0)
        feet = []
        for side, frac in ((1.0, share), (-1.0, 1.0 - share)):
            xs = side * x
            per_n = self._box_per_n(contact, xs, y)
            load = np.minimum(total * frac, cap / per_n.max()) * env
            feet.append((contact, xs, y, load))
        self._put(m, feet)
        self._pause(rng.uniform(0.5, 1.2))

    # ------------------------------------------------------------------ events
    def _event(self, kind: str) -> bool:
        builder = {
            "spine_pressure": self._ev_point,
            "kidney_pressure": self._ev_point,
            "zone_pressure": self._ev_point,
            "restricted_zone": self._ev_restricted,
            "unsupported_weight": self._ev_weight,
            "sudden_shift": self._ev_shift,
            "uneven_load": self._ev_imbalance,
            "static_hold": self._ev_static_hold,
            "deep_flank": self._ev_deep_flank,
        }
        if kind.startswith("sensor_fault:"):
            return self._ev_fault(kind.split(":", 1)[1])
        return builder[kind](kind)

    def _hold_foot(self, zone: str, contact: int, m: int, load: F64) -> tuple[int, F64, F64, F64]:
        """A foot resting on ``zone`` (centre column at mid-height) for ``m`` frames."""
        y_lo, y_hi = self._y_range(zone)
        for frac in (0.5, 0.4, 0.6, 0.3, 0.7):
            y0 = y_lo + frac * (y_hi - y_lo)
            x0 = self._x_centre(zone, y0)
            for dx in (0.0, 3.75, -3.75, 7.5, -7.5, 11.25, -11.25):
                x = np.full(m, x0 + dx)
                y = np.full(m, y0)
                if self._fits(contact, x[:1], y[:1]):
                    return contact, x, y, load
        name = _CONTACT_MODELS[contact].name
        raise InputError(f"client_height_cm: no room for a {name} contact on {zone}")

    def _ev_point(self, kind: str) -> bool:
        """A heel edge on spine_lumbar, a kidney or a hamstring, the other foot balancing."""
        rng = self._rng
        side = "left" if rng.random() < 0.5 else "right"
        other_side = "right" if side == "left" else "left"
        hold = rng.uniform(1.0, 3.0)
        ramp = 0.6
        if kind == "spine_pressure":
            zone, peak, other = "spine_lumbar", rng.uniform(150.0, 250.0), None
        elif kind == "kidney_pressure":
            zone, peak = f"kidney_{side}", rng.uniform(100.0, 180.0)
            other = f"gluteal_{other_side}"
        else:
            zone, peak = f"hamstring_{side}", rng.uniform(210.0, 250.0)
            other = f"hamstring_{other_side}"
        corner = self._corner_in(zone)
        if corner is None:
            return False
        lead, tail = 1.2 if other else 0.2, 0.8
        m = self._frames(lead + 2 * ramp + hold + tail)
        if not self._room(m / self.config.rate_hz + 1.0):
            return False
        cx, cy = np.full(m, corner[0]), np.full(m, corner[1])
        if not self._fits(_EDGE, cx[:1], cy[:1], {zone}):
            return False
        per_n = float(self._box_per_n(_EDGE, cx[:1], cy[:1])[0])
        t = np.arange(m) / self.config.rate_hz
        t_on = lead
        env = np.minimum(_ease((t - t_on) / ramp), _ease((t_on + 2 * ramp + hold - t) / ramp))
        load_edge = peak / per_n * env
        feet: list[tuple[int, F64, F64, F64] | None] = [None, None]
        i_event = 0 if side == "left" or other is None else 1
        feet[i_event] = (_EDGE, cx, cy, load_edge)
        if other is not None:
            base = 0.6 * peak / per_n
            env_o = np.minimum(_ease(t / 1.0), _ease((t[-1] - t) / tail))
            feet[1 - i_event] = self._hold_foot(other, _HEEL, m, base * env_o)
        k0 = self._put(m, feet)
        t0 = self._t(k0) + t_on + ramp / 2
        t1 = self._t(k0) + t_on + 1.5 * ramp + hold
        self._events.append(TruthEvent(kind, zone, t0, t1, peak, "kPa", {"contact": "heel_edge"}))
        if kind == "spine_pressure":
            # a heel edge on the spine also loads the spinal canal: depth_stress at 45 mm
            frame = self._nominal_frame(_EDGE, corner[0], corner[1], peak / per_n)
            self._depth_truth(frame, self._t(k0) + t_on, ramp, hold, None)
        self._pause(rng.uniform(0.5, 1.0))
        return True

    # ------------------------------------------------------------------ tissue events
    def _nominal_frame(self, contact: int, x: float, y: float, load_n: float) -> F64:
        """The noise-free pressure of one contact at one place (kPa)."""
        out = np.zeros(self.grid.shape)
        br, bc, q = self._locate(np.array([x]), np.array([y]))
        patch = self._patches[contact][int(q[0])]
        h, w = patch.kpa_per_n.shape
        r0, c0 = int(br[0]) + patch.r0, int(bc[0]) + patch.c0
        out[r0 : r0 + h, c0 : c0 + w] += patch.kpa_per_n * load_n
        return out

    def _depth_stress(self, frame: F64) -> dict[str, float]:
        """σz by depth zone (kPa) of a noise-free frame, judged as the alarm engine does."""
        from ashiguard.domain.alarms.config import AlarmConfig
        from ashiguard.domain.alarms.layout import SensorLayout, ZoneGrid
        from ashiguard.domain.alarms.tissue import DepthTargets

        if self._targets is None:
            c = self.config
            layout = SensorLayout(
                c.rows, c.cols, c.pitch_mm, self.labels, ZONES, self.grid.centres()[0][0]
            )
            grid = ZoneGrid.of(layout)
            self._targets = (DepthTargets.of(layout, grid, AlarmConfig()), grid.order)
        targets, order = self._targets
        g = frame.reshape(-1)[order][None, :].astype(np.float32)
        sig = targets.stress(g)[0]
        return {z: float(v) for z, v in zip(targets.zones, sig, strict=True)}

    def _depth_truth(
        self, frame: F64, t_on: float, ramp: float, hold: float, zone: str | None
    ) -> None:
        """A depth_stress truth event while the (cosine-ramped) stress of ``frame`` at full
        load exceeds the default limit of a depth zone (``zone`` None: any such zone)."""
        from ashiguard.domain.alarms.config import DEFAULT_DEPTH_LIMITS_KPA, DEPTH_OF_ZONE_MM

        sig = self._depth_stress(frame)
        over = {z: v / DEFAULT_DEPTH_LIMITS_KPA[z] for z, v in sig.items()}
        worst = max(over, key=lambda z: over[z])
        if over[worst] <= 1.0:
            return
        u = math.acos(1.0 - 2.0 / over[worst]) / math.pi  # crossing on the cosine ramp
        t0, t1 = t_on + u * ramp, t_on + 2 * ramp + hold - u * ramp
        detail = {"depth_mm": DEPTH_OF_ZONE_MM[worst], "limit_kpa": DEFAULT_DEPTH_LIMITS_KPA[worst]}
        self._events.append(TruthEvent("depth_stress", zone, t0, t1, sig[worst], "kPa", detail))

    def _ev_static_hold(self, kind: str) -> bool:
        """Both heels held still on the lumbar erectors until past the dose limit."""
        from ashiguard.domain.alarms.config import (
            DEFAULT_DWELL_LIMITS_S,
            DEFAULT_ZONE_LIMITS_KPA,
            AlarmConfig,
            default_dose_limits,
        )

        rng = self._rng
        cfg = AlarmConfig()
        rate = self.config.rate_hz
        zones = ("erector_lumbar_left", "erector_lumbar_right")
        ramp = 1.0
        box = rng.uniform(55.0, 65.0)  # 2x2 peak of each heel, kPa (normal work: < 80)
        probe = [self._hold_foot(z, _HEEL, 1, np.ones(1)) for z in zones]
        per_n = max(float(self._box_per_n(_HEEL, f[1], f[2])[0]) for f in probe)
        load = box / per_n
        raw = max(
            float(self._nominal_frame(_HEEL, float(f[1][0]), float(f[2][0]), load).max())
            for f in probe
        )
        dose_lim = default_dose_limits(DEFAULT_ZONE_LIMITS_KPA)[zones[0]]
        # the dose crosses its limit at about dose_lim / raw seconds of full load
        hold = dose_lim / raw + rng.uniform(8.0, 15.0)
        m = self._frames(2 * ramp + hold)
        if not self._room(m / rate + 30.0):
            return False
        env = self._envelope(m, ramp, ramp)
        feet = [self._hold_foot(z, _HEEL, m, load * env) for z in zones]
        k0 = self._put(m, feet)
        t = self._t(k0) + np.arange(m) / rate
        force = load * env
        # dwell: held while the force on the zone exceeds dwell_load_n
        held = np.flatnonzero(force > cfg.dwell_load_n)
        t_held, t_free = float(t[held[0]]), float(t[held[-1]])
        # dose: the pressure-time integral of the zone's highest sensel while over contact
        p_raw = raw * env
        inc = np.where(p_raw > cfg.contact_kpa, p_raw, 0.0) / rate
        dose = np.cumsum(inc)
        cross = int(np.searchsorted(dose, dose_lim, side="right"))
        end_dose = float(dose[-1])
        t_clear = float(t[-1]) + cfg.dose_recovery_s * math.log(
            max(end_dose / (dose_lim * (1.0 - cfg.hysteresis)), 1.0)
        )
        for z in zones:
            lim = DEFAULT_DWELL_LIMITS_S[z]
            self._events.append(
                TruthEvent("dwell_time", z, t_held + lim, t_free, t_free - t_held, "s", {})
            )
            if cross < m:
                self._events.append(
                    TruthEvent("zone_dose", z, float(t[cross]), t_clear, end_dose, "kPa*s", {})
                )
        self._pause(rng.uniform(1.0, 2.0))
        return True

    def _ev_deep_flank(self, kind: str) -> bool:
        """A flat foot across one flank (modest surface pressure, high stress at kidney
        depth), the other heel on the opposite gluteal."""
        rng = self._rng
        side = "left" if rng.random() < 0.5 else "right"
        other_side = "right" if side == "left" else "left"
        zone = f"kidney_{side}"
        ys = self.grid.centres()[1][self.labels == ZONES.index(zone)]
        xs = self.grid.centres()[0][self.labels == ZONES.index(zone)]
        cx, cy = float(xs.mean()), float(ys.mean())
        flat_n = rng.uniform(255.0, 270.0)
        other_n = 0.45 * flat_n  # left/right within the symmetry limit, total < 60 % W
        hold, ramp, lead, tail = rng.uniform(3.0, 5.0), 1.2, 0.3, 0.3
        m = self._frames(lead + 2 * ramp + hold + tail)
        if not self._room(m / self.config.rate_hz + 1.0):
            return False
        t = np.arange(m) / self.config.rate_hz
        env = np.minimum(_ease((t - lead) / ramp), _ease((lead + 2 * ramp + hold - t) / ramp))
        flat = (_FLAT, np.full(m, cx), np.full(m, cy), flat_n * env)
        other = self._hold_foot(f"gluteal_{other_side}", _HEEL, m, other_n * env)
        feet = [flat, other] if side == "left" else [other, flat]
        k0 = self._put(m, feet)
        frame = self._nominal_frame(_FLAT, cx, cy, flat_n)
        frame += self._nominal_frame(_HEEL, float(other[1][0]), float(other[2][0]), other_n)
        self._depth_truth(frame, self._t(k0) + lead, ramp, hold, zone)
        self._pause(rng.uniform(0.5, 1.0))
        return True

    def _ev_restricted(self, kind: str) -> bool:
        rng = self._rng
        side = "left" if rng.random() < 0.5 else "right"
        other_side = "right" if side == "left" else "left"
        zone = f"calf_{side}"
        hold, ramp = rng.uniform(2.0, 4.0), 0.8
        m = self._frames(hold + 2 * ramp)
        if not self._room(m / self.config.rate_hz + 1.0):
            return False
        load = rng.uniform(0.12, 0.18) * self.weight_n
        env = self._envelope(m, ramp, ramp)
        y_lo, y_hi = self._y_range(zone)
        y0 = y_lo + 0.2 * (y_hi - y_lo)
        x0 = self._x_centre(zone, y0)
        foot = None
        for dx in (0.0, 3.75, -3.75, 7.5, -7.5):
            x, y = np.full(m, x0 + dx), np.full(m, y0)
            if self._fits(_HEEL, x[:1], y[:1], {zone}):
                foot = (_HEEL, x, y, load * env)
                break
        if foot is None:
            return False
        other = self._hold_foot(f"hamstring_{other_side}", _HEEL, m, load * env)
        feet = [foot, other] if side == "left" else [other, foot]
        k0 = self._put(m, feet)
        peak = float(load * self._box_per_n(_HEEL, foot[1][:1], foot[2][:1])[0])
        t0, t1 = self._t(k0) + ramp / 2, self._t(k0) + ramp * 1.5 + hold
        detail = {"avoid_zones": list(self.restrictions["avoid_zones"]), "contact": "heel"}
        self._events.append(TruthEvent(kind, zone, t0, t1, peak, "kPa", detail))
        self._pause(rng.uniform(0.5, 1.0))
        return True

    def _both_feet(self, m: int, load: F64, share_left: F64) -> list[tuple[int, F64, F64, F64]]:
        left = self._hold_foot("hamstring_left", _FOOT, m, load * share_left)
        right = self._hold_foot("hamstring_right", _FOOT, m, load * (1.0 - share_left))
        return [left, right]

    def _ev_weight(self, kind: str) -> bool:
        rng = self._rng
        w = self.weight_n
        base, top = 0.2, rng.uniform(0.68, 0.78)
        lead, ramp, hold, tail = 1.5, 1.0, rng.uniform(3.0, 6.0), 1.5
        m = self._frames(lead + 2 * ramp + hold + tail)
        if not self._room(m / self.config.rate_hz + 1.0):
            return False
        t = np.arange(m) / self.config.rate_hz
        t_up, t_down = lead, lead + ramp + hold
        frac = base * np.minimum(_ease(t / 1.0), _ease((t[-1] - t) / 1.0))
        bump = (top - base) * np.minimum(
            _ease((t - t_up) / ramp), _ease((t_down + ramp - t) / ramp)
        )
        k0 = self._put(m, self._both_feet(m, (frac + bump) * w, np.full(m, 0.5)))
        # crossing of 60 % on the cosine ramps (exact)
        cross = math.acos(1.0 - 2.0 * (0.6 - base) / (top - base)) / math.pi * ramp
        t0 = self._t(k0) + t_up + cross
        t1 = self._t(k0) + t_down + (ramp - cross)
        detail = {"fraction": round(top, 4), "threshold_fraction": 0.6}
        self._events.append(TruthEvent(kind, None, t0, t1, top * w, "N", detail))
        self._pause(rng.uniform(0.5, 1.0))
        return True

    def _ev_shift(self, kind: str) -> bool:
        rng = self._rng
        w = self.weight_n
        base, jump = 0.1, rng.uniform(0.42, 0.46)
        lead, rise, hold, fall, tail = 1.5, 0.15, 0.3, 1.2, 1.5
        m = self._frames(lead + rise + hold + fall + tail)
        if not self._room(m / self.config.rate_hz + 1.0):
            return False
        t = np.arange(m) / self.config.rate_hz
        frac = base * np.minimum(_ease(t / 1.0), _ease((t[-1] - t) / 1.0))
        bump = jump * np.minimum(
            _ease((t - lead) / rise), _ease((lead + rise + hold + fall - t) / fall)
        )
        k0 = self._put(m, self._both_feet(m, (frac + bump) * w, np.full(m, 0.5)))
        t0 = self._t(k0) + lead
        detail = {"delta_fraction": round(jump, 4), "within_s": rise}
        self._events.append(TruthEvent(kind, None, t0, t0 + rise, jump * w, "N", detail))
        self._pause(rng.uniform(0.5, 1.0))
        return True

    def _ev_imbalance(self, kind: str) -> bool:
        rng = self._rng
        heavy_left = rng.random() < 0.5
        top = rng.uniform(0.85, 0.92)
        lead, ramp, hold, tail = 1.5, 0.4, rng.uniform(3.0, 5.0), 1.5
        m = self._frames(lead + 2 * ramp + hold + tail)
        if not self._room(m / self.config.rate_hz + 1.0):
            return False
        t = np.arange(m) / self.config.rate_hz
        total = rng.uniform(0.25, 0.3) * self.weight_n
        env = np.minimum(_ease(t / 1.0), _ease((t[-1] - t) / 1.0))
        tilt = (top - 0.5) * np.minimum(
            _ease((t - lead) / ramp), _ease((lead + 2 * ramp + hold - t) / ramp)
        )
        share_left = 0.5 + tilt if heavy_left else 0.5 - tilt
        k0 = self._put(m, self._both_feet(m, total * env, share_left), bar_left=share_left)
        t0 = self._t(k0) + lead + ramp / 2
        t1 = self._t(k0) + lead + 1.5 * ramp + hold
        detail = {"heavy_side": "left" if heavy_left else "right"}
        self._events.append(TruthEvent(kind, None, t0, t1, top, "share", detail))
        self._pause(rng.uniform(0.5, 1.0))
        return True

    def _ev_fault(self, fault: str) -> bool:
        """A fault during a heel compression on both hamstrings (loaded, still feet)."""
        rng = self._rng
        dur = {
            "dropped_frames": rng.uniform(0.4, 1.0),
            "stale": rng.uniform(3.5, 5.0),
            "dead_row": rng.uniform(2.0, 4.0),
            "saturation": rng.uniform(1.5, 3.0),
            "nan_burst": rng.uniform(0.5, 1.0),
        }[fault]
        ramp, lead = 1.0, 1.5
        m = self._frames(lead + dur + lead + ramp)
        if not self._room(m / self.config.rate_hz + 1.0):
            return False
        env = self._envelope(m, ramp, ramp)
        load = 0.15 * self.weight_n * env
        feet = [
            self._hold_foot("hamstring_left", _HEEL, m, load),
            self._hold_foot("hamstring_right", _HEEL, m, load),
        ]
        k0 = self._put(m, feet)
        f0 = k0 + self._frames(ramp + lead - 0.5)
        f1 = f0 + self._frames(dur)
        t0, t1 = self._t(f0), self._t(f1)
        peak, unit = dur, "s"
        row = -1
        cells = (0, 0, 0, 0)
        if fault == "stale":
            t0 = t0 + 2.0  # identical frames for more than 2 s: the fault exists from then on
        elif fault == "dead_row":
            r, _ = self.grid.to_sensel(feet[0][1][0], feet[0][2][0])
            row = int(np.rint(r))
        elif fault == "saturation":
            cells = self._off_body_block()
            peak, unit = self.config.sensor_max_kpa, "kPa"
        self._faults.append(_Fault(fault, f0, f1, row, cells))
        detail: dict[str, Any] = {"fault": fault}
        if row >= 0:
            detail["row"] = row
        self._events.append(TruthEvent("sensor_fault", None, t0, t1, peak, unit, detail))
        self._pause(rng.uniform(0.5, 1.0))
        return True

    def _off_body_block(self) -> tuple[int, int, int, int]:
        """A 2 x 3 block of sensels outside every zone (shorted sensels at full scale)."""
        free = self.labels < 0
        blk = free[:-1, :-2] & free[1:, :-2] & free[:-1, 1:-1] & free[1:, 1:-1]
        blk &= free[:-1, 2:] & free[1:, 2:]
        cand = np.argwhere(blk)
        r, c = cand[int(self._rng.integers(cand.shape[0]))]
        return int(r), int(r) + 2, int(c), int(c) + 3

    def _build(self) -> None:
        if self.config.scenario in _STUDENTS:
            self._build_student(self.config.scenario == "good_student")
            return
        kinds = list(_SCENARIO_KINDS[self.config.scenario])
        for _ in range(3):
            if not self._room(10.0):
                break
            self._normal_stroke()
        queue: list[str] = []
        while self._room(12.0):
            if kinds:
                if not queue:
                    queue = [kinds[int(i)] for i in self._rng.permutation(len(kinds))]
                if not self._event(queue.pop(0)):
                    break
                for _ in range(2):
                    if self._room(10.0):
                        self._normal_stroke()
            else:
                self._normal_stroke()
        while self._plan.k < self._plan.n:  # the last stroke may be cut by the end
            self._normal_stroke()

    # ------------------------------------------------------------------ training students
    def _drill_spot(self, zone: str) -> tuple[float, float]:
        """A heel position on ``zone`` loading only that zone; else, where the zone is about as
        narrow as the heel, one where every sensel outside the treatment zones stays below
        half the contact threshold with 200 N on the heel (more than any drill load)."""
        y_lo, y_hi = self._y_range(zone)
        shifts = sorted(np.arange(-45.0, 45.1, 3.75).tolist(), key=abs)
        fracs = sorted(np.linspace(0.1, 0.9, 17).tolist(), key=lambda f: abs(f - 0.5))
        forbidden = ~self._allowed[self.labels]  # endangerment zones and off the body
        mask = self.labels == ZONES.index(zone)
        for strict in (True, False):
            for frac in fracs:
                y0 = y_lo + frac * (y_hi - y_lo)
                x0 = self._x_centre(zone, y0)
                if math.isnan(x0):
                    continue
                for dx in shifts[:9] if strict else shifts:
                    x = x0 + dx
                    if strict:
                        if self._fits(_HEEL, np.array([x]), np.array([y0]), {zone}):
                            return x, y0
                        continue
                    frame = self._nominal_frame(_HEEL, x, y0, 200.0)
                    if (frame[mask] > CONTACT_KPA).sum() >= 2 * MIN_CONTACT_SENSELS and not (
                        frame[forbidden] >= CONTACT_KPA / 2
                    ).any():
                        return x, y0
        raise InputError(
            f"client_height_cm: {zone} is too narrow for a heel on this sheet "
            f"({self.config.client_height_cm:g} cm): the training students need a taller client"
        )

    def _zone_mean_table(self, zone: str, x: float, y: float) -> tuple[F64, F64]:
        """(zone pressure kPa, load N) of a heel at (x, y), zone pressure as the delivery
        defines it (mean of the zone's sensels above CONTACT_KPA), made non-decreasing."""
        loads = np.linspace(20.0, 0.9 * self.weight_n, 60)
        mask = self.labels == ZONES.index(zone)
        base = self._nominal_frame(_HEEL, x, y, 1.0)
        kpa = np.zeros(loads.size)
        for i, load in enumerate(loads):
            cells = base[mask] * load
            on = cells > CONTACT_KPA
            kpa[i] = cells[on].mean() if on.sum() >= MIN_CONTACT_SENSELS else 0.0
        return np.maximum.accumulate(kpa), loads

    def _build_student(self, good: bool) -> None:
        """One attempt at the lumbar heel hold every :data:`_DRILL_PERIOD_S`; the truth of
        what the student does goes to :attr:`attempt_truth` (no alarm is injected)."""
        rng = self._rng
        rate = self.config.rate_hz
        zone = _DRILL_ZONE
        low, high = LEVELS[_DRILL_LEVEL - 1].max_kpa, LEVELS[_DRILL_LEVEL].max_kpa
        mid = (low + high) / 2
        x0, y0 = self._drill_spot(zone)
        table_kpa, table_n = self._zone_mean_table(zone, x0, y0)
        spine = "spine_lumbar"
        slips: list[dict[str, Any]] = []
        attempts: list[float] = []
        while self._room(4.0):
            k_start = self._plan.k
            attempts.append(self._t(k_start))
            m = min(self._frames(_DRILL_S + 1.5), self._plan.n - k_start)
            t = np.arange(m) / rate
            x = np.full(m, x0)
            if good:
                t_on = rng.uniform(0.3, 0.6)
                target = mid * (1.0 + 0.04 * np.sin(2 * np.pi * rng.uniform(0.2, 0.3) * t))
                env = np.minimum(_ease((t - t_on) / 1.2), _ease((_DRILL_S + 0.5 - t) / 1.0))
                kpa = target * env
            else:
                t_on = rng.uniform(0.8, 1.2)
                over = high + rng.uniform(6.0, 9.0)
                kpa = np.interp(
                    t,
                    [0, t_on, t_on + 5.0, 10.0, 11.0, 12.0, _DRILL_S - 1.0, _DRILL_S + 0.5],
                    [0, 0, over, over, 0.5 * low + 4, 0.5 * low + 4, mid, 0],
                )
                wob = 1.0 + 0.35 * np.sin(2 * np.pi * rng.uniform(0.35, 0.45) * t)
                kpa = np.where(t > 12.0, kpa * wob, kpa)
                # the slip: the heel drifts onto the lumbar spine, lightly, and back
                s0 = rng.uniform(16.0, 18.0)
                u = np.clip(
                    np.minimum((t - s0) / 0.5, (s0 + 2.0 - t) / 0.5), 0.0, 1.0
                )  # 0.5 s across, 1 s on the spine, 0.5 s back
                x = x0 + (0.0 - x0) * _ease(u)
                kpa = np.where(u > 0, np.minimum(kpa, low * (1 - 0.6 * _ease(u))), kpa)
                slips.append(
                    {
                        "zone": spine,
                        "t_start": round(self._t(k_start) + s0, 4),
                        "t_end": round(self._t(k_start) + s0 + 2.0, 4),
                    }
                )
            load = np.interp(np.maximum(kpa, 0.0), table_kpa, table_n)
            load = np.where(kpa > 0.2, load, 0.0)
            self._put(m, ((_HEEL, x, np.full(m, y0), load), None))
            rest = _DRILL_PERIOD_S - m / rate
            if self._room(rest):
                self._pause(rest)
            else:
                self._pause(self._t(self._plan.n - self._plan.k))
        while self._plan.k < self._plan.n:
            self._pause(self._t(self._plan.n - self._plan.k))
        self.attempt_truth = {
            "exercise": "lumbar-heel-hold",
            "student": "good" if good else "poor",
            "expected": "pass" if good else "fail",
            "zone": zone,
            "band_kpa": [low, high],
            "attempts_t": [round(a, 4) for a in attempts],
            "period_s": _DRILL_PERIOD_S,
            "faults": []
            if good
            else ["overshoot", "unsteady", f"forbidden zone {spine}", "time in band"],
            "slips": slips,
        }

    # ------------------------------------------------------------------ rendering
    def _make_bar_noise(self, rng: np.random.Generator) -> F64:
        n = self.n_frames
        t = np.arange(n) / self.config.rate_hz
        sway = np.zeros((n, 2))
        for i in range(2):
            f = rng.uniform(0.1, 0.3, size=2)
            ph = rng.uniform(0.0, 2 * np.pi, size=2)
            sway[:, i] = (
                0.0075
                * self.weight_n
                * (np.sin(2 * np.pi * f[0] * t + ph[0]) + np.sin(2 * np.pi * f[1] * t + ph[1]))
            )
        out: F64 = sway + rng.normal(0.0, 3.0, size=(n, 2))
        return out

    def foot_load_n(self, k0: int = 0, k1: int | None = None) -> F64:
        """Ground-truth load on the client per frame (both feet), N."""
        out: F64 = self._plan.load[k0:k1].sum(axis=1)
        return out

    def _paste(self, out: F64, k0: int, k1: int, blur: bool = False) -> None:
        pl = self._plan
        rows, cols = self.grid.shape
        flat_out = out.reshape(-1)  # a view: ``out`` is a fresh contiguous chunk
        for foot in range(2):
            con = pl.contact[k0:k1, foot]
            load = pl.load[k0:k1, foot]
            active = (con >= 0) & (load > 0)
            if not active.any():
                continue
            fi = np.flatnonzero(active)
            br, bc, q = self._locate(pl.x[k0 + fi, foot], pl.y[k0 + fi, foot])
            for c in np.unique(con[fi]):
                for qq in np.unique(q[con[fi] == c]):
                    sel = (con[fi] == c) & (q == qq)
                    patches = self._blurred if blur and self._blurred else self._patches
                    patch = patches[int(c)][int(qq)]
                    h, w = patch.kpa_per_n.shape
                    f = fi[sel]
                    r = br[sel][:, None, None] + patch.r0 + np.arange(h)[None, :, None]
                    cc = bc[sel][:, None, None] + patch.c0 + np.arange(w)[None, None, :]
                    vals = load[f][:, None, None] * patch.kpa_per_n[None]
                    ok = (r >= 0) & (r < rows) & (cc >= 0) & (cc < cols)  # [m, h, w]
                    # flat positions in ``out`` (one index array instead of three broadcasts)
                    flat = (f[:, None, None] * rows + r) * cols + cc
                    np.add.at(flat_out, flat[ok], vals[ok])

    def _build_blurred(self) -> list[list[_Patch]]:
        """Contacts as seen through the body by a mat under the client (Gaussian, 40 mm)."""
        p = self.config.pitch_mm
        sigma = 40.0 / p
        half = math.ceil(3 * sigma)
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        k /= k.sum()
        out: list[list[_Patch]] = []
        for row in self._patches:
            new_row = []
            for patch in row:
                a = np.pad(patch.kpa_per_n, half)
                a = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 0, a)
                a = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 1, a)
                new_row.append(_Patch(a, patch.r0 - half, patch.c0 - half, float(a.max())))
            out.append(new_row)
        return out

    def _client_body(self) -> F64:
        """The prone client's own pressure on a mat under them (smooth synthetic body), kPa."""
        xs, ys = self.grid.centres()
        zm = self.zone_map
        lm = zm.landmarks
        hw = zm.half_width(ys)
        # weight per length along the body: chest and pelvis carry most (prone lying)
        bumps = (
            (lm.t12 * 0.45, 0.20 * lm.height_mm * 0.5, 1.0),
            (lm.coccyx, 0.06 * lm.height_mm, 1.1),
            (lm.popliteal, 0.04 * lm.height_mm, 0.6),
            (lm.ankle - 0.05 * lm.height_mm, 0.08 * lm.height_mm, 0.5),
        )
        along = np.full_like(ys, 0.15)
        for mu, sd, amp in bumps:
            along += amp * np.exp(-0.5 * ((ys - mu) / sd) ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            across = np.where(hw > 0, np.clip(1.0 - (np.abs(xs) / hw) ** 4, 0.0, 1.0), 0.0)
        legs = ys > lm.gluteal_fold
        gap = 0.05 * lm.half_shoulder
        across = np.where(legs & (np.abs(xs) < gap + self.config.pitch_mm / 2), 0.0, across)
        body = along * across
        weight = self.config.client_weight_kg * G
        area = self.config.pitch_mm**2 * 1e-3
        out: F64 = body * (weight / (body.sum() * area))
        return out

    def chunks(
        self, chunk_frames: int = 100, first_frames: int | None = None
    ) -> Iterator[SimChunk]:
        """Render the session in chunks of ``chunk_frames`` frames (fewer where dropped), the
        first of ``first_frames`` (default ``chunk_frames``).

        The frames do not depend on the chunking: noise is drawn frame by frame in order,
        and every call renders the same session again.
        """
        if chunk_frames < 1:
            raise InputError(f"chunk_frames: must be positive, got {chunk_frames}")
        first = chunk_frames if first_frames is None else first_frames
        if first < 1:
            raise InputError(f"first_frames: must be positive, got {first_frames}")
        rate = self.config.rate_hz
        noise = np.random.default_rng(self._mat_seed)  # every call replays the same session
        stale: F32 | None = None
        starts = [0, *range(first, self.n_frames, chunk_frames)]
        for k0, k1 in zip(starts, [*starts[1:], self.n_frames], strict=True):
            if k0 >= k1:
                continue
            m = k1 - k0
            p = np.zeros((m, *self.grid.shape))
            self._paste(p, k0, k1, blur=self._body is not None)
            if self._body is not None:
                p += self._body
            # only loaded sensels (> 0; all others are exactly +0.0) get noise and the
            # threshold: one pass to find them instead of three over the whole chunk
            flat = p.reshape(-1)
            hit = np.flatnonzero(flat > 0)
            vals = flat[hit] * (1.0 + 0.03 * noise.standard_normal(hit.size))
            vals[vals < _SENSOR_THRESHOLD_KPA] = 0.0
            flat[hit] = vals
            pressure = p.astype(np.float32)
            stale = self._apply_faults(pressure, k0, k1, stale)
            load = self.foot_load_n(k0, k1)
            bars_total = self.weight_n - load
            share = self._plan.bar_left[k0:k1]
            bars = np.stack([bars_total * share, bars_total * (1.0 - share)], axis=1)
            bars = np.maximum(bars + self._bar_noise[k0:k1], 0.0).astype(np.float32)
            keep = self._keep[k0:k1]
            counters = np.arange(k0, k1, dtype=np.int64)[keep]
            if counters.size == 0:
                continue
            yield SimChunk(counters, counters / rate, pressure[keep], bars[keep])

    def _apply_faults(self, p: F32, k0: int, k1: int, stale: F32 | None) -> F32 | None:
        for f in self._faults:
            a, b = max(f.k0, k0), min(f.k1, k1)
            if a >= b and not (f.kind == "stale" and k0 <= f.k0 - 1 < k1):
                continue
            sl = slice(a - k0, b - k0)
            if f.kind == "stale":
                if k0 <= f.k0 - 1 < k1:
                    stale = p[f.k0 - 1 - k0].copy()
                if a < b and stale is not None:
                    p[sl] = stale
            elif f.kind == "dead_row":
                p[sl, f.row, :] = np.nan
            elif f.kind == "saturation":
                r0, r1, c0, c1 = f.cells
                p[sl, r0:r1, c0:c1] = self.config.sensor_max_kpa
            elif f.kind == "nan_burst":
                for i in range(a, b):
                    sub = np.random.default_rng([self.config.seed, i])
                    p[i - k0][sub.random(p.shape[1:]) < 0.08] = np.nan
        return stale
