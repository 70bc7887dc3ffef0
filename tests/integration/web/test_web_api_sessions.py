"""Live sessions through the JSON API (contract section 7), the WebSocket with a bearer token,
and the mapping of the use cases' errors (404, 409 with reasons, 403) to JSON bodies."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect
from webhelpers import PASSWORDS, csrf_of

from ashiguard.adapters.db import SqlUnitOfWork
from ashiguard.adapters.db.models import (
    AuditEntry,
    Bar,
    BarInspection,
    Client,
    Practitioner,
    Room,
    TreatmentSession,
)
from ashiguard.adapters.db.repo import utcnow
from ashiguard.domain.errors import Conflict, Forbidden, NotFound, Refused
from ashiguard.domain.live_messages import SessionOutcome
from ashiguard.services.treatments import finish_session

TODAY = date.today()


def _token(client, role):
    r = client.post("/api/v1/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _clinic(db, *, inspected_days_ago=10):
    """A certified practitioner (62 kg), a room with two 3000 N bars inspected
    ``inspected_days_ago`` days ago (None: never) and a client without an intake."""
    with db.session() as s:
        pr = Practitioner(
            name="Api Therapist",
            mass_kg=62.0,
            training_hours=120,
            active=True,
            technique="ashiatsu",
            certification="Ashiatsu Guild",
            certified_on=TODAY - timedelta(days=400),
            certified_until=TODAY + timedelta(days=300),
        )
        room = Room(name="Api room", notes="")
        s.add_all([pr, room])
        s.flush()
        bars = [
            Bar(room_id=room.id, label=lab, rated_load_n=3000.0, inspection_interval_days=90)
            for lab in ("left", "right")
        ]
        s.add_all(bars)
        s.flush()
        if inspected_days_ago is not None:
            for b in bars:
                s.add(
                    BarInspection(
                        bar_id=b.id,
                        inspected_on=TODAY - timedelta(days=inspected_days_ago),
                        inspector="Bo",
                        passed=True,
                        notes="",
                    )
                )
        c = Client(ref="c-api-live", name="Api Live", created_at=utcnow())
        s.add(c)
        s.flush()
        return {"practitioner_id": pr.id, "room_id": room.id, "client_id": c.id}


def _screen(client, h, ids, **facts):
    intake = {
        "schema": "ashiguard.intake/1",
        "date": TODAY.isoformat(),
        "client": {"id": "c-api-live", "height_cm": 170, "weight_kg": 70},
        **facts,
    }
    r = client.post(
        f"/api/v1/clients/{ids['client_id']}/intakes", json={"intake": intake}, headers=h
    )
    assert r.status_code == 201, r.text
    signed = client.post(
        f"/api/v1/clients/{ids['client_id']}/consent",
        json={"typed_name": "Api Client", "agreed": True},
        headers=h,
    )
    assert signed.status_code == 201, signed.text
    return r.json()["screening"]["decision"]


def _count(db, model, **where):
    with db.session() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return s.scalar(stmt)


class _SpyHub:
    """The app's live sessions, with ``start`` and ``stop`` recorded instead of run; ``stop``
    stores an outcome the way the live-session runner does (``finish_session``)."""

    def __init__(self, real, db):
        self.real, self.db = real, db
        self.started, self.stopped = [], []

    def start(self, session_id, **opts):
        self.started.append((session_id, opts))
        return True

    def stop(self, session_id, timeout=30.0):
        self.stopped.append(session_id)
        with SqlUnitOfWork(self.db) as uow:
            outcome = SessionOutcome(frames=42, error="source lost", recording_bytes=9)
            finish_session(uow, session_id, outcome)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def spy(app, db):
    real = app.state.live
    app.state.live = _SpyHub(real, db)
    yield app.state.live
    app.state.live = real


def test_the_api_starts_a_session_past_the_gate_stops_it_and_shows_frames_and_error(
    client, db, spy
):
    ids = _clinic(db)
    h = _token(client, "therapist")
    assert _screen(client, h, ids) == "cleared"
    r = client.post("/api/v1/sessions", json={**ids, "source": "sim:mixed"}, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    sid = body["id"]
    assert body["status"] == "live" and body["source"] == "sim:mixed"
    assert body["frames"] is None and body["error"] is None
    assert spy.started == [(sid, {})]  # no duration_s given: none passed on
    got = client.get(f"/api/v1/sessions/{sid}", headers=h).json()
    assert got["status"] == "live"
    stopped = client.post(f"/api/v1/sessions/{sid}/stop", headers=h)
    assert stopped.status_code == 200, stopped.text
    assert spy.stopped == [sid]
    out = stopped.json()
    assert (out["status"], out["frames"], out["error"]) == ("ended", 42, "source lost")
    got = client.get(f"/api/v1/sessions/{sid}", headers=h).json()
    assert (got["status"], got["frames"], got["error"]) == ("ended", 42, "source lost")
    again = client.post(f"/api/v1/sessions/{sid}/stop", headers=h)
    assert again.status_code == 409
    assert again.json() == {"detail": f"session {sid} is not live (status ended)"}
    with db.session() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.entity == "session")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("create", f"client {ids['client_id']}, sim:mixed"),
        ("read", f"client {ids['client_id']} api"),
        ("update", "stopped"),
        ("read", f"client {ids['client_id']} api"),
    ]


def test_a_duration_is_passed_on_only_when_given_and_checked_first(client, db, spy):
    ids = _clinic(db)
    h = _token(client, "owner")
    _screen(client, h, ids)
    r = client.post(
        "/api/v1/sessions", json={**ids, "source": "sim:spine", "duration_s": 90}, headers=h
    )
    assert r.status_code == 201, r.text
    assert spy.started == [(r.json()["id"], {"duration_s": 90.0})]
    bad = client.post(
        "/api/v1/sessions", json={**ids, "source": "sim:spine", "duration_s": 0}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("body.duration_s:")
    src = client.post("/api/v1/sessions", json={**ids, "source": "replay:../x.h5"}, headers=h)
    assert src.status_code == 422
    assert src.json()["detail"].startswith("source: no recording")
    assert len(spy.started) == 1 and _count(db, TreatmentSession) == 1


def test_overdue_bar_inspections_refuse_the_start_with_409_and_every_reason(client, db, spy):
    ids = _clinic(db, inspected_days_ago=120)
    h = _token(client, "therapist")
    _screen(client, h, ids)
    r = client.post("/api/v1/sessions", json={**ids, "source": "sim:mixed"}, headers=h)
    assert r.status_code == 409
    body = r.json()
    assert body["detail"] == f"client {ids['client_id']}: not ready to treat"
    assert len(body["reasons"]) == 2
    assert body["reasons"][0].startswith("bar left: inspected ")
    assert "120 days ago" in body["reasons"][0] and body["reasons"][1].startswith("bar right:")
    assert spy.started == [] and _count(db, TreatmentSession) == 0
    assert _count(db, AuditEntry, action="refused", entity="session") == 1


def test_a_declining_screening_refuses_the_start_with_409(client, db, spy):
    ids = _clinic(db)
    h = _token(client, "therapist")
    assert _screen(client, h, ids, conditions=[{"code": "osteoporosis"}]) == "decline"
    r = client.post("/api/v1/sessions", json={**ids, "source": "sim:mixed"}, headers=h)
    assert r.status_code == 409
    assert any("screening decision is 'decline'" in x for x in r.json()["reasons"])
    assert _count(db, TreatmentSession) == 0


def test_session_start_needs_a_clinical_role_a_csrf_header_and_existing_records(
    client, as_role, db, spy
):
    ids = _clinic(db)
    start = {**ids, "source": "sim:mixed"}
    r = client.post("/api/v1/sessions", json=start, headers=_token(client, "front_desk"))
    assert r.status_code == 403
    c = as_role("therapist")
    r = c.post("/api/v1/sessions", json=start)
    assert r.status_code == 403 and "csrf_token" in r.json()["detail"]
    token = csrf_of(c)
    r = c.post("/api/v1/sessions", json=start, headers={"X-CSRF-Token": token})
    assert r.status_code == 422  # cookie and CSRF header accepted: the client has no screening
    assert r.json()["detail"].startswith("screening: this client has no screening")
    r = c.post(
        "/api/v1/sessions", json={**start, "client_id": 9999}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 404 and r.json() == {"detail": "client 9999 not found"}
    r = c.post("/api/v1/sessions", json={**start, "room_id": 9999}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and r.json()["detail"] == "room_id: no such record 9999"
    assert spy.started == []


def test_unknown_sessions_answer_404_naming_the_record(client):
    h = _token(client, "owner")
    for method, path in (("get", "/api/v1/sessions/777"), ("post", "/api/v1/sessions/777/stop")):
        r = getattr(client, method)(path, headers=h)
        assert r.status_code == 404
        assert r.json() == {"detail": "treatment_session 777 not found"}


def test_domain_errors_map_to_one_status_and_body_each_in_the_api_and_on_pages(app, client):
    reasons = ["bar left: no inspection date recorded", "certificate expired"]
    errors = {
        "not-found": NotFound("client 5 not found"),
        "conflict": Conflict("session 3 is signed: notes can no longer change"),
        "refused": Refused("client 5: not ready to treat", reasons),
        "forbidden": Forbidden("role 'researcher' may not start sessions"),
    }

    def raising(kind):
        def endpoint():
            raise errors[kind]

        return endpoint

    for kind in errors:
        app.add_api_route(f"/api/v1/test-errors/{kind}", raising(kind))
        app.add_api_route(f"/test-errors/{kind}", raising(kind))
    expected = {
        "not-found": (404, {"detail": "client 5 not found"}),
        "conflict": (409, {"detail": "session 3 is signed: notes can no longer change"}),
        "refused": (409, {"detail": "client 5: not ready to treat", "reasons": reasons}),
        "forbidden": (403, {"detail": "role 'researcher' may not start sessions"}),
    }
    for kind, (status, body) in expected.items():
        r = client.get(f"/api/v1/test-errors/{kind}")
        assert (r.status_code, r.json()) == (status, body), kind
        page = client.get(f"/test-errors/{kind}")
        assert page.status_code == status and "text/html" in page.headers["content-type"]
        assert body["detail"].replace("'", "&#39;") in page.text


FILE_TYPES = {"application/pdf", "text/csv", "application/fhir+json", "image/png"}


def test_every_json_endpoint_declares_its_response_schema(client):
    spec = client.get("/api/v1/openapi.json", headers=_token(client, "owner")).json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            if "application/json" not in ok["content"]:  # a file: its type is declared
                assert set(ok["content"]) <= FILE_TYPES, (method, path, ok["content"])
                continue
            schema = ok["content"]["application/json"]["schema"]
            assert schema != {}, (method, path)
            assert "$ref" in schema or schema.get("type") == "array", (method, path, schema)
    start = spec["paths"]["/api/v1/sessions"]["post"]["responses"]
    assert start["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/SessionOut")
    refusal = start["409"]["content"]["application/json"]["schema"]["$ref"]
    assert refusal.endswith("/RefusalOut")
    assert "reasons" in spec["components"]["schemas"]["RefusalOut"]["properties"]


def _wait_for_status(client, h, sid, status, limit_s=60.0):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        got = client.get(f"/api/v1/sessions/{sid}", headers=h).json()
        if got["status"] == status:
            return got
        time.sleep(0.2)
    raise AssertionError(f"session {sid} not {status} within {limit_s} s: {got}")


@pytest.mark.slow
def test_a_bearer_token_starts_watches_over_the_websocket_and_stops_a_live_session(app, client, db):
    app.state.live.speed = 8.0  # simulated time runs 8x faster than the wall clock
    ids = _clinic(db)
    h = _token(client, "therapist")
    _screen(client, h, ids)
    r = client.post("/api/v1/sessions", json={**ids, "source": "sim:mixed"}, headers=h)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["status"] == "live"
    with client.websocket_connect(f"/sessions/{sid}/ws", headers=h) as ws:  # no Origin header
        deadline = time.monotonic() + 30
        msg = ws.receive_json()
        while msg["type"] != "init" and time.monotonic() < deadline:
            msg = ws.receive_json()
        assert msg["type"] == "init" and msg["rows"] > 0
    with client.websocket_connect(
        f"/sessions/{sid}/ws", headers={**h, "origin": "http://elsewhere.example"}
    ) as ws:  # a bearer token is not ambient: no Origin check
        assert ws.receive_json()["type"] in ("init", "status", "frame", "alarm")
    bad = {"Authorization": "Bearer not-a-token"}
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        client.websocket_connect(f"/sessions/{sid}/ws", headers=bad) as ws,
    ):
        ws.receive_json()
    assert exc.value.code == 4401
    stopped = client.post(f"/api/v1/sessions/{sid}/stop", headers=h)
    assert stopped.status_code == 200, stopped.text
    out = stopped.json()
    assert out["status"] == "ended" and out["frames"] > 0 and out["error"] is None


@pytest.mark.slow
def test_a_session_with_a_duration_ends_by_itself(app, client, db):
    app.state.live.speed = 20.0
    ids = _clinic(db)
    h = _token(client, "owner")
    _screen(client, h, ids)
    r = client.post(
        "/api/v1/sessions", json={**ids, "source": "sim:baseline", "duration_s": 10}, headers=h
    )
    assert r.status_code == 201, r.text
    got = _wait_for_status(client, h, r.json()["id"], "ended")
    assert got["frames"] > 0 and got["error"] is None
