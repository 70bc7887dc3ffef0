"""What every importer returns, unit conversion and line-numbered errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError

__all__ = [
    "KPA_PER_UNIT",
    "MAX_GRID_CELLS",
    "MAX_SAMPLES",
    "AuxChannel",
    "Format",
    "ImportedRecording",
    "InsoleSeries",
    "SourceText",
    "check_grid_size",
    "kpa_scale",
    "parse_length_mm",
    "parse_number",
    "to_float32",
    "unit_of",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

MAX_GRID_CELLS = 1_000_000
"""Most sensels one grid frame may declare (1000 x 1000; real mats have a few thousand)."""
MAX_SAMPLES = 2**28
"""Most values (frames x sensels) one import may hold: 1 GiB as float32."""
_F32_MAX = float(np.finfo(np.float32).max)

# kPa per unit of the source (None: raw sensor units, kept as they are).
KPA_PER_UNIT: dict[str, float | None] = {
    "kpa": 1.0,
    "mpa": 1000.0,
    "mmhg": 0.133322,
    "psi": 6.89476,
    "n/cm2": 10.0,
    "n/cm²": 10.0,
    "kg/cm2": 98.0665,
    "raw": None,
}


def kpa_scale(unit: str, where: str) -> float | None:
    """kPa per source unit (``None`` for raw units); InputError naming ``where`` if unknown."""
    key = unit.strip().lower().replace(" ", "")
    if key not in KPA_PER_UNIT:
        known = ", ".join(KPA_PER_UNIT)
        raise InputError(f"{where}: pressure unit {unit.strip()!r} not supported ({known})")
    return KPA_PER_UNIT[key]


_LENGTH_MM = {
    "mm": 1.0,
    "millimeters": 1.0,
    "millimetres": 1.0,
    "cm": 10.0,
    "centimeters": 10.0,
    "centimetres": 10.0,
    "in": 25.4,
    "inch": 25.4,
    "inches": 25.4,
    "m": 1000.0,
}


def parse_length_mm(text: str, where: str) -> float:
    """``'5.08 mm'`` / ``'0.127 centimeters'`` -> mm (> 0)."""
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([A-Za-z]+)\s*", text)
    if not m or m.group(2).lower() not in _LENGTH_MM:
        raise InputError(f"{where}: length {text.strip()!r} is not a number with mm/cm/inches")
    try:
        value = float(m.group(1)) * _LENGTH_MM[m.group(2).lower()]
    except ValueError:
        raise InputError(f"{where}: length {text.strip()!r} is not a number") from None
    if not value > 0:
        raise InputError(f"{where}: length {text.strip()!r} must be > 0")
    return value


def check_grid_size(where: str, rows: int, cols: int, frames: int = 1) -> None:
    """Refuse a declared grid (or frame count) too large to be a real sensor, before anything
    is allocated for it.

    Raises
    ------
    InputError
        ``where: grid 100000 x 100000 is larger than 1,000,000 sensels ...``.
    """
    if rows * cols > MAX_GRID_CELLS:
        raise InputError(
            f"{where}: grid {rows} x {cols} is larger than {MAX_GRID_CELLS:,} sensels "
            "(not a real sensor export?)"
        )
    if frames * rows * cols > MAX_SAMPLES:
        raise InputError(
            f"{where}: {frames:,} frames of {rows} x {cols} are more than {MAX_SAMPLES:,} "
            "values; split the export"
        )


def to_float32(
    values: npt.NDArray[Any], scale: float | None, where: Callable[[tuple[int, ...]], str]
) -> F32:
    """``values`` (x ``scale``, None: as they are) as float32; NaN (no sensel) is kept.

    Raises
    ------
    InputError
        A value that is infinite or beyond float32 (3.4e38) once scaled, naming where it is
        (``where(index)``, e.g. ``fscan.asf: frame 12``).
    """
    v = np.asarray(values, dtype=np.float64)
    if scale is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            v = v * scale
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(v) <= _F32_MAX) & ~np.isnan(v)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raw = float(np.asarray(values, dtype=np.float64)[index])
        raise InputError(
            f"{where(index)}: value {raw:g} is not finite or too large "
            f"(more than {_F32_MAX:.3g} once in kPa)"
        )
    return v.astype(np.float32)


@dataclass(frozen=True)
class InsoleSeries:
    """One foot of an insole recording.

    Attributes
    ----------
    time : [K] s.
    force : [K] N, total force on the insole (NaN when the export does not give it).
    pressure : [K, S] kPa per sensor, or None.
    cop_mm / cop_norm : [K, 2] centre of pressure in mm / in the insole's normalised units.
    sensor_ids : sensor numbers as the vendor numbers them (columns of ``pressure``).
    attrs : further ``/insoles/<side>`` attrs (tare offsets and window, drift removed).
    """

    side: str
    time: F64
    force: F32
    pressure: F32 | None = None
    cop_mm: F32 | None = None
    cop_norm: F32 | None = None
    sensor_ids: tuple[int, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuxChannel:
    """Auxiliary time series an export carries beside the pressures (IMU, force, centre of
    pressure, columns the importer does not know), stored as ``/aux/<name>``.

    Attributes
    ----------
    name : group name (``left_imu``, ``force_cop``, ``extras``).
    time : [K] s.
    values : [K, C] float32, NaN = no value in that sample.
    columns : the C column names as the export names them.
    units : the C units as the export gives them (``g``, ``dps``, ``N``, ``cm``; ``""`` unknown).
    """

    name: str
    time: F64
    values: F32
    columns: tuple[str, ...]
    units: tuple[str, ...]


_UNIT = re.compile(r"^(.*?)\s*\[([^\]]*)\]\s*$")


def unit_of(column: str) -> tuple[str, str]:
    """``'left acceleration X[g]'`` -> (``'left acceleration X'``, ``'g'``).

    A name without ``[unit]`` has unit ``''``.
    """
    m = _UNIT.match(column)
    return (m.group(1).strip(), m.group(2).strip()) if m else (column.strip(), "")


def parse_number(text: str) -> float:
    """A number as exports write it: ``'1.5'``, ``'1e3'``, and a decimal comma ``'1,5'``.

    Raises
    ------
    ValueError
        Not a number.
    """
    try:
        return float(text)
    except ValueError:
        t = text.strip()
        if t.count(",") == 1 and "." not in t:
            return float(t.replace(",", "."))
        raise


@dataclass
class ImportedRecording:
    """A vendor export converted to ashiguard units, ready for :func:`write_imported`.

    Attributes
    ----------
    pressure : [N, rows, cols] float32 in ``units`` (kPa, or raw counts), NaN = no sensel; or
        None for insole-only exports.
    time : [N] s.
    pitch_mm : mm, column spacing; ``row_pitch_mm`` the row spacing when it differs.
    placement : ``on_client`` / ``under_client`` / ``foot`` / ``other``; ``side`` for ``foot``.
    units : ``kPa`` or ``raw``; ``scale_to_kpa`` the factor applied (None for raw).
    header : the export's header fields (kept as ``/mat`` attr ``source_header``).
    aux : auxiliary channels (``/aux/<name>``); annotations : text cells of the export as
        ``{"t": s, "column": name, "text": ...}`` (``/annotations/events``).
    sensor_max_kpa : the sensor's full scale when the export states it (Tekscan
        ``SATURATION_PRESSURE``), kPa; ``/mat`` attr ``sensor_max_kpa``.
    sensel_faults : dead / stuck / saturated sensels found on import
        (``domain.sensel_faults.SenselFault``), ``/mat`` attr ``sensel_faults``.
    mat_attrs : further ``/mat`` attrs (tare offsets and window, calibration).
    """

    source_format: str
    source_path: str
    pressure: F32 | None
    time: F64 | None
    pitch_mm: float | None
    placement: str = "other"
    side: str | None = None
    row_pitch_mm: float | None = None
    units: str = "kPa"
    source_units: str = "kPa"
    scale_to_kpa: float | None = 1.0
    insoles: dict[str, InsoleSeries] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    client: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    aux: dict[str, AuxChannel] = field(default_factory=dict)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    sensor_max_kpa: float | None = None
    sensel_faults: list[Any] | None = None
    mat_attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        """Number of grid frames (0 for insole-only data)."""
        return 0 if self.pressure is None else int(self.pressure.shape[0])

    @property
    def shape(self) -> tuple[int, int] | None:
        """Grid (rows, cols), or None."""
        if self.pressure is None:
            return None
        return int(self.pressure.shape[1]), int(self.pressure.shape[2])


class SourceText:
    """A text export split into lines, with errors that name the file and line."""

    def __init__(self, path: str | Path, text: str) -> None:
        self.path = str(path)
        self.name = Path(path).name
        self.lines = text.splitlines()

    def error(self, lineno: int | None, what: str) -> InputError:
        """InputError ``NAME: line N: what`` (1-based line)."""
        where = f"{self.name}: line {lineno}" if lineno else self.name
        return InputError(f"{where}: {what}")

    def floats(self, lineno: int, fields: list[str], what: str) -> F64:
        """Parse ``fields`` as floats; error names the line and the bad field."""
        if len(_TOKENS) > 500_000:
            _TOKENS.clear()
        try:
            return np.fromiter(map(_TOKENS.__getitem__, fields), np.float64, len(fields))
        except ValueError:
            bad = next(x for x in fields if not _is_float(x))
            raise self.error(lineno, f"{what}: {bad.strip()!r} is not a number") from None


class _Tokens(dict[str, float]):
    """Text -> float cache: exports repeat the same few thousand numbers millions of times."""

    def __missing__(self, key: str) -> float:
        value = parse_number(key)
        self[key] = value
        return value


_TOKENS = _Tokens()


def _is_float(x: str) -> bool:
    try:
        parse_number(x)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Format:
    """One importable export format."""

    name: str
    description: str
    detect: Callable[[str], bool]
    read: Callable[[SourceText, str | None], ImportedRecording]
