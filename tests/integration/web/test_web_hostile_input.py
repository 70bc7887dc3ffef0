"""Hostile input reaching the web app (issue 16, found when tried): ids too large for the
database and text that is not proper Unicode answer 4xx with a message, never a 500."""

from __future__ import annotations

import json

import pytest
from webhelpers import PASSWORDS

HUGE = "99999999999999999999"


def _token(client, role):
    r = client.post("/api/v1/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/clients/{HUGE}",
        f"/api/v1/screenings/{HUGE}",
        f"/api/v1/sessions/{HUGE}",
        f"/api/v1/clients/-{HUGE}",
    ],
)
def test_an_id_too_large_for_the_database_is_not_found_not_a_server_error(client, path):
    h = _token(client, "owner")
    r = client.get(path, headers=h)
    assert r.status_code in (404, 422), (r.status_code, r.text)
    assert r.json()["detail"]


@pytest.mark.parametrize(
    "path", [f"/clients/{HUGE}", f"/sessions/{HUGE}", f"/clients/{HUGE}/intakes/new"]
)
def test_a_page_with_an_id_too_large_answers_not_found(as_role, path):
    c = as_role("owner")
    r = c.get(path)
    assert r.status_code in (400, 404), (r.status_code, r.text[:300])


def test_a_lone_surrogate_in_a_text_field_is_refused_naming_the_field(client, db):
    h = {**_token(client, "front_desk"), "Content-Type": "application/json"}
    body = '{"name": "Ann \\ud800 Lee"}'  # valid JSON, but not proper Unicode text
    r = client.post("/api/v1/clients", content=body.encode(), headers=h)
    assert r.status_code == 422, (r.status_code, r.text)
    assert "name" in r.json()["detail"]
    listing = client.get("/api/v1/clients", headers=h).json()
    assert listing["total"] == 0
    ok = client.post("/api/v1/clients", content=json.dumps({"name": "Ann Lee"}), headers=h)
    assert ok.status_code == 201


def test_a_lone_surrogate_deep_in_an_intake_is_refused_with_its_path(client, db):
    h = {**_token(client, "front_desk"), "Content-Type": "application/json"}
    cid = client.post("/api/v1/clients", json={"name": "Deep Field"}, headers=h).json()["id"]
    body = (
        '{"intake": {"schema": "ashiguard.intake/1", "date": "2026-01-01", '
        '"client": {"id": "x"}, "notes": "pain \\udfff"}}'
    )
    r = client.post(f"/api/v1/clients/{cid}/intakes", content=body.encode(), headers=h)
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.json()["detail"].startswith("body.intake.notes:")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/api/v1/clients/{cid}", headers=h).json()["intakes"] == []
