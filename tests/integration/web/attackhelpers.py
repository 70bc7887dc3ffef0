"""Helpers of the attack tests: a seeded clinic behind a real server, payloads, markup checks."""

from __future__ import annotations

import html.parser
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from serverhelpers import running_server
from webhelpers import PASSWORDS

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Practitioner
from ashiguard.bootstrap import make_app, open_database
from ashiguard.entrypoints.web.security import create_user
from ashiguard.settings import Settings

__all__ = ["HEALTHY_INTAKE", "Markup", "bearer", "markup_of", "payload", "seeded_clinic"]


def payload(field: str) -> str:
    """Script, attribute-breaking, ``javascript:`` URL and template text, tagged with the field."""
    return (
        f"<script>alert('{field}')</script>\"><img src=x onerror=alert('{field}')>"
        f"'><svg onload=alert(1)>{{{{7*7}}}} javascript:alert('{field}')"
    )


HEALTHY_INTAKE: dict[str, Any] = {
    "schema": "ashiguard.intake/1",
    "client": {"birth_date": "1980-01-02", "sex": "female", "height_cm": 170, "weight_kg": 65},
    "vitals": {"systolic_mmhg": 120, "diastolic_mmhg": 78},
}


class Markup(html.parser.HTMLParser):
    """Every element and attribute of a page, for checks that nothing was injected."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def shows(self, typed: str) -> bool:
        """``typed`` is on the page as text or as a whole attribute value (a form field)."""
        return typed in "".join(self.text) or any(
            value == typed for _, attrs in self.tags for value in attrs.values()
        )

    def injected(self) -> list[str]:
        """What a payload would have added as markup (empty when everything was escaped)."""
        bad = []
        for tag, attrs in self.tags:
            if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
                bad.append(f"inline <script> {attrs}")
            if tag == "img" and attrs.get("src") == "x":
                bad.append("<img src=x>")
            if tag == "svg" and "onload" in attrs:
                bad.append("<svg onload>")
            for name, value in attrs.items():
                if name.startswith("on"):
                    bad.append(f"<{tag} {name}=...>")
                if name in ("href", "src", "action", "formaction") and (
                    value or ""
                ).strip().lower().startswith("javascript:"):
                    bad.append(f"<{tag} {name}={value}>")
        return bad


def markup_of(page: str) -> Markup:
    m = Markup()
    m.feed(page)
    m.close()
    return m


def bearer(http: Any, role: str) -> dict[str, str]:
    r = http.post("/api/v1/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@contextmanager
def seeded_clinic(data: Path, database_url: str | None = None) -> Iterator[tuple[str, Any]]:
    """A clinic (one user per role, a certified practitioner, a room with inspected bars)
    served by uvicorn; yields its base URL and the app."""
    today = date.today()
    settings = Settings(data_dir=data, database_url=database_url or "")
    db = open_database(settings)
    with db.session() as s:
        for role, pw in PASSWORDS.items():
            create_user(s, role, pw, role, role.replace("_", " ").title())
        s.add(
            Practitioner(
                name="Tess Therapist",
                technique="ashiatsu",
                certification="Ashiatsu Guild",
                certified_on=today - timedelta(days=200),
                certified_until=today + timedelta(days=200),
                training_hours=100,
                mass_kg=60.0,
                active=True,
            )
        )
        repo.add_room_with_bars(
            s,
            "Studio A",
            ("left", "right"),
            rated_load_n=3000.0,
            inspected_on=today - timedelta(days=5),
            inspector="Ivo",
        )
    app = make_app(settings, db)
    app.state.live.speed = 4.0
    try:
        with running_server(app) as url:
            yield url, app
    finally:
        app.state.live.stop_all()
        db.dispose()
