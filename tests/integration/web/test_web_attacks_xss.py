"""Stored XSS (issue 16): script, attribute-breaking, ``javascript:`` and template payloads in
every free-text field a user can store, through a real server; every page that shows them,
and the session report (HTML, and the text of the PDF), must show them as text, never as
markup. The browser check (no dialog fires in chromium) is tests/e2e/web/test_xss_browser.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from attackhelpers import HEALTHY_INTAKE, bearer, markup_of, payload, seeded_clinic
from webhelpers import csrf_of, login

MATH_TEXT = r"pain $\frac{1}{$ at 50$ and $\undefinedmacro$ {{7*7}}"
PAGES = [
    "/",
    "/clients",
    "/clients?q=script",
    "/clients/{client}",
    "/clients/{client}/intake",
    "/screenings/{screening}",
    "/sessions",
    "/sessions/new?client_id={client}",
    "/sessions/{session}",
    "/admin/practitioners",
    "/admin/rooms",
    "/admin/users",
    "/admin/audit",
    "/research",
]


class StoredPayloads:
    """A clinic whose every free-text field holds a payload; ids of the records."""

    def __init__(self, url: str, app: Any, data: Path) -> None:
        self.url = url
        self.app = app
        self.data = data
        self.ids: dict[str, int] = {}
        self.stored: dict[str, str] = {}  # field -> payload that was accepted
        self.opened: dict[str, httpx.Client] = {}

    def http(self, role: str) -> httpx.Client:
        """A client logged in as ``role`` through the login form (kept for the module)."""
        if role not in self.opened:
            c = httpx.Client(base_url=self.url, follow_redirects=False, timeout=120)
            assert login(c, role).status_code == 303
            self.opened[role] = c
        return self.opened[role]

    def close(self) -> None:
        for c in self.opened.values():
            c.close()
        self.api.close()

    def store(self) -> None:
        owner = self.http("owner")
        api = httpx.Client(base_url=self.url, headers=bearer(owner, "owner"), timeout=120)
        self.owner, self.api = owner, api

        # client: through the page form (name, phone, email)
        token = csrf_of(owner, "/clients/new")
        form = {
            "csrf_token": token,
            "name": payload("client.name"),
            "birth_date": "1980-01-02",
            "sex": "female",
            "phone": payload("client.phone")[:60],
            "email": "javascript:alert(document.cookie)//@example.org",
        }
        r = owner.post("/clients/new", data=form)
        assert r.status_code in (303, 400), r.text[:300]
        if r.status_code == 400:  # a field refused: the name alone must still be storable
            form.update(phone="", email="")
            r = owner.post("/clients/new", data=form)
            assert r.status_code == 303, r.text[:500]
        else:
            self.stored.update(phone=form["phone"], email=form["email"])
        self.ids["client"] = int(r.headers["location"].split("/")[2])
        self.stored["client.name"] = form["name"]
        detail = api.get(f"/api/v1/clients/{self.ids['client']}").json()

        # intake free text, through the API
        intake = {
            **HEALTHY_INTAKE,
            "date": date.today().isoformat(),
            "client": {**HEALTHY_INTAKE["client"], "id": detail["ref"]},
            "notes": payload("intake.notes"),
            "conditions": [
                {
                    "code": "hypertension",
                    "status": "active",
                    "controlled": True,
                    "note": payload("condition.note"),
                }
            ],
            "procedures": [
                {"code": "other_surgery", "date": "2010-01-01", "site": payload("procedure.site")}
            ],
            "medications": [{"code": "antihypertensive", "name": payload("medication.name")}],
        }
        r = api.post(f"/api/v1/clients/{self.ids['client']}/intakes", json={"intake": intake})
        assert r.status_code == 201, r.text
        self.ids["screening"] = r.json()["id"]
        signed = api.post(  # the consent the session gate asks for
            f"/api/v1/clients/{self.ids['client']}/consent",
            json={"typed_name": "Mallory Client", "agreed": True},
        )
        assert signed.status_code == 201, signed.text
        for k in ("intake.notes", "condition.note", "procedure.site", "medication.name"):
            self.stored[k] = payload(k)

        # practitioner, room, bar, inspection, user: through the API (owner)
        pr = api.post(
            "/api/v1/practitioners",
            json={
                "name": payload("practitioner.name"),
                "mass_kg": 61,
                "certification": payload("practitioner.certification"),
                "certified_on": "2026-01-01",
                "certified_until": "2030-01-01",
                "training_hours": 20,
            },
        )
        assert pr.status_code == 201, pr.text
        self.stored["practitioner.name"] = payload("practitioner.name")
        room = api.post(
            "/api/v1/rooms", json={"name": payload("room.name"), "notes": payload("room.notes")}
        )
        assert room.status_code == 201, room.text
        self.stored.update({"room.name": payload("room.name"), "room.notes": payload("room.notes")})
        bar = api.post(
            f"/api/v1/rooms/{room.json()['id']}/bars",
            json={"label": payload("bar.label")[:40], "rated_load_n": 3000},
        )
        assert bar.status_code == 201, bar.text
        bar_id = bar.json()["bars"][0]["id"]
        ins = api.post(
            f"/api/v1/bars/{bar_id}/inspections",
            json={
                "inspected_on": date.today().isoformat(),
                "inspector": payload("inspection.inspector"),
                "passed": True,
                "notes": payload("inspection.notes"),
            },
        )
        assert ins.status_code == 201, ins.text
        self.stored["bar.label"] = payload("bar.label")[:40]
        self.stored["inspection.inspector"] = payload("inspection.inspector")
        self.stored["inspection.notes"] = payload("inspection.notes")
        user = api.post(
            "/api/v1/users",
            json={
                "username": "mallory",
                "password": "mallory-pass-123",
                "role": "therapist",
                "display_name": payload("user.display_name"),
            },
        )
        assert user.status_code == 201, user.text
        self.stored["user.display_name"] = payload("user.display_name")

        # a treatment session: a marker label while live, then notes on the review page
        r = api.post(
            "/api/v1/sessions",
            json={
                "client_id": self.ids["client"],
                "practitioner_id": 1,
                "room_id": 1,
                "source": "sim:mixed",
                "duration_s": 60,
            },
        )
        assert r.status_code == 201, r.text
        sid = self.ids["session"] = r.json()["id"]
        m = api.post(
            f"/api/v1/sessions/{sid}/markers",
            json={"kind": "label", "text": payload("marker")[:200]},
        )
        assert m.status_code == 202, m.text
        self.stored["marker"] = payload("marker")[:200]
        m = api.post(  # matplotlib would read $...$ as mathematics in the PDF and PNG report
            f"/api/v1/sessions/{sid}/markers",
            json={"kind": "label", "text": MATH_TEXT},
        )
        assert m.status_code == 202, m.text
        assert api.post(f"/api/v1/sessions/{sid}/stop").status_code == 200
        token = csrf_of(owner, f"/sessions/{sid}")
        r = owner.post(
            f"/sessions/{sid}/notes", data={"csrf_token": token, "notes": payload("session.notes")}
        )
        assert r.status_code == 303, r.text[:300]
        self.stored["session.notes"] = payload("session.notes")

    def page(self, path: str, role: str = "owner") -> str:
        r = self.http(role).get(path.format(**self.ids))
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert "text/html" in r.headers["content-type"]
        return r.text


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoredPayloads]:
    data = tmp_path_factory.mktemp("xss-data")
    with seeded_clinic(data) as (url, app):
        stored = StoredPayloads(url, app, data)
        try:
            stored.store()
            yield stored
        finally:
            stored.close()


def test_every_free_text_field_took_its_payload(clinic):
    for field in (
        "client.name",
        "intake.notes",
        "practitioner.name",
        "room.name",
        "marker",
        "session.notes",
    ):
        assert field in clinic.stored


@pytest.mark.parametrize("path", PAGES)
def test_no_page_turns_a_stored_payload_into_markup(clinic, path):
    page = clinic.page(path, role="researcher" if path == "/research" else "owner")
    assert markup_of(page).injected() == [], path
    for raw in ("<script>alert(", "<img src=x", "<svg onload"):
        assert raw not in page, (path, raw)


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/", ["client.name"]),
        ("/clients", ["client.name"]),
        ("/clients/{client}", ["client.name"]),
        (
            "/clients/{client}/intake",  # a new version carries over stable history only
            ["condition.note", "procedure.site", "medication.name"],
        ),
        ("/screenings/{screening}", ["client.name", "practitioner.name"]),
        ("/sessions", ["client.name"]),
        ("/sessions/new?client_id={client}", ["client.name", "practitioner.name", "room.name"]),
        ("/sessions/{session}", ["client.name", "marker", "session.notes"]),
        ("/admin/practitioners", ["practitioner.name"]),
        ("/admin/rooms", ["room.name", "room.notes", "bar.label", "inspection.inspector"]),
        ("/admin/users", ["user.display_name"]),
        ("/admin/audit", ["room.name"]),
    ],
)
def test_a_stored_payload_shows_as_the_text_that_was_typed(clinic, path, fields):
    page = markup_of(clinic.page(path))
    for field in fields:
        assert page.shows(clinic.stored[field]), f"{field} not shown as typed on {path}"
    assert "{{7*7}}" in "".join(page.text) + str(page.tags)  # template text is never evaluated


def test_research_data_never_shows_the_stored_free_text(clinic):
    page = clinic.page("/research", role="researcher")
    assert "alert(" not in page


def test_the_session_report_shows_the_payloads_as_text_in_html_and_pdf(clinic, tmp_path, run_cli):
    from pypdf import PdfReader

    (rec,) = (clinic.data / "recordings").glob("*.h5")
    intake = clinic.api.get(f"/api/v1/clients/{clinic.ids['client']}").json()["intakes"][-1]
    intake_file = tmp_path / "intake.json"
    intake_file.write_text(__import__("json").dumps(intake["intake"]))
    out_html, out_pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    for out in (out_html, out_pdf):
        r = run_cli("report", str(rec), "-o", str(out), "--intake", str(intake_file))
        assert r.returncode == 0, r.stderr[-2000:]
    page = out_html.read_text()
    assert markup_of(page).injected() == []
    marker = clinic.stored["marker"]
    assert html.escape(marker) in page or html.escape(marker, quote=False) in page
    pdf_text = "".join(p.extract_text() for p in PdfReader(out_pdf).pages)
    flat = re.sub(r"\s+", "", pdf_text)
    assert re.sub(r"\s+", "", "<script>alert('marker')</script>") in flat, pdf_text[:2000]
    assert re.sub(r"\s+", "", MATH_TEXT) in flat, pdf_text[:2000]


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)", "/\\/x"],
)
def test_login_next_pointing_off_site_through_a_backslash_or_tab_goes_home(client, target):
    from webhelpers import PASSWORDS

    page = client.get("/login", params={"next": target})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={
            "username": "owner",
            "password": PASSWORDS["owner"],
            "csrf_token": token,
            "next": target,
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/"
