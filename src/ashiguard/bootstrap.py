"""The composition root: wires settings, the clinic database, the broker and the web app.

The CLI (``serve``, ``worker``, ``admin``), the benchmarks and the tests all build what they
run through here; every dependency can be passed in (tests pass fakes), and nothing else
decides which adapter serves a port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ashiguard.adapters.db import Database, SqlUnitOfWork
from ashiguard.domain.errors import InputError
from ashiguard.settings import DATABASE_URL_ENV, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ashiguard.services.live_sessions import LiveSessions
    from ashiguard.services.ports import Broker
    from ashiguard.services.worker import Worker

__all__ = ["make_app", "make_broker", "make_live_sessions", "make_worker", "open_database"]


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


def make_broker(settings: Settings) -> Broker:
    """The broker of ``settings.broker_url``: Redis, or the embedded in-process one."""
    if settings.broker_url:
        from ashiguard.adapters.broker.redis import RedisBroker

        return RedisBroker.from_url(settings.broker_url)
    from ashiguard.adapters.broker import InProcessBroker

    return InProcessBroker()


def make_live_sessions(
    settings: Settings, db: Database, broker: Broker | None = None, speed: float = 1.0
) -> LiveSessions:
    """The clinic's live sessions: in child processes of this one (no broker URL), or on
    ``ashiguard worker`` processes over Redis."""
    from ashiguard.services.live_sessions import LiveSessions, RecordStore

    store = RecordStore(
        lambda: SqlUnitOfWork(db), settings.recordings_dir, settings.colour_scale_kpa
    )
    broker = broker or make_broker(settings)
    reaper = None
    if settings.broker_url:
        from ashiguard.adapters.broker.redis import RedisBroker, RedisLauncher, RedisWorkQueue
        from ashiguard.services.worker import Reaper, worker_id

        if not isinstance(broker, RedisBroker):
            raise InputError("--broker: a Redis broker URL needs the Redis broker")
        launcher: Any = RedisLauncher(broker)
        reaper = Reaper(RedisWorkQueue(broker.client), broker, store, "web-" + worker_id())
    else:
        from ashiguard.services.session_host import LocalLauncher

        launcher = LocalLauncher(broker, store.store_outcome)
    return LiveSessions(store, broker, launcher, speed=speed, reaper=reaper)


def make_worker(settings: Settings, db: Database, ident: str | None = None) -> Worker:
    """An ``ashiguard worker`` on ``settings.broker_url`` (Redis) and the clinic database."""
    from ashiguard.adapters.broker.redis import RedisBroker, RedisWorkQueue
    from ashiguard.services.live_sessions import RecordStore
    from ashiguard.services.worker import Worker

    if not settings.broker_url:
        raise InputError("--broker: required: redis://HOST:PORT/DB (or ASHIGUARD_BROKER_URL)")
    broker = RedisBroker.from_url(settings.broker_url)
    store = RecordStore(
        lambda: SqlUnitOfWork(db), settings.recordings_dir, settings.colour_scale_kpa
    )
    return Worker(
        RedisWorkQueue(broker.client), broker, store, settings.recordings_dir, ident=ident
    )


def make_app(
    settings: Settings, db: Database | None = None, live: LiveSessions | None = None
) -> FastAPI:
    """The clinic web app over ``db`` (opened and migrated from ``settings`` when omitted)
    and ``live`` (built from ``settings`` when omitted)."""
    from ashiguard.entrypoints.web.app import create_app

    db = db or open_database(settings)
    return create_app(settings, db, live or make_live_sessions(settings, db))
