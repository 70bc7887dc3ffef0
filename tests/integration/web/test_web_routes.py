"""Every route, every role, and no login: who may use what (the app's full route table)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from sqlalchemy import select
from webhelpers import csrf_of, login, make_client

from ashiguard.adapters.db.models import (
    Bar,
    Client,
    Intake,
    NoteTemplate,
    Practitioner,
    Room,
    Screening,
    TreatmentSession,
    User,
)
from ashiguard.adapters.db.repo import utcnow
from ashiguard.entrypoints.web.security import create_user

ROLES = ("owner", "therapist", "front_desk", "researcher")
PUBLIC = "public"
ANY = frozenset(ROLES)
CLIENTS = frozenset({"owner", "therapist", "front_desk"})
CLINICAL = frozenset({"owner", "therapist"})
RESEARCH = frozenset({"owner", "researcher"})
OWNER = frozenset({"owner"})
TRAINING = frozenset({"owner", "therapist", "instructor"})
INSTRUCTORS = frozenset({"owner", "instructor"})

# (method, path) -> roles allowed; written out by hand so that a new route must be added here.
EXPECTED: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/reset/{token}"): PUBLIC,
    ("GET", "/login/code"): PUBLIC,
    ("POST", "/login/code"): PUBLIC,
    ("GET", "/account/two-factor"): OWNER,
    ("POST", "/account/two-factor/start"): OWNER,
    ("POST", "/account/two-factor/confirm"): OWNER,
    ("POST", "/account/two-factor/off"): OWNER,
    ("POST", "/reset/{token}"): PUBLIC,
    ("GET", "/account/password"): ANY,
    ("POST", "/account/password"): ANY,
    ("POST", "/account/logins/end-others"): ANY,
    ("GET", "/"): ANY,
    ("GET", "/api/v1/me"): ANY,
    ("GET", "/api/v1/openapi.json"): ANY,
    ("GET", "/api/v1/docs"): ANY,
    ("GET", "/clients"): CLIENTS,
    ("GET", "/clients/new"): CLIENTS,
    ("POST", "/clients/new"): CLIENTS,
    ("GET", "/clients/{client_id}"): CLIENTS,
    ("GET", "/clients/{client_id}/intake"): CLIENTS,
    ("POST", "/clients/{client_id}/intake"): CLIENTS,
    ("GET", "/clients/{client_id}/consent"): CLIENTS,
    ("POST", "/clients/{client_id}/handover"): CLIENTS,
    ("GET", "/clients/{client_id}/plots/trends.png"): CLINICAL,
    ("GET", "/welcome/{token}"): PUBLIC,
    ("POST", "/welcome/{token}"): PUBLIC,
    ("POST", "/clients/{client_id}/consent"): CLIENTS,
    ("GET", "/api/v1/consent-form"): CLIENTS,
    ("POST", "/api/v1/clients/{client_id}/consent"): CLIENTS,
    ("GET", "/clients/{client_id}/clearances/new"): CLIENTS,
    ("POST", "/clients/{client_id}/clearances"): CLIENTS,
    ("GET", "/clearances/{clearance_id}/letter"): CLIENTS,
    ("GET", "/api/v1/clients/{client_id}/clearances"): CLIENTS,
    ("POST", "/api/v1/clients/{client_id}/clearances"): CLIENTS,
    ("GET", "/screenings/{screening_id}"): CLIENTS,
    ("GET", "/api/v1/clients"): CLIENTS,
    ("POST", "/api/v1/clients"): CLIENTS,
    ("GET", "/api/v1/clients/{client_id}"): CLIENTS,
    ("POST", "/api/v1/clients/{client_id}/intakes"): CLIENTS,
    ("GET", "/api/v1/screenings/{screening_id}"): CLIENTS,
    ("GET", "/api/v1/intakes/{intake_id}"): CLIENTS,
    ("GET", "/sessions"): CLINICAL,
    ("GET", "/sessions/new"): CLINICAL,
    ("POST", "/sessions/new"): CLINICAL,
    ("GET", "/sessions/{session_id}"): CLINICAL,
    ("GET", "/sessions/{session_id}/client"): CLINICAL,
    ("POST", "/sessions/{session_id}/stop"): CLINICAL,
    ("POST", "/sessions/{session_id}/ack"): CLINICAL,
    ("POST", "/sessions/{session_id}/markers"): CLINICAL,
    ("POST", "/sessions/{session_id}/notes"): CLINICAL,
    ("POST", "/sessions/{session_id}/sign"): CLINICAL,
    ("POST", "/sessions/{session_id}/note"): CLINICAL,
    ("POST", "/sessions/{session_id}/addenda"): CLINICAL,
    ("GET", "/sessions/{session_id}/plots/{name}.png"): CLINICAL,
    ("GET", "/sessions/{session_id}/report.pdf"): CLINICAL,
    ("GET", "/api/v1/sessions/{session_id}/report.pdf"): CLINICAL,
    ("GET", "/sessions/{session_id}/zones.csv"): CLINICAL,
    ("GET", "/api/v1/sessions/{session_id}/zones.csv"): CLINICAL,
    ("GET", "/research/sessions.csv"): RESEARCH,
    ("GET", "/api/v1/research/sessions.csv"): RESEARCH,
    ("GET", "/clients/{client_id}/record.pdf"): CLINICAL,
    ("GET", "/api/v1/clients/{client_id}/record.pdf"): CLINICAL,
    ("GET", "/api/v1/sessions/{session_id}/fhir"): CLINICAL,
    ("GET", "/api/v1/practitioners"): CLINICAL,
    ("GET", "/api/v1/rooms"): CLINICAL,
    ("GET", "/api/v1/sessions"): CLINICAL,
    ("GET", "/api/v1/sessions/{session_id}"): CLINICAL,
    ("POST", "/api/v1/sessions"): CLINICAL,
    ("POST", "/api/v1/sessions/{session_id}/stop"): CLINICAL,
    ("POST", "/api/v1/sessions/{session_id}/markers"): CLINICAL,
    ("POST", "/api/v1/sessions/{session_id}/ack"): CLINICAL,
    ("POST", "/api/v1/sessions/{session_id}/tare"): CLINICAL,
    ("POST", "/sessions/{session_id}/tare"): CLINICAL,
    ("POST", "/admin/calibrations"): OWNER,
    ("GET", "/api/v1/sessions/{session_id}/note"): CLINICAL,
    ("PUT", "/api/v1/sessions/{session_id}/note"): CLINICAL,
    ("POST", "/api/v1/sessions/{session_id}/addenda"): CLINICAL,
    ("GET", "/api/v1/note-templates"): CLINICAL,
    ("GET", "/research"): RESEARCH,
    ("GET", "/api/v1/research/sessions"): RESEARCH,
    ("GET", "/admin/users"): OWNER,
    ("POST", "/admin/users"): OWNER,
    ("POST", "/admin/users/{user_id}/active"): OWNER,
    ("GET", "/admin/practitioners"): OWNER,
    ("POST", "/admin/practitioners"): OWNER,
    ("GET", "/admin/rooms"): OWNER,
    ("POST", "/admin/rooms"): OWNER,
    ("POST", "/admin/rooms/{room_id}/bars"): OWNER,
    ("POST", "/admin/bars/{bar_id}/inspections"): OWNER,
    ("GET", "/admin/audit"): OWNER,
    ("GET", "/admin/audit/check"): OWNER,
    ("GET", "/admin/note-templates"): OWNER,
    ("POST", "/admin/note-templates"): OWNER,
    ("POST", "/admin/note-templates/{template_id}"): OWNER,
    ("POST", "/admin/note-templates/{template_id}/delete"): OWNER,
    ("POST", "/api/v1/practitioners"): OWNER,
    ("POST", "/api/v1/rooms"): OWNER,
    ("POST", "/api/v1/rooms/{room_id}/bars"): OWNER,
    ("POST", "/api/v1/bars/{bar_id}/inspections"): OWNER,
    ("GET", "/api/v1/users"): OWNER,
    ("POST", "/api/v1/users"): OWNER,
    ("GET", "/api/v1/audit"): OWNER,
    ("POST", "/logout"): ANY,
}
EXPECTED.update(
    {
        ("GET", "/training"): TRAINING,
        ("POST", "/training/exercises"): INSTRUCTORS,
        ("POST", "/training/attempts"): INSTRUCTORS,
        ("POST", "/training/policy"): OWNER,
        ("GET", "/training/practitioners/{practitioner_id}/progress.png"): TRAINING,
        ("GET", "/training/attempts.csv"): RESEARCH,
        ("GET", "/training/attempts.parquet"): RESEARCH,
        ("GET", "/training/practitioners/{practitioner_id}/progress.pdf"): TRAINING,
        ("GET", "/training/live"): TRAINING,
        ("POST", "/training/live"): TRAINING,
        ("GET", "/training/live/{run_id}"): TRAINING,
        ("GET", "/training/live/{run_id}/view.json"): TRAINING,
        ("POST", "/training/live/{run_id}/stop"): TRAINING,
        ("GET", "/training/class"): INSTRUCTORS,
        ("GET", "/training/class.csv"): INSTRUCTORS,
    }
)
WEBSOCKETS = {"/sessions/{session_id}/ws": CLINICAL}


def _routes(app):
    out = []
    for r in app.routes:
        if isinstance(r, APIRoute):
            out.extend((m, r.path) for m in sorted(r.methods - {"HEAD"}))
    return out


def _records(db):
    with db.session() as s:
        target = create_user(s, "walk-target", "walk-target-pass", "researcher")
        c = Client(ref="c-walk", name="Walk Client", created_at=utcnow())
        s.add(c)
        s.flush()
        it = Intake(
            client_id=c.id,
            version=1,
            payload={"schema": "ashiguard.intake/1"},
            pain_sites=[],
            created_at=utcnow(),
        )
        s.add(it)
        s.flush()
        sc = Screening(
            client_id=c.id,
            intake_id=it.id,
            screened_for=date.today(),
            decision="cleared",
            rules_version="x",
            payload={"decision": "cleared", "findings": []},
            created_at=utcnow(),
        )
        room = Room(name="Walk room", notes="")
        therapist = s.scalar(select(User.id).where(User.username == "therapist"))
        pr = Practitioner(
            name="Walk Therapist", user_id=therapist, mass_kg=60.0, training_hours=10, active=True
        )
        s.add_all([sc, room, pr])
        s.flush()
        bar = Bar(room_id=room.id, label="L", rated_load_n=2000.0, inspection_interval_days=90)
        s.add(bar)
        s.flush()
        t = TreatmentSession(
            client_id=c.id,
            practitioner_id=pr.id,
            room_id=room.id,
            screening_id=sc.id,
            status="ended",
            started_at=utcnow(),
            ended_at=utcnow(),
            notes="",
        )
        tpl = NoteTemplate(name="Walk template", subjective="", assessment="", plan="")
        tpl.updated_at = utcnow()
        s.add_all([t, tpl])
        s.flush()
        return {
            "client_id": c.id,
            "screening_id": sc.id,
            "intake_id": it.id,
            "session_id": t.id,
            "room_id": room.id,
            "bar_id": bar.id,
            "user_id": target.id,
            "template_id": tpl.id,
            "clearance_id": 1,  # none stored: the roles that may ask get 404
            "practitioner_id": pr.id,
            "run_id": "0123456789abcdef",  # no such live attempt: the roles that may ask get 404
            "name": "load",
        }


def _url(path, ids):
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def _call(c, method, url, token):
    if method == "GET":
        return c.get(url)
    if method == "PUT":
        return c.put(url, json={}, headers={"X-CSRF-Token": token})
    if url.startswith("/api/"):
        return c.post(url, json={}, headers={"X-CSRF-Token": token})
    if url.endswith(("/ack", "/markers", "/tare")):  # the live page's JSON calls
        return c.post(url, json={}, headers={"X-CSRF-Token": token})
    return c.post(url, data={"csrf_token": token})


def test_the_route_table_is_exactly_the_expected_one(app):
    found = set(_routes(app))
    assert found == set(EXPECTED), (
        f"unexpected: {sorted(found - set(EXPECTED))}; missing: {sorted(set(EXPECTED) - found)}"
    )
    ws = {r.path for r in app.routes if isinstance(r, APIWebSocketRoute)}
    assert ws == set(WEBSOCKETS)


def test_without_login_pages_redirect_to_login_and_the_api_answers_401(app, db):
    ids = _records(db)
    with make_client(app) as c:
        for method, path in _routes(app):
            if EXPECTED[(method, path)] == PUBLIC:
                continue
            r = _call(c, method, _url(path, ids), "")
            if path.startswith("/api/") or path.endswith(("/ack", "/markers", "/tare")):
                # the API, and the live page's JSON calls: 401 in JSON, not a redirect
                assert r.status_code == 401, (method, path, r.status_code)
            else:
                assert r.status_code == 303, (method, path, r.status_code)
                assert r.headers["location"].startswith("/login?next="), (method, path)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_table_says(app, db, role):
    ids = _records(db)
    routes = sorted(_routes(app), key=lambda mp: mp[1] == "/logout")  # log out last
    with make_client(app) as c:
        assert login(c, role).status_code == 303
        token = csrf_of(c)
        for method, path in routes:
            allowed = EXPECTED[(method, path)]
            if allowed == PUBLIC:
                continue
            r = _call(c, method, _url(path, ids), token)
            if role in allowed:
                assert r.status_code not in (401, 403), (
                    role,
                    method,
                    path,
                    r.status_code,
                    r.text[:200],
                )
            else:
                assert r.status_code == 403, (role, method, path, r.status_code)
    with db.session() as s:  # the walk's own changes never touched the walking users
        assert s.scalar(select(User.active).where(User.username == role)) is True


@pytest.mark.parametrize("role", (None, *ROLES))
def test_the_live_websocket_checks_login_role_and_origin(app, db, role):
    from starlette.websockets import WebSocketDisconnect

    ids = _records(db)
    path = _url("/sessions/{session_id}/ws", ids)
    with make_client(app) as c:
        if role is not None:
            assert login(c, role).status_code == 303
        allowed = role in WEBSOCKETS["/sessions/{session_id}/ws"]
        if allowed:
            with c.websocket_connect(path, headers={"origin": "http://testserver"}) as ws:
                assert ws.receive_json() == {"type": "ended", "error": None}  # the session is over
            with (
                pytest.raises(WebSocketDisconnect) as cross,
                c.websocket_connect(path, headers={"origin": "http://evil.example"}) as ws,
            ):
                ws.receive_json()
            assert cross.value.code == 4403
        else:
            with pytest.raises(WebSocketDisconnect) as exc, c.websocket_connect(path) as ws:
                ws.receive_json()
            assert exc.value.code == (4401 if role is None else 4403)
