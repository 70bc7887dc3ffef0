"""Contact models, load bookkeeping and stress at depth (pure).

Units: force N, pressure kPa (1 N/mm² = 1000 kPa), lengths mm, areas cm² where the name says
so, mass kg, g = 9.80665 m/s².

Contact areas are those of a body part pressed into a soft, curved back, which are larger than
the same part on a rigid floor. Values and their standing (measured vs. estimate) are listed in
:data:`CONTACTS` and in docs/zones-and-mechanics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import fft as sfft

from ashiguard.domain.errors import InputError
from ashiguard.domain.zones import Grid

try:  # the C++ pocketfft behind scipy.fft, called directly on preallocated arrays
    from scipy.fft._pocketfft import pypocketfft as _pocketfft
except ImportError:  # pragma: no cover - DepthStress then goes through scipy.fft
    _pocketfft = None

__all__ = [
    "CONTACTS",
    "ContactModel",
    "ContactRow",
    "DepthStress",
    "G",
    "LoadShare",
    "boussinesq_rect",
    "circular_axis_sigma_z",
    "client_load",
    "contact_table",
    "mean_pressure_kpa",
    "render_contact",
]

G = 9.80665
"""Standard gravity, m/s²."""

Profile = Literal["uniform", "parabolic", "hertz"]
_PEAK = {"uniform": 1.0, "parabolic": 2.0, "hertz": 1.5}


def _number(name: str, value: object, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(f"{name}: must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{name}: must be finite, got {v!r}")
    if positive and v <= 0:
        raise InputError(f"{name}: must be > 0, got {v:g}")
    if nonneg and v < 0:
        raise InputError(f"{name}: must be >= 0, got {v:g}")
    return v


@dataclass(frozen=True)
class ContactModel:
    """An elliptical contact patch with a pressure profile.

    Parameters
    ----------
    name : str
        ``foot``, ``heel``, ``forefoot``, ``elbow``, ``forearm`` or ``thumb``.
    area_cm2 : float
        Contact area, cm².
    aspect : float
        Length / width of the ellipse (length along the body part's long axis).
    profile : {"uniform", "parabolic", "hertz"}
        Pressure over the patch as a function of the normalised radius ρ: uniform 1,
        parabolic 1 - ρ², hertz sqrt(1 - ρ²) (peak 1, 2 and 1.5 times the mean).
    source : str
        Where the area comes from.
    estimate : bool
        True where the value is the project's estimate rather than a measurement.
    """

    name: str
    area_cm2: float
    aspect: float
    profile: Profile
    source: str
    estimate: bool = True

    @property
    def area_mm2(self) -> float:
        """Contact area, mm²."""
        return self.area_cm2 * 100.0

    @property
    def semi_axes_mm(self) -> tuple[float, float]:
        """(a, b): semi-axes along and across the long axis, mm."""
        b = math.sqrt(self.area_mm2 / (math.pi * self.aspect))
        return (self.aspect * b, b)

    @property
    def peak_factor(self) -> float:
        """Peak pressure / mean pressure of the profile."""
        return _PEAK[self.profile]


CONTACTS: dict[str, ContactModel] = {
    c.name: c
    for c in (
        ContactModel(
            "foot",
            120.0,
            2.6,
            "uniform",
            "whole-foot plantar contact of an adult standing barefoot is about 100-150 cm² "
            "(e.g. McPoil, Vicenzino & Cornwall 2009, J Foot Ankle Res 2:18; Cavanagh, Rodgers "
            "& Iiboshi 1987, Foot Ankle 7:262); 120 cm² chosen for a foot conforming to a back",
        ),
        ContactModel(
            "heel",
            35.0,
            1.3,
            "hertz",
            "rearfoot share of the plantar footprint, about 30-45 cm² (Cavanagh et al. 1987); "
            "rounded calcaneal fat pad -> Hertz-like profile",
        ),
        ContactModel(
            "forefoot",
            50.0,
            0.6,
            "uniform",
            "forefoot (metatarsal heads and toes) about 40-60 cm² (Cavanagh et al. 1987); "
            "wider than long",
        ),
        ContactModel(
            "elbow",
            7.0,
            1.2,
            "hertz",
            "olecranon contact about 5-10 cm²: project estimate from the olecranon's size "
            "(about 2.5 x 3 cm), bony indenter -> Hertz-like profile",
        ),
        ContactModel(
            "forearm",
            40.0,
            4.0,
            "uniform",
            "ulnar border of the forearm about 30-50 cm² (project estimate: 14 x 3.5 cm)",
        ),
        ContactModel(
            "thumb",
            2.5,
            1.3,
            "parabolic",
            "thumb pad about 2-3 cm² (project estimate from pad size, consistent with the "
            "1 cm² tips of pressure algometers being smaller than a thumb)",
        ),
    )
}
"""The contact models, by name. All values are documented estimates (see each ``source``)."""


def _contact(contact: ContactModel | str) -> ContactModel:
    if isinstance(contact, ContactModel):
        return contact
    try:
        return CONTACTS[contact]
    except KeyError:
        raise InputError(
            f"contact: unknown contact {contact!r}; one of {', '.join(CONTACTS)}"
        ) from None


def mean_pressure_kpa(load_n: float, contact: ContactModel | str) -> float:
    """Mean contact pressure, kPa, of ``load_n`` newtons over the contact's area.

    Parameters
    ----------
    load_n : float
        Load pressing the contact into the client, N (>= 0).
    contact : ContactModel or str
        The contact (or its name in :data:`CONTACTS`).
    """
    load = _number("load_n", load_n, nonneg=True)
    return load / _contact(contact).area_mm2 * 1000.0


def render_contact(
    contact: ContactModel | str,
    load_n: float,
    grid: Grid,
    x_mm: float,
    y_mm: float,
    angle_deg: float = 0.0,
) -> npt.NDArray[np.float32]:
    """Pressure pattern (kPa) of one contact on a sensor grid.

    Parameters
    ----------
    contact : ContactModel or str
        The contact patch.
    load_n : float
        Load through the contact, N (>= 0).
    grid : Grid
        Sensor grid placed in the body frame.
    x_mm, y_mm : float
        Body-frame position of the patch centre, mm.
    angle_deg : float
        Angle of the patch's long axis from the body's +y axis (toward the feet) turning
        toward +x (client's left), deg.

    Returns
    -------
    ndarray of float32, [rows, cols]
        Mean pressure on each sensel, kPa. Force is conserved: the sum of pressure x sensel
        area equals ``load_n`` for the part of the patch that lies on the grid.
    """
    c = _contact(contact)
    load = _number("load_n", load_n, nonneg=True)
    x0 = _number("x_mm", x_mm)
    y0 = _number("y_mm", y_mm)
    ang = math.radians(_number("angle_deg", angle_deg))
    a, b = c.semi_axes_mm
    step = min(grid.pitch_mm / 4.0, b / 6.0)
    step = max(step, a / 400.0)
    u = np.arange(-a + step / 2, a, step)
    v = np.arange(-b + step / 2, b, step)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    rho2 = (uu / a) ** 2 + (vv / b) ** 2
    inside = rho2 < 1.0
    if c.profile == "uniform":
        w = inside.astype(np.float64)
    elif c.profile == "parabolic":
        w = np.where(inside, 1.0 - rho2, 0.0)
    else:
        w = np.sqrt(np.clip(1.0 - rho2, 0.0, None))
    w = w[inside]
    force = w * (load / w.sum())
    # long axis u along +y rotated toward +x by the angle
    px = x0 + uu[inside] * math.sin(ang) + vv[inside] * math.cos(ang)
    py = y0 + uu[inside] * math.cos(ang) - vv[inside] * math.sin(ang)
    r, col = grid.to_sensel(px, py)
    ri = np.rint(r).astype(np.int64)
    ci = np.rint(col).astype(np.int64)
    on = (ri >= 0) & (ri < grid.rows) & (ci >= 0) & (ci < grid.cols)
    per = np.bincount(
        ri[on] * grid.cols + ci[on], weights=force[on], minlength=grid.rows * grid.cols
    )
    kpa = per.reshape(grid.rows, grid.cols) / grid.pitch_mm**2 * 1000.0
    return kpa.astype(np.float32)


# -- load bookkeeping -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadShare:
    """How the therapist's weight is shared between the bars and the client.

    Attributes
    ----------
    weight_n : float
        Therapist's weight, N (mass x g).
    bars_n : float
        Load carried by the overhead bars, N (positive when a bar carries load).
    client_n : float
        Load resting on the client, N (weight - bars).
    fraction : float
        client_n / weight_n, the share of body weight on the client (0-1).
    """

    weight_n: float
    bars_n: float
    client_n: float
    fraction: float


def client_load(
    therapist_mass_kg: float, bar_forces_n: Sequence[float] = (), *, tolerance_n: float = 0.0
) -> LoadShare:
    """Load on the client: the therapist's weight minus what the bars carry (static balance).

    Parameters
    ----------
    therapist_mass_kg : float
        Therapist's body mass, kg (> 0).
    bar_forces_n : sequence of float
        Force each overhead bar carries, N; positive when the bar carries load (the therapist
        hangs on it). Negative values are refused: a bar cannot push the therapist down.
    tolerance_n : float
        Bars may carry up to this much more than the weight (sensor noise, N); the client load
        is then 0. Beyond it the input is refused.

    Notes
    -----
    Static balance only: while the therapist accelerates (steps, bounces) the load on the
    client differs from weight - bars by mass x acceleration.
    """
    mass = _number("therapist_mass_kg", therapist_mass_kg, positive=True)
    if mass > 300:
        raise InputError(f"therapist_mass_kg: {mass:g} kg is not a plausible body mass")
    tol = _number("tolerance_n", tolerance_n, nonneg=True)
    bars = 0.0
    for i, f in enumerate(bar_forces_n):
        v = _number(f"bar_forces_n[{i}]", f)
        if v < 0:
            raise InputError(f"bar_forces_n[{i}]: {v:g} N is negative; bars only carry load")
        bars += v
    weight = mass * G
    if bars > weight + tol:
        raise InputError(
            f"bar_forces_n: bars carry {bars:.1f} N, more than the therapist's weight "
            f"{weight:.1f} N"
        )
    client = max(0.0, weight - bars)
    return LoadShare(weight_n=weight, bars_n=bars, client_n=client, fraction=client / weight)


# -- stress at depth ------------------------------------------------------------------------


def _corner(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], z: float
) -> npt.NDArray[np.float64]:
    """Holl's corner function: σz/q under the corner of a uniformly loaded x-by-y rectangle."""
    r = np.sqrt(x * x + y * y + z * z)
    xy = x * y
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.arctan2(xy, z * r) + xy * z / r * (1.0 / (x * x + z * z) + 1.0 / (y * y + z * z))
    return np.asarray(val / (2.0 * np.pi), dtype=np.float64)


def boussinesq_rect(
    x1: npt.ArrayLike, x2: npt.ArrayLike, y1: npt.ArrayLike, y2: npt.ArrayLike, z_mm: float
) -> npt.NDArray[np.float64]:
    """σz / q at depth z under the origin for a unit uniform load on [x1, x2] x [y1, y2].

    Parameters
    ----------
    x1, x2, y1, y2 : array_like
        Rectangle bounds relative to the point's surface projection, mm.
    z_mm : float
        Depth, mm (> 0).

    Notes
    -----
    Exact integral of the Boussinesq point-load kernel 3 z³ / (2π R⁵) over the rectangle
    (Holl 1940; Poulos & Davis, *Elastic Solutions for Soil and Rock Mechanics*, 1974, 3.1).
    """
    z = _number("z_mm", z_mm, positive=True)
    ax1, ax2 = np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64)
    ay1, ay2 = np.asarray(y1, dtype=np.float64), np.asarray(y2, dtype=np.float64)
    return _corner(ax2, ay2, z) - _corner(ax1, ay2, z) - _corner(ax2, ay1, z) + _corner(ax1, ay1, z)


def circular_axis_sigma_z(q_kpa: float, radius_mm: float, z_mm: float) -> float:
    """σz (kPa) on the axis of a uniform circular load q of radius a at depth z (closed form).

    σz = q [1 - (1 + (a/z)²)^(-3/2)]  (Poulos & Davis 1974, 3.3.1).
    """
    q = _number("q_kpa", q_kpa)
    a = _number("radius_mm", radius_mm, positive=True)
    z = _number("z_mm", z_mm, positive=True)
    return q * (1.0 - float((1.0 + (a / z) ** 2) ** -1.5))


class DepthStress:
    """Vertical stress σz at given depths under a surface pressure map (Boussinesq, by FFT).

    Parameters
    ----------
    shape : tuple of int
        (rows, cols) of the pressure maps.
    pitch_mm : float
        Sensel pitch, mm (square sensels; each sensel's pressure is uniform over it).
    depths_mm : sequence of float
        Depths below the skin, mm (> 0).
    reach : float
        The kernel extends ``reach`` x depth from the load in each direction (default 6);
        the force falling outside is below ``(1 + reach²)^(-3/2)`` (0.44 % for 6).

    Notes
    -----
    Model: linear, homogeneous, isotropic elastic half-space with a flat surface (Boussinesq
    1885). It ignores the layers of the back (skin, fat, muscle, fascia), bone and ribs that
    carry and deflect load, the curvature of the body, the table underneath (a half-space has
    no bottom) and shear at the skin. Use it to compare contacts and loads with each other, not
    as a prediction of the stress in a given organ. Each sensel is a uniformly loaded square:
    the kernel is the exact rectangle integral of the point-load kernel, so the total vertical
    force at every depth equals the applied force (minus the truncated tail,
    :attr:`kernel_force_fraction`). Sensels that do not report (NaN) count as 0 kPa, which
    underestimates stress near them: whoever feeds frames must flag such frames separately.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        pitch_mm: float,
        depths_mm: Sequence[float],
        reach: float = 6.0,
    ) -> None:
        if len(shape) != 2 or not all(
            isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 1 for n in shape
        ):
            raise InputError(f"shape: must be (rows, cols) of positive integers, got {shape!r}")
        self.shape = (int(shape[0]), int(shape[1]))
        self.pitch_mm = _number("pitch_mm", pitch_mm, positive=True)
        if len(depths_mm) == 0:
            raise InputError("depths_mm: give at least one depth")
        self.depths_mm = tuple(
            _number(f"depths_mm[{i}]", d, positive=True) for i, d in enumerate(depths_mm)
        )
        reach = _number("reach", reach, positive=True)
        p = self.pitch_mm
        self.halo = math.ceil(reach * max(self.depths_mm) / p)
        k = self.halo
        rows, cols = self.shape
        edges = (np.arange(-k, k + 2, dtype=np.float64) - 0.5) * p
        kernels = []
        for z in self.depths_mm:
            f = _corner(edges[:, None], edges[None, :], z)
            kernels.append(f[1:, 1:] - f[:-1, 1:] - f[1:, :-1] + f[:-1, :-1])
        self._kernels = np.stack(kernels)
        self.kernel_force_fraction: tuple[float, ...] = tuple(float(kern.sum()) for kern in kernels)
        """Share of a sensel's force that the truncated kernel spreads at each depth (≈ 1)."""
        # The cropped result needs an FFT of rows + halo (outputs inside the grid never alias);
        # the widened plane of :meth:`extended` needs rows + 2 halo.
        self.fft_shape = (
            sfft.next_fast_len(rows + k, real=True),
            sfft.next_fast_len(cols + k, real=True),
        )
        self._spectra = self._kernel_spectra(self.fft_shape)
        self._spectra_by_rows = self._kernel_spectra(self.fft_shape, real_axis=0)
        self._extended: tuple[tuple[int, int], npt.NDArray[np.complex64]] | None = None

    def _kernel_spectra(
        self, shape: tuple[int, int], real_axis: int = 1
    ) -> npt.NDArray[np.complex64]:
        """rfft2 of every kernel wrapped onto an FFT grid of ``shape`` (single precision),
        the real (half-length) transform along ``real_axis``."""
        k = self.halo
        idx = np.arange(-k, k + 1)
        rows = (idx % shape[0])[:, None]
        cols = (idx % shape[1])[None, :]
        spectra = []
        for kern in self._kernels:
            wrapped = np.zeros(shape)
            np.add.at(wrapped, (rows, cols), kern)
            spectra.append(sfft.rfftn(wrapped, axes=(1 - real_axis, real_axis), workers=1))
        # single precision halves the FFT time; relative error ~1e-6, far below the model's
        return np.stack(spectra).astype(np.complex64)

    def _checked(self, pressure: npt.ArrayLike) -> npt.NDArray[np.float32]:
        q = np.asarray(pressure, dtype=np.float32)
        if q.ndim not in (2, 3) or q.shape[-2:] != self.shape:
            raise InputError(
                f"pressure: expected shape {self.shape} or (frames, *{self.shape}), got {q.shape}"
            )
        if not np.isfinite(q).all():
            if np.isinf(q).any():
                raise InputError("pressure: contains infinite values")
            q = np.where(np.isnan(q), np.float32(0.0), q)
        return q

    def _convolve(
        self,
        q: npt.NDArray[np.float32],
        shape: tuple[int, int],
        spectra: npt.NDArray[np.complex64],
    ) -> npt.NDArray[np.float32]:
        spec = sfft.rfft2(q, s=shape, workers=1)
        out = sfft.irfft2(spec[..., None, :, :] * spectra, s=shape, workers=1)
        return np.asarray(out, dtype=np.float32)

    def _convolve_cropped(self, q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """σz inside the grid only, by 1-D transforms that skip the work outside it.

        The same convolution as :meth:`_convolve` (single precision; the two agree to about
        3e-7 of the peak), with the real transform along the rows: it runs only over the
        ``cols`` input columns (the padding is zero), the inverse real transform only over
        the ``cols`` output columns that are kept, and pocketfft is called without
        scipy.fft's per-call argument handling (together about a third of the time of a
        128 x 48 frame at three depths).
        """
        rows, cols = self.shape
        if _pocketfft is None:  # pragma: no cover - scipy without its pocketfft module
            return self._convolve(q, self.fft_shape, self._spectra)[..., :rows, :cols]
        fr, fc = self.fft_shape
        lead = q.shape[:-2]
        ax = len(lead)  # axis of the rows
        padded = np.zeros((*lead, fr, cols), dtype=np.float32)
        padded[..., :rows, :] = q
        spec = np.empty((*lead, fr // 2 + 1, fc), dtype=np.complex64)
        spec[..., cols:] = 0
        _pocketfft.r2c(padded, (ax,), True, 0, spec[..., :cols], 1)
        _pocketfft.c2c(spec, (ax + 1,), True, 0, spec, 1)
        prod = spec[..., None, :, :] * self._spectra_by_rows
        _pocketfft.c2c(prod, (ax + 2,), False, 2, prod, 1)
        out = np.empty((*lead, len(self.depths_mm), fr, cols), dtype=np.float32)
        _pocketfft.c2r(prod[..., :cols], (ax + 1,), fr, False, 2, out, 1)
        return out[..., :rows, :]

    def __call__(self, pressure: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """σz (kPa) under each sensel at each depth.

        Parameters
        ----------
        pressure : array_like, kPa
            ``[rows, cols]`` or ``[frames, rows, cols]`` surface pressure. NaN (a sensel not
            reporting) counts as 0 kPa; infinite values are refused.

        Returns
        -------
        ndarray of float32, kPa
            ``[depth, rows, cols]`` (or ``[frames, depth, rows, cols]``), computed in single
            precision (relative error about 1e-6 of the peak).
        """
        return self._convolve_cropped(self._checked(pressure))

    def extended(self, pressure: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """σz (kPa) on the grid widened by :attr:`halo` sensels on every side.

        Element ``[..., halo + i, halo + j]`` lies under input sensel ``[i, j]``; the widened
        plane holds all the stress the truncated kernels produce (for force checks).
        """
        rows, cols = self.shape
        k = self.halo
        if self._extended is None:
            shape = (
                sfft.next_fast_len(rows + 2 * k, real=True),
                sfft.next_fast_len(cols + 2 * k, real=True),
            )
            self._extended = (shape, self._kernel_spectra(shape))
        shape, spectra = self._extended
        full = self._convolve(self._checked(pressure), shape, spectra)
        full = np.roll(full, (k, k), axis=(-2, -1))
        return full[..., : rows + 2 * k, : cols + 2 * k]


# -- contact comparison table ---------------------------------------------------------------


@dataclass(frozen=True)
class ContactRow:
    """One contact at one load: area, mean surface pressure and peak σz by depth."""

    contact: str
    area_cm2: float
    mean_kpa: float
    peak_sigma_z_kpa: dict[float, float]


def contact_table(
    load_n: float,
    depths_mm: Sequence[float] = (20.0, 45.0, 80.0),
    contacts: Sequence[str] = tuple(CONTACTS),
    pitch_mm: float = 2.0,
) -> list[ContactRow]:
    """Compare contacts at the same load: area, mean pressure and peak σz at each depth.

    Parameters
    ----------
    load_n : float
        Load through each contact, N (> 0).
    depths_mm : sequence of float
        Depths, mm (default 20, 45 (about the lumbar spinal canal), 80 (about the kidney)).
    contacts : sequence of str
        Contact names from :data:`CONTACTS`.
    pitch_mm : float
        Resolution of the rendering used for σz, mm.
    """
    load = _number("load_n", load_n, positive=True)
    models = [_contact(c) for c in contacts]
    reach_mm = max(m.semi_axes_mm[0] for m in models) + 2 * pitch_mm
    n = 2 * math.ceil(reach_mm / pitch_mm) + 1
    half = (n - 1) / 2 * pitch_mm
    grid = Grid(n, n, pitch_mm, origin_mm=(-half, -half))
    stress = DepthStress((n, n), pitch_mm, depths_mm)
    rows = []
    for m in models:
        sigma = stress(render_contact(m, load, grid, 0.0, 0.0))
        peaks = {d: float(sigma[i].max()) for i, d in enumerate(stress.depths_mm)}
        rows.append(ContactRow(m.name, m.area_cm2, mean_pressure_kpa(load, m), peaks))
    return rows
