"""Where the clinic's data lives and which servers it uses: plain values, read once.

Every entrypoint reads its settings here (``Settings.from_env``) and hands them to the composition
root (:mod:`ashiguard.bootstrap`), which builds the database, the broker and the app from them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ashiguard.domain.errors import InputError

__all__ = [
    "BROKER_URL_ENV",
    "CLINIC_NAME_ENV",
    "COLOUR_SCALE_ENV",
    "DATABASE_URL_ENV",
    "TRUSTED_PROXIES_ENV",
    "Settings",
]

DATABASE_URL_ENV = "ASHIGUARD_DATABASE_URL"
BROKER_URL_ENV = "ASHIGUARD_BROKER_URL"
CLINIC_NAME_ENV = "ASHIGUARD_CLINIC_NAME"
COLOUR_SCALE_ENV = "ASHIGUARD_COLOUR_SCALE_KPA"
TRUSTED_PROXIES_ENV = "ASHIGUARD_TRUSTED_PROXIES"


def _sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{Path(path).resolve()}"


@dataclass(frozen=True)
class Settings:
    """Where the clinic's data lives.

    ``database_url`` defaults to ``ASHIGUARD_DATABASE_URL`` or else an SQLite file
    ``DATA_DIR/ashiguard.sqlite3``; recordings go to ``DATA_DIR/recordings``. ``broker_url``
    (``ASHIGUARD_BROKER_URL``) is empty for the embedded, in-process broker (one machine, one
    ``serve``) or a ``redis://HOST:PORT/DB`` URL for live sessions run by ``ashiguard worker``.
    ``colour_scale_kpa`` (``ASHIGUARD_COLOUR_SCALE_KPA``, default 100) is the clinic's fixed top
    of the live and review colour scale, kPa. ``trusted_proxies`` (``ASHIGUARD_TRUSTED_PROXIES``,
    ``serve --trusted-proxy``) lists the reverse proxies whose ``X-Forwarded-For`` is believed
    (comma-separated addresses; empty: none, the TCP peer is the client). ``clinic_name``
    (``ASHIGUARD_CLINIC_NAME``) is printed on exported records (report and record PDFs).
    """

    data_dir: Path
    database_url: str = ""
    session_hours: float = 12.0
    secure_cookies: bool = False
    broker_url: str = ""
    colour_scale_kpa: float = 100.0
    trusted_proxies: str = ""
    clinic_name: str = "ashiguard clinic"

    @classmethod
    def from_env(cls, data_dir: Path | str, **kw: object) -> Settings:
        url = os.environ.get(DATABASE_URL_ENV, "")
        kw.setdefault("broker_url", os.environ.get(BROKER_URL_ENV, ""))
        kw.setdefault("trusted_proxies", os.environ.get(TRUSTED_PROXIES_ENV, ""))
        name = os.environ.get(CLINIC_NAME_ENV, "").strip()
        if name:
            kw.setdefault("clinic_name", name[:200])
        scale = os.environ.get(COLOUR_SCALE_ENV)
        if scale and "colour_scale_kpa" not in kw:
            try:
                kw["colour_scale_kpa"] = float(scale)
            except ValueError:
                raise InputError(f"{COLOUR_SCALE_ENV}: not a number of kPa: {scale!r}") from None
        value = kw.get("colour_scale_kpa", 100.0)
        if not isinstance(value, int | float) or not 10.0 <= float(value) <= 1000.0:
            raise InputError(f"--colour-scale-kpa: must be 10 to 1000 kPa, got {value!r}")
        return cls(data_dir=Path(data_dir), database_url=url, **kw)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return self.database_url or _sqlite_url(self.data_dir / "ashiguard.sqlite3")

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"
