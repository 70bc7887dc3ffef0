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
