"""Faults attacked on a real running clinic (issue 16): `ashiguard serve` killed mid-session.

The server is a real ``ashiguard serve`` subprocess over the test's data directory and
database (SQLite, and PostgreSQL started by the fixtures). It is killed with SIGKILL while a
live session records, then started again on the same data directory and database.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from liveserver import client_from, free_port, log_in
from test_web_sessions import _clinic, _intake, _start
from webhelpers import PASSWORDS

from ashiguard.adapters.db.models import TreatmentSession
from ashiguard.adapters.recording import open_recording
from ashiguard.settings import Settings

pytestmark = pytest.mark.slow


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[str]:
    """``ashiguard serve`` on ``port``, answering once this returns."""
    env = {**os.environ, "ASHIGUARD_DATABASE_URL": settings.url, "ASHIGUARD_BROKER_URL": ""}
    with open(log, "a") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ashiguard",
                "serve",
                "--data-dir",
                str(settings.data_dir),
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)


@contextmanager
def _reaping(procs: list[Any]) -> Iterator[list[Any]]:
    """Kill, at the end, whichever of the processes this test started is still running
    (``subprocess.Popen`` objects are waited for as well)."""
    try:
        yield procs
    finally:
        for p in procs:
            with suppress(psutil.Error, ProcessLookupError):
                p.kill()
            if isinstance(p, subprocess.Popen):
                p.wait(30)


def _recorded_frames(path: Path) -> int:
    if not path.is_file():
        return 0
    try:
        with open_recording(path) as rec:
            return int(rec.meta.frames)
    except Exception:  # not yet switched to SWMR mode
        return 0


def test_a_server_killed_mid_session_and_restarted_ends_the_session_and_analyses_its_recording(
    settings: Settings, db: Any, users: Any
) -> None:
    ids = _clinic(db)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = settings.data_dir / "serve.log"
    port = free_port()
    server = _serve(settings, port, log)
    with _reaping([server]) as started:
        with client_from(f"http://127.0.0.1:{port}") as c:
            assert log_in(c, "therapist", PASSWORDS["therapist"]).status_code == 303
            _intake(c, ids["client_id"])
            r = _start(c, ids, source="sim:mixed")
            assert r.status_code == 303, r.text
            sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
        path = settings.recordings_dir / f"session-{sid:06d}.h5"
        deadline = time.monotonic() + 30
        while _recorded_frames(path) < 200 and time.monotonic() < deadline:
            time.sleep(0.2)  # some 2 s of the session recorded
        children = psutil.Process(server.pid).children(recursive=True)
        started.extend(children)
        server.send_signal(signal.SIGKILL)
        killed_at_frames = _recorded_frames(path)
        assert server.wait(30) == -signal.SIGKILL
        assert killed_at_frames >= 200

        # the same data directory and database, at once (the orphaned session process may
        # still be closing its recording)
        again = _serve(settings, port, log)
        started.append(again)
        with db.session() as s:
            t = s.get(TreatmentSession, sid)
            status, meta, summary, alerts = t.status, t.recording_meta, t.summary, t.alerts
        assert status == "ended"
        assert meta["error"] == "server stopped during the session"
        assert summary is not None and summary["frames"] >= killed_at_frames - 100
        assert isinstance(alerts, list)
        assert meta["frames"] >= killed_at_frames - 100  # at most 1 s of 100 Hz lost
        with open_recording(path) as rec:
            assert rec.meta.frames == meta["frames"]
            times, pressure = rec.read()
            assert len(times) == len(pressure) == meta["frames"]
        with client_from(f"http://127.0.0.1:{port}") as c:
            assert log_in(c, "therapist", PASSWORDS["therapist"]).status_code == 303
            page = c.get(f"/sessions/{sid}")
            assert page.status_code == 200
            assert "server stopped during the session" in page.text
