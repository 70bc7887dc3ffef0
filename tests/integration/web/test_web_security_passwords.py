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


def test_long_passphrases_are_welcome_up_to_256_characters():
    from ashiguard.domain.errors import InputError
    from ashiguard.services.password_policy import check_password

    check_password("four unrelated words " * 12)  # 252 characters, spaces and all
    check_password("ü" * 256)
    with pytest.raises(InputError, match=r"^password: at most 256 characters$"):
        check_password("x" * 257)


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


# ------------------------------------------------------------ change and reset (issue 16)


def _change(c, current, new, repeat=None):
    page = c.get("/account/password")
    return c.post(
        "/account/password",
        data={
            "csrf_token": form_token(page.text),
            "current_password": current,
            "new_password": new,
            "repeat_password": new if repeat is None else repeat,
        },
    )


def _audit(db, action):
    from ashiguard.adapters.db.models import AuditEntry

    with db.session() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_a_user_changes_their_password_with_the_current_one_and_other_logins_end(app, db):
    new = "birch-kettle-harbour"
    with serving(app) as base, client_from(base) as c, client_from(base, "127.0.0.2") as tablet:
        log_in(c, "therapist", PASSWORDS["therapist"])
        log_in(tablet, "therapist", PASSWORDS["therapist"])
        assert tablet.get("/").status_code == 200
        wrong = _change(c, "not-my-password", new)
        assert wrong.status_code == 400
        assert "this is not your current password" in wrong.text
        weak = _change(c, PASSWORDS["therapist"], "letmein")
        assert weak.status_code == 400 and "at least 12 characters" in weak.text
        mismatch = _change(c, PASSWORDS["therapist"], new, "birch-kettle-harbor")
        assert mismatch.status_code == 400 and "does not match" in mismatch.text
        r = _change(c, PASSWORDS["therapist"], new)
        assert r.status_code == 303
        assert "Your password was changed" in c.get(r.headers["location"]).text
        assert tablet.get("/").status_code == 303  # the other device is logged out
        with client_from(base, "127.0.0.3") as other:
            assert log_in(other, "therapist", PASSWORDS["therapist"]).status_code == 401
            assert log_in(other, "therapist", new).status_code == 303
    assert [e.username for e in _audit(db, "password_change")] == ["therapist"]
    assert len(_audit(db, "password_change_refused")) == 1


def _reset_link(run_cli, db, scratch, username, *extra):
    # the database is given by URL; --data-dir only keeps the CLI away from ./data
    r = run_cli(
        "admin", "reset-link", username, "--database-url", db.url, "--data-dir", scratch, *extra
    )
    assert r.returncode == 0, r.stderr
    link = r.stdout.strip()
    assert link.startswith("http://127.0.0.1:8000/reset/")
    return link.rsplit("/", 1)[1]


def _reset(c, token, new, repeat=None):
    page = c.get(f"/reset/{token}")
    assert page.status_code == 200, page.text
    return c.post(
        f"/reset/{token}",
        data={
            "csrf_token": form_token(page.text),
            "new_password": new,
            "repeat_password": new if repeat is None else repeat,
        },
    )


@pytest.mark.slow
def test_an_owner_reset_link_works_once_is_stored_hashed_and_sets_a_password_under_policy(
    app, db, run_cli, tmp_path
):
    from ashiguard.adapters.db.models import PasswordReset

    token = _reset_link(run_cli, db, str(tmp_path), "front_desk")
    with db.session() as s:
        ids = s.scalars(select(PasswordReset.id)).all()
    assert len(ids) == 1 and token not in ids[0]  # only its SHA-256 is kept
    new = "orchard-violet-tundra"
    with serving(app) as base, client_from(base) as c:
        log_in(c, "front_desk", PASSWORDS["front_desk"])  # a session from before the reset
        with client_from(base, "127.0.0.2") as desk:
            weak = _reset(desk, token, "password1234")
            assert weak.status_code == 400
            assert "leaked in data breaches" in weak.text
            assert 'name="new_password"' in weak.text and "invalid" in weak.text
            done = _reset(desk, token, new)
            assert done.status_code == 200 and "is saved" in done.text
            again = desk.get(f"/reset/{token}")
            assert again.status_code == 404 and "not valid" in again.text
            assert desk.post(f"/reset/{token}", data={"new_password": new}).status_code == 404
        assert c.get("/").status_code == 303  # the old session ended with the reset
        with client_from(base, "127.0.0.3") as after:
            assert log_in(after, "front_desk", PASSWORDS["front_desk"]).status_code == 401
            assert log_in(after, "front_desk", new).status_code == 303
    assert len(_audit(db, "password_reset_link")) == 1
    assert [e.username for e in _audit(db, "password_reset")] == ["front_desk"]


@pytest.mark.slow
def test_a_reset_link_expires_a_newer_one_voids_it_and_a_post_without_the_form_token_fails(
    app, db, run_cli, tmp_path
):
    from sqlalchemy import update

    from ashiguard.adapters.db.models import PasswordReset
    from ashiguard.adapters.db.repo import utcnow

    first = _reset_link(run_cli, db, str(tmp_path), "researcher", "--hours", "1")
    second = _reset_link(run_cli, db, str(tmp_path), "researcher")
    with serving(app) as base, client_from(base) as c:
        assert c.get(f"/reset/{first}").status_code == 404  # replaced by the newer link
        assert c.get("/reset/made-up-token").status_code == 404
        forged = c.post(
            f"/reset/{second}",
            data={
                "new_password": "orchard-violet-tundra",
                "repeat_password": "orchard-violet-tundra",
            },
        )
        assert forged.status_code == 403
        with db.session() as s:
            s.execute(update(PasswordReset).values(expires_at=utcnow()))
        assert c.get(f"/reset/{second}").status_code == 404
    bad = run_cli(
        "admin", "reset-link", "nobody", "--database-url", db.url, "--data-dir", str(tmp_path)
    )
    assert bad.returncode == 2 and bad.stderr.strip() == "ashiguard: error: user 'nobody' not found"
