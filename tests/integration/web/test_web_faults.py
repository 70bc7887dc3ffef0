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
import numpy as np
import psutil
import pytest
from liveserver import client_from, free_port, log_in
from test_web_sessions import _clinic, _intake, _read_until, _start
from webhelpers import PASSWORDS, csrf_of

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


@contextmanager
def _small_disk(folder: Path, size_kb: int) -> Iterator[Path]:
    """A real file system of ``size_kb`` KiB mounted on ``folder`` (tmpfs; needs root)."""
    if os.geteuid() != 0:
        pytest.fail("the disk-full test mounts a small tmpfs: run it as root")
    folder.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs on {folder}: {r.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_while_recording_raises_a_technical_alarm_at_once_and_the_live_view_goes_on(
    as_role: Any, app: Any, db: Any, settings: Settings
) -> None:
    app.state.live.speed = 4.0
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    with _small_disk(settings.recordings_dir, 1024) as disk:
        # leave some 300 kB free: a few seconds of the simulated session
        (disk / "ballast.bin").write_bytes(b"\0" * (724 * 1024))
        r = _start(c, ids, source="sim:mixed")
        assert r.status_code == 303, r.text
        sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
        with c.websocket_connect(
            f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}
        ) as ws:
            alarm, _ = _read_until(
                ws,
                lambda m: m["type"] == "alarm" and m["event"].get("rule") == "recording:disk_full",
                limit_s=60,
            )
            ev = alarm["event"]
            assert (ev["action"], ev["kind"], ev["priority"]) == (
                "raised",
                "sensor_fault",
                "medium",
            )
            assert "is kept; the live view and alarms go on" in ev["source"]
            assert any(a["alarm_id"] == ev["alarm_id"] for a in alarm["active"])
            status, _ = _read_until(ws, lambda m: m["type"] == "status")
            group = next(g for g in status["groups"] if g["rule"] == "recording:disk_full")
            assert group["state"] == "active"
            assert any("Recording stopped: the disk is full" in e["text"] for e in status["log"])
            # the live view goes on: frames keep coming, newer than the alarm
            after, _ = _read_until(ws, lambda m: m["type"] == "frame" and m["t"] > ev["t"] + 1.0)
            assert after["q"]
            token = csrf_of(c, f"/sessions/{sid}")
            ack = c.post(
                f"/sessions/{sid}/ack",
                json={"alarm_id": ev["alarm_id"]},
                headers={"X-CSRF-Token": token},
            )
            assert ack.status_code == 200, ack.text
        r = c.post(f"/sessions/{sid}/stop", data={"csrf_token": token})
        assert r.status_code == 303
        with db.session() as s:
            t = s.get(TreatmentSession, sid)
            meta, summary = t.recording_meta, t.summary
        assert t.status == "ended"
        assert re.fullmatch(r"recording stopped at \d+\.\d s: the disk is full", meta["error"])
        kept_s = float(meta["error"].split()[3])
        assert meta["frames"] > 0 and summary is not None
        with open_recording(disk / f"session-{sid:06d}.h5") as rec:
            assert rec.meta.complete is False
            assert rec.meta.frames == meta["frames"]
            times, pressure = rec.read()
            assert times[-1] <= kept_s + 1e-6
            assert np.isfinite(times).all() and not np.isnan(pressure).all(axis=(1, 2)).any()
        page = c.get(f"/sessions/{sid}")
        assert "the disk is full" in page.text


def _pg_ctl(pg: Any, *args: str) -> None:
    # -l: a server started without a log file keeps this call's output pipes open
    log = str(pg.tmp / "server.log")
    cmd = [str(pg.bin / "pg_ctl"), "-D", str(pg.data), "-l", log, *args]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=pg.tmp, timeout=120)
    assert r.returncode == 0, r.stderr or r.stdout


def _pg_options(pg: Any) -> str:
    """The options the running server was started with (postmaster.opts), for a new start."""
    import shlex

    words = shlex.split((pg.data / "postmaster.opts").read_text())[1:]
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w == "-D":
            skip = True
        else:
            out.append(shlex.quote(w))
    return " ".join(out)


def _complete(path: Path) -> bool:
    try:
        with open_recording(path) as rec:
            return bool(rec.meta.complete)
    except Exception:
        return False


