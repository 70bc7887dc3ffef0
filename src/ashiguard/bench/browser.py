"""``ashiguard bench browser``: from the frame that raised an alarm to the alarm drawn in a page.

The app runs as ``ashiguard serve`` in a subprocess (SQLite in a temporary data directory, as
``bench web``); one ``sim:spine`` session (100 Hz, paced at real time, high-priority spine
alarms) and one ``sim:mixed`` session (every alarm kind) are started through the JSON API with
a bearer token, and a real chromium (Debian's ``/usr/bin/chromium`` driven by Playwright) opens
the live page of each in its own tab. Measured:

- ``browser_alarm_p99_ms``: p99 of the time from the due time of the frame that raised an
  alarm (``frame_wall`` of the alarm message: on the paced source's clock, the first frame is
  due when it arrives, every later one ``t / speed`` after it) to the moment the page has
  updated its banner and alarm list for it (``performance.timeOrigin + performance.now()``,
  kept by ``live.js`` in ``window.ashiguardLive.drawn``). Server and browser run on this
  machine, so both read the same wall clock.

The stream runs 20 s (``--quick``) or 60 s.
"""

from __future__ import annotations

import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ashiguard.bench import BenchResult
from ashiguard.bench.web import PASSWORD, USERNAME, seed_clinic, start_serve

__all__ = ["CHROMIUM", "SOURCES", "run"]

CHROMIUM = "/usr/bin/chromium"
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


SOURCES = ("sim:spine", "sim:mixed")


def _start_session(base: str, client_id: int, source: str) -> int:
    import httpx

    with httpx.Client(base_url=f"{base}/api/v1", timeout=60.0) as api:
        r = api.post("/auth/token", json={"username": USERNAME, "password": PASSWORD})
        r.raise_for_status()
        api.headers["Authorization"] = f"Bearer {r.json()['token']}"
        r = api.post(
            "/sessions",
            json={
                "client_id": client_id,
                "practitioner_id": client_id,  # its own therapist and room (seed_clinic)
                "room_id": client_id,
                "source": "sim:spine",
            },
        )
        if r.status_code != 201:
            raise RuntimeError(f"bench: session start refused ({r.status_code}): {r.text[:300]}")
        return int(r.json()["id"])


def _measure(base: str, session_ids: list[int], seconds: float) -> tuple[list[float], int]:
    """Open each session's live page in chromium for ``seconds``; the alarms' frame-to-drawn
    times, ms, and the view frames the pages drew."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        try:
            # bypass_csp only lets Playwright evaluate its own reads; the page needs no eval
            context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
            form = context.request.get(f"{base}/login").text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            if token is None:
                raise RuntimeError("bench: no login form")
            r = context.request.post(
                f"{base}/login",
                form={"username": USERNAME, "password": PASSWORD, "csrf_token": token.group(1)},
                max_redirects=0,
            )
            if r.status != 303:
                raise RuntimeError(f"bench: login refused ({r.status})")
            pages = []
            for sid in session_ids:
                page = context.new_page()
                page.goto(f"{base}/sessions/{sid}")
                page.wait_for_function(
                    "window.ashiguardLive && window.ashiguardLive.frames > 0", timeout=60_000
                )
                pages.append(page)
            time.sleep(seconds)
            drawn: list[dict[str, Any]] = []
            frames = 0
            for page in pages:
                drawn += page.evaluate("window.ashiguardLive.drawn")
                frames += int(page.evaluate("window.ashiguardLive.frames"))
            context.close()
        finally:
            browser.close()
    lat = [(d["drawn"] - d["frame_wall"]) * 1e3 for d in drawn if d.get("frame_wall")]
    return lat, frames


def run(quick: bool) -> list[BenchResult]:

    seconds = 20.0 if quick else 60.0
    if not Path(CHROMIUM).exists():
        return [
            BenchResult(
                "browser_alarm_p99_ms", float("nan"), "ms", 50, "lower", f"{CHROMIUM} not found"
            )
        ]
    with tempfile.TemporaryDirectory(prefix="ashiguard-bench-browser-") as tmp:
        data = Path(tmp)
        client_ids = seed_clinic(data, 0, n_live=len(SOURCES))
        proc, base = start_serve(data)
        try:
            ids = [_start_session(base, c, src) for c, src in zip(client_ids, SOURCES, strict=True)]
            lat, frames = _measure(base, ids, seconds)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    a = np.array(lat)
    p99 = float(np.percentile(a, 99)) if a.size else float("nan")
    detail = (
        f"{a.size} alarms drawn, {' and '.join(SOURCES)} at 100 Hz, a tab each, {seconds:g} s, "
        f"{frames} views drawn"
    )
    if a.size:
        detail += (
            f" (p50 {np.percentile(a, 50):.1f}, p90 {np.percentile(a, 90):.1f}, "
            f"max {a.max():.1f} ms); frame due time to banner and list updated in chromium"
        )
    return [BenchResult("browser_alarm_p99_ms", p99, "ms", 50, "lower", detail)]
