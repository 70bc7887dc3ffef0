"""Helpers of the browser tests: the seeded users and logging in through the login page."""

from __future__ import annotations

from typing import Any

__all__ = ["USERS", "log_in"]

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
