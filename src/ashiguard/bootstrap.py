"""The composition root: wires settings, the clinic database and the web app.

The CLI (``serve``, ``admin``), the benchmarks and the tests all build the app through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ashiguard.adapters.db import Database
from ashiguard.domain.errors import InputError
from ashiguard.settings import DATABASE_URL_ENV, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["make_app", "open_database"]


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
