"""Helpers of the web app tests: a TestClient and logging in through the real login form."""

from __future__ import annotations

import re
import warnings
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # starlette warns once, on import, that it would rather use httpx2 than httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = ["PASSWORDS", "PROJECT_ROOT", "TestClient", "csrf_of", "login", "make_client"]

PASSWORDS = {
    "owner": "owner-pass-123",
    "therapist": "therapist-pass-123",
    "front_desk": "frontdesk-pass-123",
    "researcher": "research-pass-123",
}


def make_client(app: Any) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def login(client: TestClient, username: str, password: str | None = None) -> Any:
    """Log in through the form (login CSRF cookie included); returns the POST response."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "login form has no CSRF token"
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password or PASSWORDS[username],
            "csrf_token": token.group(1),
            "next": "/",
        },
    )


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The session's CSRF token, read from a page's logout form."""
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


PROJECT_ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
