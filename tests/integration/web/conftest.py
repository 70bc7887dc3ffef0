"""Fixtures of the web app tests: a real PostgreSQL server, databases on both backends, users.

The PostgreSQL server is Debian's (``/usr/lib/postgresql/*/bin``), started once per session in
a throw-away directory (run as ``postgres`` when the tests run as root) on a free loopback
port, and stopped at the end. Missing binaries fail the tests loudly: they are never skipped.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from webhelpers import PASSWORDS, login, make_client

from ashiguard.adapters.db import Database, sqlite_url
from ashiguard.bootstrap import make_app
from ashiguard.entrypoints.web.security import create_user
from ashiguard.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PostgresServer:
    """A throw-away PostgreSQL cluster; ``new_database()`` clones a migrated template."""

    def __init__(self) -> None:
        initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not initdbs:
            pytest.fail(
                "PostgreSQL binaries not found (/usr/lib/postgresql/*/bin/initdb): "
                "install Debian's postgresql package (make system-deps)"
            )
        self.bin = Path(initdbs[-1]).parent
        self.tmp = Path(tempfile.mkdtemp(prefix="ashiguard-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres", "postgres")
        self.data = self.tmp / "data"
        self.port = _free_port()
        self._n = count()
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        opts = (
            f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                opts,
                "-l",
                str(self.tmp / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self.admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._sql("CREATE DATABASE ag_template")
        tpl = Database(self.url("ag_template"))
        tpl.migrate()
        tpl.dispose()

    def _run(self, cmd: list[str]) -> None:
        r = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, cwd=self.tmp)
        if r.returncode != 0:
            pytest.fail(f"{Path(cmd[0]).name} failed: {r.stderr.strip() or r.stdout.strip()}")

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def new_database(self, migrated: bool = True) -> str:
        name = f"ag_test_{next(self._n)}"
        self._sql(f"CREATE DATABASE {name}" + (" TEMPLATE ag_template" if migrated else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        assert re.fullmatch(r"ag_test_\d+", name)
        self._sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            ),
            capture_output=True,
            cwd=self.tmp,
        )
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """argon2id with a small cost in tests (the app's default costs ~0.1 s per hash)."""
    from argon2 import PasswordHasher

    from ashiguard.entrypoints.web import security

    saved = security._hasher, security._DUMMY_HASH
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    security._DUMMY_HASH = security._hasher.hash("timing-only")
    yield
    security._hasher, security._DUMMY_HASH = saved


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty (unmigrated) database on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.sqlite3")
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    url = server.new_database(migrated=False)
    yield url
    server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database on each backend (SQLite file, or a fresh PostgreSQL database)."""
    if request.param == "sqlite":
        database = request.getfixturevalue("migrated_sqlite")(tmp_path / "ashiguard.sqlite3")
        yield database
        database.dispose()
        return
    shared: Database = request.getfixturevalue("pg_database")
    _truncate_all(shared)
    yield shared


def _truncate_all(database: Database) -> None:
    from sqlalchemy import text

    from ashiguard.adapters.db.models import Base

    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def pg_database(pg_server: PostgresServer) -> Iterator[Database]:
    """One migrated PostgreSQL database for the session, emptied before each test."""
    url = pg_server.new_database()
    database = Database(url)
    yield database
    database.dispose()
    pg_server.drop_database(url)


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db.url)


@pytest.fixture
def users(db: Database) -> dict[str, int]:
    """One user per role (username = role), passwords in PASSWORDS."""
    out = {}
    with db.session() as s:
        for role, pw in PASSWORDS.items():
            out[role] = create_user(s, role, pw, role, role.replace("_", " ").title()).id
    return out


@pytest.fixture
def app(settings: Settings, db: Database, users: dict[str, int]) -> Iterator[Any]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    application = make_app(settings, db)
    yield application
    application.state.live.stop_all()


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    with make_client(app) as c:
        yield c


@pytest.fixture
def as_role(app: Any) -> Iterator[Any]:
    """``as_role("owner")`` -> a TestClient logged in as that role."""
    opened: list[Any] = []

    def _make(role: str) -> Any:
        c = make_client(app)
        c.__enter__()
        opened.append(c)
        r = login(c, role)
        assert r.status_code == 303, r.text
        return c

    yield _make
    for c in opened:
        c.__exit__(None, None, None)
