"""Shared fixtures: the ../shared folder and a subprocess runner for the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project (real vendor files and public datasets)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}: clone the project beside shared/")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


def _run_cli(
    *args: str, input: str | None = None, timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # one width for rich's tables, whatever the parent says (an xdist worker says 80)
    env["COLUMNS"] = "120"
    return subprocess.run(
        [sys.executable, "-m", "ashiguard", *map(str, args)],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or PROJECT_ROOT,
        env=env,
    )


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head, made once per test session (per xdist worker)."""
    from ashiguard.adapters.db import Database, sqlite_url

    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    database = Database(sqlite_url(path))
    database.migrate()
    database.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def migrated_sqlite(_migrated_sqlite_template: Path) -> Callable[[Path], Any]:
    """``migrated_sqlite(path)`` -> a ``Database`` on a new SQLite file at ``path`` holding the
    schema at head: a byte copy of a file migrated once, the same as ``Database(...).migrate()``
    (the migrations write no rows) without running Alembic for every test."""
    import shutil

    from ashiguard.adapters.db import Database, sqlite_url

    def _make(path: Path) -> Any:
        for suffix in ("", "-wal"):
            src = _migrated_sqlite_template.with_name(_migrated_sqlite_template.name + suffix)
            if src.exists():
                shutil.copyfile(src, path.with_name(path.name + suffix))
        return Database(sqlite_url(path))

    return _make


@pytest.fixture(scope="session")
def run_cli() -> CliRunner:
    """Run ``ashiguard ARGS...`` in a subprocess; returns the CompletedProcess (text)."""
    return _run_cli


class RedisServer:
    """A throw-away Debian ``redis-server`` on a free loopback port (no persistence)."""

    def __init__(self, workdir: Path) -> None:
        import shutil
        import socket

        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail(
                "redis-server is not installed: run `make test` (scripts/install-system-deps.sh)"
            )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.exe = exe
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import time

        import redis

        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def flush(self) -> None:
        import redis

        client = redis.Redis(port=self.port)
        client.flushall()
        client.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis server for the whole test session; flushed by ``redis_url``."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis database (the session's server, flushed)."""
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.flush()
    return redis_server.url
