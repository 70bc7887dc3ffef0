"""Hostile values in the page forms' record-id and row-number fields (issue 16): ids too large
for the database, digits that are not ASCII (``²``, ``١``) and field names with a row that is
not a number answer 400 with the form or the error page, never a 500 (SQLite and PostgreSQL).
"""

from __future__ import annotations

import re

import pytest
from webhelpers import PASSWORDS

HOSTILE_IDS = ["99999999999999999999", "2147483648", "²", "١٢", "0", "-1", " 1", "1e3"]


def _csrf(c, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(path).text).group(1)


@pytest.fixture
def client_id(client):
    r = client.post(
        "/api/v1/auth/token", json={"username": "owner", "password": PASSWORDS["owner"]}
    )
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    return client.post("/api/v1/clients", json={"name": "Form Target"}, headers=h).json()["id"]


@pytest.mark.parametrize("bad", HOSTILE_IDS)
@pytest.mark.parametrize("field", ["client_id", "practitioner_id", "room_id"])
def test_a_hostile_id_in_the_start_form_is_refused_not_a_server_error(
    as_role, client_id, field, bad
):
    c = as_role("therapist")
    token = _csrf(c, f"/sessions/new?client_id={client_id}")
    form = {
        "csrf_token": token,
        "client_id": str(client_id),
        "practitioner_id": "1",
        "room_id": "1",
        "source": "sim:mixed",
        field: bad,
    }
    r = c.post("/sessions/new", data=form)
    assert r.status_code in (400, 404), (field, bad, r.status_code, r.text[-300:])


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_a_hostile_practitioner_or_user_id_in_the_practitioner_form_is_refused(as_role, bad):
    c = as_role("owner")
    token = _csrf(c, "/admin/practitioners")
    base = {
        "csrf_token": token,
        "name": "P",
        "mass_kg": "60",
        "certification": "",
        "training_hours": "1",
    }
    for form in ({**base, "id": bad}, {**base, "user_id": bad}):
        r = c.post("/admin/practitioners", data=form)
        assert r.status_code in (303, 400, 404), (form, r.status_code, r.text[-300:])


@pytest.mark.parametrize("key", ["conditions.x.code", "procedures.².site", "medications..name"])
def test_an_intake_form_row_that_is_not_a_number_is_refused_not_a_server_error(
    as_role, client_id, key
):
    c = as_role("front_desk")
    token = _csrf(c, f"/clients/{client_id}/intake")
    r = c.post(
        f"/clients/{client_id}/intake",
        data={"csrf_token": token, "date": "not a date", key: "x"},
    )
    assert r.status_code == 400, (key, r.status_code, r.text[-300:])
