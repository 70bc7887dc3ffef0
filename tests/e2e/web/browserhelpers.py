"""Helpers of the browser tests: the seeded users, logging in, live sessions through the API."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx

__all__ = ["USERS", "log_in", "log_in_quietly", "start_live_session"]

USERS = {
    "owner": ("owner", "browser-owner-pw"),
    "therapist": ("therapist", "browser-therapist-pw"),
    "front_desk": ("frontdesk", "browser-frontdesk-pw"),
}


def log_in(page: Any, base: str, role: str) -> None:
    name, pw = USERS[role]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", pw)
    page.click("button[type=submit]")


def log_in_quietly(page: Any, base: str, role: str) -> None:
    """Log in through the page's request context: cookies set, no click (no user gesture)."""
    name, pw = USERS[role]
    form = page.request.get(f"{base}/login").text()
    m = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert m is not None
    r = page.request.post(
        f"{base}/login",
        form={"username": name, "password": pw, "csrf_token": m.group(1)},
        max_redirects=0,
    )
    assert r.status == 303, r.status


def start_live_session(base: str, source: str, name: str = "Live Client") -> int:
    """A new screened client and a live session of it from ``source`` (through the API, as
    the therapist); returns the treatment session's id."""
    user, pw = USERS["therapist"]
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60.0) as api:
        r = api.post("/auth/token", json={"username": user, "password": pw})
        r.raise_for_status()
        api.headers["Authorization"] = f"Bearer {r.json()['token']}"
        client = api.post("/clients", json={"name": name})
        client.raise_for_status()
        cid, ref = client.json()["id"], client.json()["ref"]
        intake = {
            "schema": "ashiguard.intake/1",
            "date": date.today().isoformat(),
            "client": {"id": ref, "height_cm": 170, "weight_kg": 70},
        }
        api.post(f"/clients/{cid}/intakes", json={"intake": intake}).raise_for_status()
        api.post(
            f"/clients/{cid}/consent", json={"typed_name": name, "agreed": True}
        ).raise_for_status()
        practitioner = api.get("/practitioners").json()[0]["id"]
        room = api.get("/rooms").json()[0]["id"]
        r = api.post(
            "/sessions",
            json={
                "client_id": cid,
                "practitioner_id": practitioner,
                "room_id": room,
                "source": source,
            },
        )
        if r.status_code != 201:
            raise AssertionError(f"session start refused: {r.status_code} {r.text}")
        return int(r.json()["id"])
