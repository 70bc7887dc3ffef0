"""``ashiguard bench web``: live sessions over WebSockets and the client list, on a real server.

The app runs as ``ashiguard serve`` in a subprocess (SQLite in a temporary data directory), so
the browser-like clients of this process do not share its interpreter. Measured:

- ``web_frames_dropped``: view frames the server published for a session (at most 20 per second
  of stream time, numbered) that its WebSocket client never received (gaps in the numbers),
  summed over 8 sessions of 100 Hz simulated frames (``sim:mixed``) streamed for 60 s (10 s
  with ``--quick``);
- ``web_alarm_p99_ms``: p99 of the time from the due time of the frame that raised an alarm
  (on the paced source's clock: the first frame is due when it arrives, every later one
  ``t / speed`` after it) to the alarm message arriving at the client;
- ``web_client_list_pages_per_s``: pages of the client list (25 per page, 5,000 clients) one
  logged-in HTTP client gets per second, walking every page over one keep-alive connection
  (``http.client``: a lean client, since it shares the machine's cores with the server).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ashiguard.bench import BenchResult

__all__ = ["PASSWORD", "SESSIONS", "USERNAME", "run", "seed_clinic", "start_serve"]

SESSIONS = 8
USERNAME = "bench"
PASSWORD = "bench-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_clinic(data: Path, n_clients: int, n_live: int = SESSIONS) -> list[int]:
    """A bench clinic in ``data``: a therapist user; ``n_live`` screened clients who signed
    the consent (their ids are returned), each with a certified practitioner and an inspected
    room of the same id (one client, therapist and room per live session); ``n_clients``
    more clients."""
    from ashiguard.adapters.db import SqlUnitOfWork, repo
    from ashiguard.adapters.db.models import Client, Practitioner
    from ashiguard.bootstrap import open_database
    from ashiguard.services.clinic import store_intake
    from ashiguard.services.clinic_admin import add_user
    from ashiguard.services.consent import sign_consent
    from ashiguard.services.uow import Actor
    from ashiguard.settings import Settings

    today = date.today()
    db = open_database(Settings(data_dir=data, database_url=""))
    with SqlUnitOfWork(db) as uow:
        s = uow.session
        owner = Actor.of(add_user(s, USERNAME, PASSWORD, "therapist", "Bench"))
        live_ids = []
        for i in range(n_live):  # one therapist and one room per live client: no overlaps
            pr = Practitioner(
                name=f"Bench Therapist {i}",
                technique="ashiatsu",
                certification="Guild",
                certified_on=today - timedelta(days=10),
                certified_until=today + timedelta(days=300),
                training_hours=100,
                mass_kg=65.0,
                active=True,
            )
            s.add(pr)
            room = repo.add_room_with_bars(
                s,
                f"Bench room {i}",
                ("left", "right"),
                rated_load_n=3000.0,
                inspected_on=today,
                inspector="bench",
            )
            c = Client(ref=f"b-{i:05d}", name=f"Live {i}", created_at=repo.utcnow())
            s.add(c)
            s.flush()
            # the bench starts live client i with therapist i in room i: one id for all three
            assert c.id == pr.id == room.id, (c.id, pr.id, room.id)
            intake = {
                "schema": "ashiguard.intake/1",
                "date": today.isoformat(),
                "client": {"id": c.ref, "height_cm": 170, "weight_kg": 70},
            }
            store_intake(uow, c.id, intake, [], owner, "bench")
            sign_consent(uow, c.id, {"typed_name": c.name, "agreed": "yes"}, owner, "bench")
            live_ids.append(c.id)
        now = repo.utcnow()
        s.bulk_insert_mappings(  # type: ignore[attr-defined]
            Client,
            [
                {
                    "ref": f"c-{i:06d}",
                    "name": f"Client {i:05d}",
                    "sex": "",
                    "phone": "",
                    "email": "",
                    "created_at": now,
                }
                for i in range(n_clients)
            ],
        )
    db.dispose()
    return live_ids


def start_serve(data: Path) -> tuple[subprocess.Popen[str], str]:
    """A real ``ashiguard serve`` on ``data`` (SQLite there, whatever the environment says)
    on a free loopback port, answering ``/healthz``; returns the process and its base URL.
    The caller stops it (:func:`stop_serve`). Raises when it does not come up in 60 s."""
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ASHIGUARD_DATABASE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ashiguard", "serve", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"bench: the web server on {base} did not start")
        time.sleep(0.2)


def _login(http: Any) -> None:
    page = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = http.post(
        "/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if r.status_code != 303:
        raise RuntimeError(f"bench login refused: {r.status_code}")


def _csrf(http: Any, path: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', http.get(path).text)
    assert m is not None
    return m.group(1)


def _start_sessions(http: Any, client_ids: list[int]) -> list[int]:
    ids = []
    for cid in client_ids:
        token = _csrf(http, f"/sessions/new?client_id={cid}")
        r = http.post(
            "/sessions/new",
            data={
                "csrf_token": token,
                "client_id": cid,
                "practitioner_id": cid,  # the client's own therapist and room (seed_clinic)
                "room_id": cid,
                "source": "sim:mixed",
            },
        )
        if r.status_code != 303:
            raise RuntimeError(f"bench: session start refused ({r.status_code}): {r.text[:300]}")
        ids.append(int(r.headers["location"].rsplit("/", 1)[1]))
    return ids


async def _client(url: str, cookie: str, origin: str, seconds: float, out: dict[str, Any]) -> None:
    from websockets.asyncio.client import connect

    frames = 0
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    async with connect(
        url, additional_headers={"Cookie": cookie, "Origin": origin}, max_size=None
    ) as ws:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=left)
            except TimeoutError:
                break
            now = time.time()
            m = json.loads(raw)
            if m["type"] == "frame":
                frames += 1
                out.setdefault("first_seq", m["seq"])
                out["last_seq"] = m["seq"]
            elif (
                m["type"] == "alarm"
                and m["event"].get("action") == "raised"
                and m.get("frame_wall")
            ):
                latencies.append((now - m["frame_wall"]) * 1e3)
    out["frames"] = frames
    out["latencies"] = latencies


async def _stream(
    base: str, cookie: str, session_ids: list[int], seconds: float
) -> list[dict[str, Any]]:
    ws_base = base.replace("http://", "ws://")
    results: list[dict[str, Any]] = [{} for _ in session_ids]
    await asyncio.gather(
        *(
            _client(f"{ws_base}/sessions/{sid}/ws", cookie, base, seconds, results[i])
            for i, sid in enumerate(session_ids)
        )
    )
    return results


def _pages_per_s(port: int, cookie: str, n_clients: int, seconds: float) -> tuple[float, int]:
    """Walk the client list over one keep-alive connection, as a browser does.

    A lean client (``http.client``, about 0.5 ms of CPU per request against 2 ms for httpx):
    it shares the machine's cores with the server, so its own cost would be measured too.
    """
    import http.client

    pages = max(1, n_clients // 25)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie, "Accept": "text/html"}

    def get(page: int) -> None:
        conn.request("GET", f"/clients?page={page}", headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"client list answered {r.status}")

    try:
        get(1)
        done = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            get(1 + done % pages)
            done += 1
        return done / (time.perf_counter() - t0), done
    finally:
        conn.close()


def run(quick: bool) -> list[BenchResult]:
    import httpx

    seconds = 10.0 if quick else 60.0
    n_clients = 5000
    with tempfile.TemporaryDirectory(prefix="ashiguard-bench-web-") as tmp:
        data = Path(tmp)
        live_clients = seed_clinic(data, n_clients)
        proc, base = start_serve(data)
        port = int(base.rsplit(":", 1)[1])
        try:
            with httpx.Client(base_url=base, timeout=30.0) as http:
                _login(http)
                cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
                rate, pages = _pages_per_s(port, cookie, n_clients, 3.0 if quick else 10.0)
                session_ids = _start_sessions(http, live_clients)
                results = asyncio.run(_stream(base, cookie, session_ids, seconds))
                published = [  # views the server published while the client was connected
                    r["last_seq"] - r["first_seq"] + 1 if r.get("frames") else 0 for r in results
                ]
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    received = sum(r.get("frames", 0) for r in results)
    dropped = max(0, sum(published) - received)
    lat = np.array([x for r in results for x in r.get("latencies", [])])
    p99 = float(np.percentile(lat, 99)) if lat.size else float("nan")
    return [
        BenchResult(
            "web_frames_dropped",
            float(dropped),
            "frames",
            0,
            "lower",
            f"{SESSIONS} sessions x 100 Hz, {seconds:g} s, {received} view frames received "
            f"(views thinned to 20/s)",
        ),
        BenchResult(
            "web_alarm_p99_ms",
            p99,
            "ms",
            100,
            "lower",
            f"{lat.size} alarms raised across {SESSIONS} sessions, frame due time to client"
            + (
                f" (p50 {np.percentile(lat, 50):.1f}, p90 {np.percentile(lat, 90):.1f}, "
                f"max {lat.max():.1f} ms)"
                if lat.size
                else ""
            ),
        ),
        BenchResult(
            "web_client_list_pages_per_s",
            rate,
            "pages/s",
            200,
            "higher",
            f"{pages} pages of 25 from {n_clients} clients, one keep-alive http.client connection",
        ),
    ]
