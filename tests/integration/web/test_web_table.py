"""At the table over the web: markers, acknowledge all, the status a reload gets back."""

from __future__ import annotations

import re

import pytest
from test_web_sessions import _clinic, _intake, _read_until, _start
from webhelpers import PASSWORDS, csrf_of

from ashiguard.adapters.db.models import AuditEntry, TreatmentSession
from ashiguard.adapters.recording import open_recording

pytestmark = pytest.mark.slow
ORIGIN = {"origin": "http://testserver"}


def test_markers_acknowledge_all_and_a_reload_that_keeps_the_history(as_role, db, app, settings):
    app.state.live.speed = 8.0
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    r = _start(c, ids, source="sim:spine")
    sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
    token = csrf_of(c, f"/sessions/{sid}")
    hdr = {"X-CSRF-Token": token}
    with c.websocket_connect(f"/sessions/{sid}/ws", headers=ORIGIN) as ws:
        init, _ = _read_until(ws, lambda m: m["type"] == "init")
        assert init["targets"] and init["zone_words"]["spine_lumbar"] == "lower-back spine"
        _read_until(ws, lambda m: m["type"] == "frame")
        r = c.post(f"/sessions/{sid}/markers", json={"kind": "too_much", "client": True},
                   headers=hdr)  # fmt: skip
        assert r.status_code == 202 and r.json()["who"] == "client"
        m, _ = _read_until(ws, lambda m: m["type"] == "marker")
        assert m["marker"]["kind"] == "too_much" and m["marker"]["who"] == "client"
        bad = c.post(f"/sessions/{sid}/markers", json={"kind": "ouch"}, headers=hdr)
        assert bad.status_code == 422 and bad.json()["detail"].startswith("kind: must be one of")
        assert c.post(f"/sessions/{sid}/markers", json={"kind": "too_much"}).status_code == 403
        _read_until(
            ws,
            lambda m: (
                m["type"] == "status"
                and any(
                    g["kind"] == "spine_pressure" and g["state"] == "active" for g in m["groups"]
                )
            ),
            limit_s=60,
        )
        r = c.post(f"/sessions/{sid}/ack", json={"all": True}, headers=hdr)
        assert r.status_code == 200 and r.json()["acknowledged"]
        _read_until(
            ws,
            lambda m: (
                m["type"] == "status"
                and all(
                    g["state"] != "active" for g in m["groups"] if g["kind"] == "spine_pressure"
                )
            ),
        )
    # a reload: the new viewer gets init, then the status with the groups, log and markers
    with c.websocket_connect(f"/sessions/{sid}/ws", headers=ORIGIN) as again:
        assert again.receive_json()["type"] == "init"
        status = again.receive_json()
        assert status["type"] == "status"
        assert [mk["kind"] for mk in status["markers"]] == ["too_much"]
        assert any(g["kind"] == "comfort" for g in status["groups"])
        assert any("Client said too much" in e["text"] for e in status["log"])
    # the API: a bearer client marks a technique change
    api = c.post(
        "/api/v1/auth/token", json={"username": "therapist", "password": PASSWORDS["therapist"]}
    ).json()["token"]
    auth = {"Authorization": f"Bearer {api}"}
    r = c.post(f"/api/v1/sessions/{sid}/markers", json={"kind": "technique_change"},
               headers=auth)  # fmt: skip
    assert r.status_code == 202 and r.json() == {
        "kind": "technique_change", "text": "", "who": "Therapist",
    }  # fmt: skip
    r = c.post(f"/api/v1/sessions/{sid}/markers", json={"kind": "label"}, headers=auth)
    assert r.status_code in (400, 422) and "text" in r.text
    assert c.post(f"/sessions/{sid}/stop", data={"csrf_token": token}).status_code == 303
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        path = settings.data_dir / t.recording_path
        assert t.recording_meta["error"] is None
        assert any(a["kind"] == "comfort" for a in t.alerts)
        actions = [a.detail for a in s.query(AuditEntry).filter_by(action="mark")]
        assert actions == ["too_much by client", "technique_change by Therapist"]
    with open_recording(path) as rec:
        assert [n["kind"] for n in rec.annotations()] == ["too_much", "technique_change"]
    r = c.post(f"/api/v1/sessions/{sid}/markers", json={"kind": "too_much"}, headers=auth)
    assert r.status_code == 409  # the session is over
