"""``ashiguard bench live``: how many live sessions one machine carries, and a Redis cluster.

Both run real servers in subprocesses (SQLite in a temporary data directory) and watch every
session through a WebSocket client authenticated with an API token, as a browser would:

- ``live_sessions_max_100hz``: one ``ashiguard serve`` (the embedded default: its sessions on
  one session host process per core, each running many sessions on one tick); simulated
  128 x 48 sessions at 100 Hz are added 8 at a time (2 with ``--quick``)
  and each step is watched for ``STEP_S`` seconds. A step passes when no frame was lost (no
  source overflow: a session that falls behind its source loses frames; no gap in the view
  numbers at the clients) and the p99 from the due time of the frame that raised an alarm to the
  alarm at its client is at most 20 ms. The result is the most sessions of a passing step. Each
  step says the view frames per second and session the clients got (20, or 10 where a busy host
  slowed its views: :class:`~ashiguard.services.session_host.ViewGovernor`).
- ``cluster_alarm_p99_ms`` and ``cluster_frames_dropped``: a Debian ``redis-server``, two
  ``serve`` and two ``worker`` processes on one machine, 16 sessions at 100 Hz started through
  both web processes and each watched on both: the frame-to-alarm p99 at the clients and the
  frames lost (overflow at the sources plus view gaps at the clients).

The sessions cycle through simulator scenarios that raise alarms every few seconds (``SCENARIOS``);
frames a simulated sensor fault drops are the sensor's, counted by the source, not lost by
ashiguard.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ashiguard.bench import BenchResult
from ashiguard.bench.web import PASSWORD, USERNAME, seed_clinic

__all__ = ["run"]

STEP_S = 15.0
ALARM_GOAL_MS = 20.0
# scenarios that raise alarms every few seconds, so that every step times some alarms
SCENARIOS = ("spine", "kidney", "zone", "weight", "shift", "imbalance", "restricted", "mixed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ashiguard", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _end(procs: list[subprocess.Popen[bytes]], timeout: float = 180.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class _Api:
    """A keep-alive JSON client of one web process, with a bearer token."""

    def __init__(self, base: str) -> None:
        import httpx

        self.base = base
        self.http = httpx.Client(base_url=base, timeout=120.0)
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"bench: the web server at {base} did not start")
            time.sleep(0.2)
        r = self.http.post("/api/v1/auth/token", json={"username": USERNAME, "password": PASSWORD})
        r.raise_for_status()
        self.token = str(r.json()["token"])
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def start(self, client_id: int, scenario: str = "mixed") -> int:
        # the client's own therapist and room (seed_clinic): one live session each
        body = {"client_id": client_id, "practitioner_id": client_id, "room_id": client_id}
        r = self.http.post("/api/v1/sessions", json={**body, "source": f"sim:{scenario}"})
        if r.status_code != 201:
            raise RuntimeError(f"bench: session start refused ({r.status_code}): {r.text[:300]}")
        return int(r.json()["id"])

    def stop(self, session_id: int) -> None:
        self.http.post(f"/api/v1/sessions/{session_id}/stop")

    def close(self) -> None:
        self.http.close()


async def _watch(url: str, token: str, stop: asyncio.Event, out: dict[str, Any]) -> None:
    """One viewer: counts view frames and their numbers, times raised alarms."""
    from websockets.asyncio.client import connect

    out.update(frames=0, first_seq=None, last_seq=None, latencies=[])
    async with connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None
    ) as ws:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            now = time.time()
            m = json.loads(raw)
            if m["type"] == "frame":
                out["frames"] += 1
                if out["first_seq"] is None:
                    out["first_seq"] = m["seq"]
                out["last_seq"] = m["seq"]
            elif m["type"] == "alarm" and m["event"].get("action") == "raised":
                if m.get("frame_wall"):
                    out["latencies"].append((now - m["frame_wall"]) * 1e3)
            elif m["type"] == "ended":
                out["ended"] = m.get("error") or "ended"
                return


def _view_gaps(r: dict[str, Any]) -> int:
    if not r.get("frames"):
        return 0
    return int(r["last_seq"] - r["first_seq"] + 1 - r["frames"])


async def _watch_all(targets: list[tuple[str, str]], seconds: float) -> list[dict[str, Any]]:
    import gc

    # the measuring client's own collector pauses (~20 ms for a full collection with numpy and
    # ashiguard imported) are not the server's latency: off while it watches (the messages it
    # parses hold no reference cycles; they are freed as they are dropped)
    gc.collect()
    gc.disable()
    try:
        return await _watch_all_now(targets, seconds)
    finally:
        gc.enable()


async def _watch_all_now(targets: list[tuple[str, str]], seconds: float) -> list[dict[str, Any]]:
    stop = asyncio.Event()
    results: list[dict[str, Any]] = [{} for _ in targets]
    tasks = [
        asyncio.create_task(_watch(url, token, stop, results[i]))
        for i, (url, token) in enumerate(targets)
    ]
    await asyncio.sleep(1.0)  # connected, init received: the window starts now
    for r in results:
        r["frames"], r["first_seq"], r["latencies"] = 0, None, []
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return results


def _overflowed(data: Path, session_ids: list[int]) -> int:
    """Frames the sessions lost by falling behind their sources (stored when they ended)."""
    from ashiguard.adapters.db import Database, sqlite_url
    from ashiguard.adapters.db.models import TreatmentSession

    db = Database(sqlite_url(data / "ashiguard.sqlite3"))
    try:
        with db.session() as s:
            total = 0
            for sid in session_ids:
                t = s.get(TreatmentSession, sid)
                meta = (t.recording_meta or {}) if t is not None else {}
                total += int(meta.get("overflowed") or 0)
            return total
    finally:
        db.dispose()


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ASHIGUARD_DATABASE_URL", "ASHIGUARD_BROKER_URL")
    }
    env.update(extra)
    return env


def _max_sessions(quick: bool) -> list[BenchResult]:
    step, limit, seconds = (2, 4, 5.0) if quick else (8, 48, STEP_S)
    with tempfile.TemporaryDirectory(prefix="ashiguard-bench-live-") as tmp:
        data = Path(tmp)
        clients = seed_clinic(data, 0, limit)
        port = _free_port()
        server = _spawn(
            ["serve", "--data-dir", str(data), "--port", str(port)], _env(), data / "serve.log"
        )
        api: _Api | None = None
        running: list[int] = []
        steps: list[str] = []
        best, failed_at = 0, ""
        try:
            api = _Api(f"http://127.0.0.1:{port}")
            while len(running) < limit:
                first = len(running)
                new = clients[first : first + step]
                kinds = [SCENARIOS[(first + i) % len(SCENARIOS)] for i in range(len(new))]
                with ThreadPoolExecutor(4) as pool:
                    running += list(pool.map(api.start, new, kinds))
                ws = f"ws://127.0.0.1:{port}"
                res = asyncio.run(
                    _watch_all([(f"{ws}/sessions/{sid}/ws", api.token) for sid in running], seconds)
                )
                gaps = sum(_view_gaps(r) for r in res)
                lat = [x for r in res for x in r.get("latencies", [])]
                p99 = float(np.percentile(lat, 99)) if lat else 0.0
                ended = [r["ended"] for r in res if r.get("ended")]
                load = os.getloadavg()[0]
                # view frames per second and session at the clients (a busy host slows them)
                views = float(np.mean([r.get("frames", 0) for r in res])) / seconds
                steps.append(
                    f"{len(running)}: gaps {gaps}, p99 {p99:.1f} ms ({len(lat)} alarms), "
                    f"views {views:.0f}/s"
                )
                if gaps or ended or p99 > ALARM_GOAL_MS:
                    failed_at = f"{len(running)} failed ({steps[-1]}, load {load:.1f})"
                    break
                best = len(running)
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(api.stop, running))
        finally:
            if api is not None:
                api.close()
            _end([server])
        overflow = _overflowed(data, running)
    detail = (
        f"steps of {step} sessions x {seconds:g} s, simulated 128x48 at 100 Hz, one serve "
        f"(session hosts: one process per core): "
        + "; ".join(steps)
        + (f"; {failed_at}" if failed_at else "")
    )
    if overflow:
        detail += f"; {overflow} frames overflowed at the sources over the whole run"
    return [BenchResult("live_sessions_max_100hz", float(best), "sessions", 32, "higher", detail)]


def _cluster(quick: bool) -> list[BenchResult]:
    n, seconds = (4, 5.0) if quick else (16, 30.0)
    exe = shutil.which("redis-server")
    if exe is None:
        nan = float("nan")
        why = "redis-server not installed (scripts/install-system-deps.sh installs it)"
        return [
            BenchResult("cluster_alarm_p99_ms", nan, "ms", 50, "lower", why),
            BenchResult("cluster_frames_dropped", nan, "frames", 0, "lower", why),
        ]
    with tempfile.TemporaryDirectory(prefix="ashiguard-bench-cluster-") as tmp:
        data = Path(tmp)
        clients = seed_clinic(data, 0, n)
        rport = _free_port()
        redis = subprocess.Popen(
            [
                exe,
                "--port",
                str(rport),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        env = _env(ASHIGUARD_BROKER_URL=f"redis://127.0.0.1:{rport}/0")
        time.sleep(0.5)
        workers = [
            _spawn(
                ["worker", "--data-dir", str(data), "--name", f"bench-w{i}"],
                env,
                data / f"worker{i}.log",
            )
            for i in range(2)
        ]
        ports = [_free_port(), _free_port()]
        webs = [
            _spawn(
                ["serve", "--data-dir", str(data), "--port", str(p)], env, data / f"serve{p}.log"
            )
            for p in ports
        ]
        apis: list[_Api] = []
        sids: list[int] = []
        try:
            apis = [_Api(f"http://127.0.0.1:{p}") for p in ports]
            with ThreadPoolExecutor(4) as pool:
                sids = list(
                    pool.map(
                        lambda ic: apis[ic[0] % 2].start(ic[1], SCENARIOS[ic[0] % len(SCENARIOS)]),
                        enumerate(clients),
                    )
                )
            targets = [
                (f"ws://127.0.0.1:{p}/sessions/{sid}/ws", api.token)
                for sid in sids
                for p, api in zip(ports, apis, strict=True)
            ]
            res = asyncio.run(_watch_all(targets, seconds))
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda ic: apis[ic[0] % 2].stop(ic[1]), enumerate(sids)))
        finally:
            for a in apis:
                a.close()
            _end(webs + workers)
            redis.terminate()
            redis.wait(10)
        overflow = _overflowed(data, sids)
    gaps = sum(_view_gaps(r) for r in res)
    lat = np.array([x for r in res for x in r.get("latencies", [])])
    p99 = float(np.percentile(lat, 99)) if lat.size else float("nan")
    detail = (
        f"2 serve + 2 worker on one Redis, {n} simulated sessions at 100 Hz for {seconds:g} s, "
        f"each watched on both web processes ({len(res)} WebSocket clients); {lat.size} alarms"
        + (f" (p50 {np.percentile(lat, 50):.1f}, max {lat.max():.1f} ms)" if lat.size else "")
    )
    return [
        BenchResult("cluster_alarm_p99_ms", p99, "ms", 50, "lower", detail),
        BenchResult(
            "cluster_frames_dropped",
            float(gaps + overflow),
            "frames",
            0,
            "lower",
            f"view gaps at the clients {gaps}, frames overflowed at the sources {overflow}",
        ),
    ]


def run(quick: bool) -> list[BenchResult]:
    return _max_sessions(quick) + _cluster(quick)