def _answers_or_asks_to_retry(c: Any, path: str, seen: list[int], until: float) -> int:
    """GET ``path``; a 503 must carry Retry-After and is retried until it answers."""
    while True:
        r = c.get(path)
        seen.append(r.status_code)
        assert r.status_code in (200, 503), f"{path}: {r.status_code} {r.text[:300]}"
        if r.status_code == 200:
            return r.status_code
        assert float(r.headers["retry-after"]) > 0
        assert time.monotonic() < until, f"{path}: still 503 after the database came back"
        time.sleep(0.2)


@pytest.mark.postgres
def test_a_postgresql_restart_during_a_session_answers_503_with_retry_after_never_500_and_loses_nothing(  # noqa: E501
    pg_server: Any, tmp_path: Path
) -> None:
    import threading

    from webhelpers import login, make_client

    from ashiguard.adapters.db import Database
    from ashiguard.bootstrap import make_app
    from ashiguard.entrypoints.web.security import create_user

    url = pg_server.new_database()
    db = Database(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    settings.recordings_dir.mkdir(parents=True)
    with db.session() as s:
        create_user(s, "therapist", PASSWORDS["therapist"], "therapist", "Therapist")
    app = make_app(settings, db)
    app.state.live.speed = 4.0
    try:
        ids = _clinic(db)
        with make_client(app) as c:
            assert login(c, "therapist").status_code == 303
            _intake(c, ids["client_id"])
            r = _start(c, ids, source="sim:mixed")
            sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
            paths = ["/clients", f"/sessions/{sid}", f"/api/v1/sessions/{sid}", "/api/v1/clients"]
            seen: list[int] = []
            failures: list[BaseException] = []
            done = threading.Event()

            def browse() -> None:  # a user clicking through the restart
                try:
                    while not done.is_set():
                        for p in paths:
                            _answers_or_asks_to_retry(c, p, seen, time.monotonic() + 60)
                except BaseException as exc:
                    failures.append(exc)

            user = threading.Thread(target=browse)
            user.start()
            time.sleep(1.0)
            _pg_ctl(pg_server, "-m", "fast", "-w", "restart")
            time.sleep(1.0)
            done.set()
            user.join(120)
            assert not failures, failures[0]
            assert 200 in seen
            # the session ran on: it is still live, and stopping it stores its outcome
            token = csrf_of(c, f"/sessions/{sid}")
            assert c.post(f"/sessions/{sid}/stop", data={"csrf_token": token}).status_code == 303
            got = c.get(f"/api/v1/sessions/{sid}").json()
            assert got["status"] == "ended" and got["error"] is None and got["frames"] > 100

            # a session that ends while the database is down: its outcome is stored once the
            # database is back
            _intake(c, ids["client_id"])
            token = csrf_of(c, "/sessions")
            body = {k: ids[k] for k in ("client_id", "practitioner_id", "room_id")}
            r = c.post(
                "/api/v1/sessions",
                json={**body, "source": "sim:mixed", "duration_s": 12},
                headers={"X-CSRF-Token": token},
            )
            assert r.status_code == 201, r.text
            second = r.json()["id"]
            options = _pg_options(pg_server)
            _pg_ctl(pg_server, "-m", "fast", "-w", "stop")
            try:
                path = settings.recordings_dir / f"session-{second:06d}.h5"
                deadline = time.monotonic() + 60
                while not _complete(path) and time.monotonic() < deadline:
                    time.sleep(0.1)  # 12 s of stream at 4x: about 3 s
                assert _complete(path)  # the session ended; its outcome waits for the database
                down = c.get("/api/v1/clients")
                assert down.status_code == 503 and down.headers["retry-after"]
                page = c.get("/clients")
                assert page.status_code == 503 and "try again" in page.text
            finally:
                _pg_ctl(pg_server, "-w", "-o", options, "start")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with db.session() as s:
                    t = s.get(TreatmentSession, second)
                    if t.status == "ended":
                        break
                time.sleep(0.2)
            assert (t.status, t.recording_meta["error"]) == ("ended", None)
            meta = t.recording_meta
            # every frame of the 12 s is recorded, or counted as lost by an overloaded machine
            assert meta["frames"] + meta["overflowed"] + meta["dropped"] >= 1190
            assert meta["frames"] > 0 and t.summary is not None
            with open_recording(settings.data_dir / t.recording_path) as rec:
                assert rec.meta.complete and rec.meta.frames == meta["frames"]
    finally:
        app.state.live.stop_all()
        db.dispose()
        pg_server.drop_database(url)
