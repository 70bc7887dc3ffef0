"""Live sessions on `ashiguard worker` processes over a real Redis, watched from two web apps."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from test_web_sessions import _clinic, _intake, _read_until, _start
from webhelpers import csrf_of, login, make_client

from ashiguard.adapters.db.models import TreatmentSession
from ashiguard.adapters.recording import open_recording
from ashiguard.bootstrap import make_app
from ashiguard.settings import Settings

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _worker(settings: Settings, redis_url: str, name: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ASHIGUARD_DATABASE_URL": settings.url,
        "ASHIGUARD_BROKER_URL": redis_url,
    }
    log = open(settings.data_dir / f"{name}.log", "w")  # noqa: SIM115 - closed by _stop
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ashiguard",
            "worker",
            "--data-dir",
            str(settings.data_dir),
            "--name",
            name,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.close()  # the child has its own copy
    return proc


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return ""


@pytest.fixture
def cluster(settings: Settings, db: Any, users: Any, redis_url: str) -> Any:
    """Two web apps (as two `serve` processes would be) and one worker on one Redis."""
    broker_settings = Settings(
        data_dir=settings.data_dir, database_url=settings.url, broker_url=redis_url
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    apps = [make_app(broker_settings, db), make_app(broker_settings, db)]
    for a in apps:
        # twice real time: a latched alarm is still active when a slow (loaded) test reads it
        a.state.live.speed = 2.0
    worker = _worker(broker_settings, redis_url, "w1")
    yield {"apps": apps, "worker": worker, "settings": broker_settings}
    _stop(worker)
    for a in apps:
        a.state.live.stop_all()
        a.state.live.broker.close()


def test_a_session_started_on_one_web_process_runs_on_a_worker_and_is_seen_on_another(cluster, db):
    a, b = cluster["apps"]
    ids = _clinic(db)
    with make_client(a) as ca, make_client(b) as cb:
        assert login(ca, "therapist").status_code == 303
        assert login(cb, "therapist").status_code == 303
        _intake(ca, ids["client_id"])
        r = _start(ca, ids, source="sim:spine")
        assert r.status_code == 303, r.text
        sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
        assert b.state.live.is_live(sid)  # the worker runs it; both web processes know
        with cb.websocket_connect(
            f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}
        ) as ws:
            init, _ = _read_until(ws, lambda m: m["type"] == "init")
            assert init["session_id"] == sid and init["zones"]
            alarm, _ = _read_until(
                ws,
                lambda m: m["type"] == "alarm" and m["event"]["action"] == "raised",
                limit_s=60,
            )
            # acknowledged on web process B, carried out by the worker, seen on B's socket
            token = csrf_of(cb, f"/sessions/{sid}")
            ack = cb.post(
                f"/sessions/{sid}/ack",
                json={"alarm_id": alarm["event"]["alarm_id"]},
                headers={"X-CSRF-Token": token},
            )
            assert ack.status_code == 200, ack.text
            _read_until(
                ws, lambda m: m["type"] == "alarm" and m["event"]["action"] == "acknowledged"
            )
            # a late viewer on web process A gets init and the active alarms at once
            with ca.websocket_connect(
                f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}
            ) as late:
                first = late.receive_json()
                second = late.receive_json()
                assert first["type"] == "init"
                assert second["type"] == "status"
        token = csrf_of(ca, f"/sessions/{sid}")
        r = ca.post(f"/sessions/{sid}/stop", data={"csrf_token": token})
        assert r.status_code == 303
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        assert t.status == "ended" and t.recording_meta["error"] is None
        assert t.recording_meta["frames"] > 100
        assert any(x["kind"] == "spine_pressure" for x in t.alerts)


def test_a_worker_killed_mid_session_leaves_an_ended_analysable_session_within_10_s(cluster, db):
    a, _b = cluster["apps"]
    ids = _clinic(db)
    with make_client(a) as ca:
        assert login(ca, "therapist").status_code == 303
        _intake(ca, ids["client_id"])
        r = _start(ca, ids, source="sim:mixed")
        sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
        with ca.websocket_connect(
            f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}
        ) as ws:
            _read_until(ws, lambda m: m["type"] == "frame")
            time.sleep(2.0)
            cluster["worker"].send_signal(signal.SIGKILL)
            killed = time.monotonic()
            ended, _ = _read_until(ws, lambda m: m["type"] == "ended", limit_s=30)
            assert time.monotonic() - killed < 10.0
            assert "stopped answering" in ended["error"]
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        assert t.status == "ended" and "stopped answering" in t.recording_meta["error"]
        path = cluster["settings"].data_dir / t.recording_path
    with open_recording(path) as rec:
        frames = rec.meta.frames
        assert frames > 100
        # at 4x speed, 2 s of wall clock are 8 s of stream: at most 1 s of it may be missing
        assert rec.times()[-1] >= 7.0 - 1.0
    assert t.summary is not None


def test_a_redis_restart_loses_nothing_recorded_and_viewers_resume(cluster, db, redis_server):
    a, _b = cluster["apps"]
    ids = _clinic(db)
    with make_client(a) as ca:
        assert login(ca, "therapist").status_code == 303
        _intake(ca, ids["client_id"])
        r = _start(ca, ids, source="sim:mixed")
        sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
        with ca.websocket_connect(
            f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}
        ) as ws:
            _read_until(ws, lambda m: m["type"] == "frame")
            redis_server.stop()
            time.sleep(1.0)
            redis_server.start()
            before = time.monotonic()
            _read_until(ws, lambda m: m["type"] == "frame", limit_s=20)
            assert time.monotonic() - before < 10.0
            # the worker still runs it: heartbeats and ownership came back with Redis
            deadline = time.monotonic() + 10
            while not a.state.live.is_live(sid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert a.state.live.is_live(sid)
        token = csrf_of(ca, f"/sessions/{sid}")
        assert ca.post(f"/sessions/{sid}/stop", data={"csrf_token": token}).status_code == 303
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        assert t.status == "ended" and t.recording_meta["error"] is None
        path = cluster["settings"].data_dir / t.recording_path
    with open_recording(path) as rec:
        counters = rec.counter()
        assert rec.meta.frames == t.recording_meta["frames"] > 100
    # every frame the source produced is in the recording: the counter has no gap of ours
    # (the simulator's own dropped frames are counted by the source and stored as such)
    assert int((counters[1:] - counters[:-1] - 1).sum()) == rec.meta.dropped_frames
