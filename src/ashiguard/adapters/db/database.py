"""Engine, sessions and programmatic Alembic migrations for the clinic database.

SQLite (default): one file in the data directory, WAL journal, foreign keys on.
PostgreSQL: any ``postgresql+psycopg://`` URL (psycopg 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ashiguard.adapters.db import audit_chain

__all__ = ["Database", "alembic_config", "sqlite_url"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite+pysqlite:///{Path(path).resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def alembic_config(url: str) -> Any:
    """An Alembic ``Config`` for the shipped migrations against ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """One database: an engine, a session factory and its migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            # many requests wait on SQLite's one writer at once: enough connections that they
            # wait on the busy timeout in order, not on the pool (whose own timeout -> 503)
            kwargs.update(pool_size=20, max_overflow=60, pool_timeout=20)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_timeout=20, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        audit_chain.install(self._factory)

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (creates every table on an empty database)."""
        from alembic import command

        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def downgrade(self, revision: str = "base") -> None:
        """Downgrade the schema to ``revision`` (``base`` drops every table)."""
        from alembic import command

        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)

    def new_session(self) -> Session:
        """A new session (the caller commits, rolls back and closes it)."""
        return self._factory()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        s = self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
