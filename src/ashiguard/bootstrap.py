"""The composition root: wires settings, the clinic database and the web app.

The CLI (``serve``, ``admin``), the benchmarks and the tests all build the app through here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ashiguard.adapters.db import Database, sqlite_url
from ashiguard.domain.errors import InputError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["Settings", "make_app", "open_database"]

DATABASE_URL_ENV = "ASHIGUARD_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    """Where the clinic's data lives.

    ``database_url`` defaults to ``ASHIGUARD_DATABASE_URL`` or else an SQLite file
    ``DATA_DIR/ashiguard.sqlite3``; recordings go to ``DATA_DIR/recordings``.
    """

    data_dir: Path
    database_url: str = ""
    session_hours: float = 12.0
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, data_dir: Path | str, **kw: object) -> Settings:
        url = os.environ.get(DATABASE_URL_ENV, "")
        return cls(data_dir=Path(data_dir), database_url=url, **kw)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir / "ashiguard.sqlite3")

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """Create the data directory, open the database and bring its schema up to date."""
    url = settings.url
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise InputError(f"{DATABASE_URL_ENV}: unsupported database URL scheme in {url[:30]!r}")
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--data-dir: cannot create {settings.data_dir}: {exc.strerror}") from exc
    db = Database(url)
    if migrate:
        db.migrate()
    return db


def make_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """The clinic web app over ``db`` (opened and migrated from ``settings`` when omitted)."""
    from ashiguard.entrypoints.web.app import create_app

    return create_app(settings, db or open_database(settings))
