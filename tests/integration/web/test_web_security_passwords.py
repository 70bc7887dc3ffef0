"""The password policy against a real uvicorn server (issue 16): too short, breached (the
shipped list, any case) or containing the user name is refused on the users page, in the API
and by ``ashiguard admin``, naming the field and the reason and never echoing the password."""

from __future__ import annotations

import re

import pytest
from liveserver import client_from, form_token, log_in, serving
from sqlalchemy import select
from webhelpers import PASSWORDS

from ashiguard.adapters.db.models import User
from ashiguard.services.password_policy import MIN_LENGTH, breached_passwords

BAD = [
    ("short-pw-11", "password: at least 12 characters"),
    ("QWERTYUIOP12", "password: this password is on a list of passwords leaked in data breaches"),
    ("1qaz2wsx3edc", "password: this password is on a list of passwords leaked in data breaches"),
    ("  123456789987654321 ", "password: this password is on a list of passwords leaked"),
    ("Newcomer2026", "password: must not be the user name"),
]


def test_the_shipped_breached_list_holds_thousands_of_the_commonest_passwords():
    words = breached_passwords()
    assert len(words) >= 10_000
    assert {"123456", "password", "qwerty", "iloveyou", "qwertyuiop12"} <= words
    assert sum(len(w) >= MIN_LENGTH for w in words) >= 200


@pytest.mark.parametrize(("password", "message"), BAD)
def test_the_users_page_refuses_a_weak_password_naming_field_and_reason(app, db, password, message):
    with serving(app) as base, client_from(base) as owner:
        log_in(owner, "owner", PASSWORDS["owner"])
        page = owner.get("/admin/users")
        r = owner.post(
            "/admin/users",
            data={
                "csrf_token": form_token(page.text),
                "username": "Newcomer2026" if "user name" in message else "newcomer",
                "password": password,
                "role": "therapist",
            },
        )
        assert r.status_code == 400
        assert message in r.text
        field = re.search(r'<input[^>]*name="password"[^>]*>', r.text).group(0)
        assert password.strip() not in field  # the password is never shown back
    with db.session() as s:
        assert s.scalars(select(User).where(User.username.like("%ewcomer%"))).all() == []


def test_the_api_refuses_a_breached_password_with_422_naming_the_field(app):
    with serving(app) as base, client_from(base) as c:
        tok = c.post(
            "/api/v1/auth/token", json={"username": "owner", "password": PASSWORDS["owner"]}
        ).json()["token"]
        r = c.post(
            "/api/v1/users",
            json={"username": "newcomer", "password": "Qwerty123456", "role": "therapist"},
            headers={"Authorization": f"Bearer {tok}"},
        )
        assert r.status_code == 422
        assert r.json()["detail"].startswith("password: this password is on a list")
        ok = c.post(
            "/api/v1/users",
            json={"username": "newcomer", "password": "maple-lantern-fjord", "role": "therapist"},
            headers={"Authorization": f"Bearer {tok}"},
        )
        assert ok.status_code == 201


def test_admin_create_user_refuses_a_breached_password_with_one_line_and_exit_2(run_cli, tmp_path):
    import os

    os.environ["ASHIGUARD_PASSWORD"] = "1q2w3e4r5t6y"
    try:
        r = run_cli("admin", "create-user", "olga", "--data-dir", str(tmp_path / "d"))
    finally:
        del os.environ["ASHIGUARD_PASSWORD"]
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ashiguard: error: password: this password is on a list")
