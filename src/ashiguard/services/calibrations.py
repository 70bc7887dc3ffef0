"""The clinic's calibration files (counts -> kPa) for sensors that give raw counts.

Where they are kept: ``DATA_DIR/calibrations/NAME.json`` or ``.csv``, next to the recordings a
session can replay. The owner uploads them on the rooms and equipment page (or puts them
there by hand); each is checked with :func:`ashiguard.domain.zeroing.parse_calibration` when
it is saved, and again for the sensor's grid when a session that uses it starts. A session
carries the file's text in its spec (a worker needs no copy of the folder), and its recording
keeps the factors it used (``/mat`` attrs ``calibration*``).

Notes
-----
A grid-sized check needs the sensor: on upload a per-sensel file is checked for the grid it
describes itself (the rows and columns it lists); a file made for another sheet is refused when
the session starts, naming both grids. Raw counts are never called kPa: a session on a raw
source without a calibration stays in counts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ashiguard.adapters.db import repo
from ashiguard.domain.errors import InputError
from ashiguard.domain.zeroing import Calibration, parse_calibration
from ashiguard.services.uow import Actor, UnitOfWork, require_role

__all__ = [
    "MAX_CALIBRATION_BYTES",
    "calibration_choices",
    "calibrations_dir",
    "check_calibration",
    "read_calibration",
    "save_calibration",
]

OWNER_ROLES = ("owner",)
MAX_CALIBRATION_BYTES = 2 * 1024 * 1024
"""Largest calibration file, bytes (a 512 x 256 per-sensel CSV is about 2 MB)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,78}\.(json|csv)$")


def calibrations_dir(recordings_dir: Path) -> Path:
    """``DATA_DIR/calibrations`` (the sibling of ``DATA_DIR/recordings``)."""
    return Path(recordings_dir).parent / "calibrations"


def _grid_of(text: str, name: str) -> tuple[int, int]:
    """The grid a calibration file describes itself (1 x 1 for one global factor)."""
    body = text.lstrip("\ufeff").strip()
    if body.startswith("{"):
        try:
            doc = json.loads(body)
        except json.JSONDecodeError:
            return 1, 1  # parse_calibration names the line
        value = doc.get("kpa_per_count") if isinstance(doc, dict) else None
        if isinstance(value, list) and value and isinstance(value[0], list):
            return len(value), max(1, len(value[0]))
        return 1, 1
    rows = cols = 1
    for line in body.splitlines()[1:]:
        cells = [c.strip() for c in line.split(",")]
        if len(cells) == 3 and cells[0].isdigit() and cells[1].isdigit():
            rows, cols = max(rows, int(cells[0]) + 1), max(cols, int(cells[1]) + 1)
    return min(rows, 4096), min(cols, 4096)


def check_calibration(text: str, name: str) -> Calibration:
    """Validate a calibration file's text (one-line :class:`InputError` naming the file and
    the field or line) for the grid it describes."""
    rows, cols = _grid_of(text, name)
    return parse_calibration(text, name, rows, cols)


def _check_name(name: str) -> str:
    name = Path(str(name)).name.strip()
    if not _NAME.match(name):
        raise InputError(
            "calibration: the file name must end in .json or .csv and use letters, digits, "
            f"spaces, dots, dashes or underscores (got {name[:40]!r})"
        )
    return name


def calibration_choices(folder: Path) -> list[tuple[str, str]]:
    """(file name, label) of the clinic's calibration files; the label says the factor and
    where it came from."""
    out: list[tuple[str, str]] = []
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        if not p.is_file() or not _NAME.match(p.name):
            continue
        try:
            cal = check_calibration(p.read_text(encoding="utf-8"), p.name)
        except (InputError, OSError, UnicodeDecodeError):
            continue  # a broken file is not offered (the upload refuses those)
        factor = (
            f"{float(cal.kpa_per_count.flat[0]):g} kPa per count" if cal.is_global else "per sensel"
        )
        label = f"{p.name} ({factor}" + (f", {cal.source}" if cal.source else "") + ")"
        out.append((p.name, label))
    return out


def read_calibration(folder: Path, name: str) -> tuple[str, str]:
    """(name, text) of a stored calibration file, checked; :class:`InputError` naming
    ``calibration`` when there is none of that name or it is not valid."""
    name = _check_name(name)
    path = folder / name
    if not path.is_file():
        raise InputError(f"calibration: no calibration file {name!r} in the data directory")
    text = path.read_text(encoding="utf-8")
    check_calibration(text, name)
    return name, text


def save_calibration(
    uow: UnitOfWork, folder: Path, name: str, data: bytes, actor: Actor | None, ip: str
) -> str:
    """Store an uploaded calibration file (owner; audited); a file of the same name is
    replaced. Returns its name. :class:`InputError`: bad name, too large, not UTF-8 text,
    or not a valid ``ashiguard.calibration/1`` file (the reason in one line)."""
    require_role(actor, OWNER_ROLES, "upload calibration files")
    name = _check_name(name)
    if len(data) > MAX_CALIBRATION_BYTES:
        raise InputError(
            f"calibration: {name} is larger than {MAX_CALIBRATION_BYTES // (1024 * 1024)} MB"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"calibration: {name} is not UTF-8 text (JSON or CSV)") from None
    cal = check_calibration(text, name)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.part"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(folder / name)
    factor = f"{float(cal.kpa_per_count.flat[0]):g}" if cal.is_global else "per sensel"
    repo.audit(
        uow.session, actor, "create", "calibration", name, ip=ip, detail=f"kPa per count {factor}"
    )
    return name
