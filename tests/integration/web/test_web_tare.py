"""Zeroing and calibration of live sessions in the web app and the API (issue 14): the start
form's fields, calibration files on the equipment page, "zero now" (page route and API) with
its audit entry, its refusal while the sheet is loaded, and the review."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from test_web_api_sessions import _clinic as _api_clinic
from test_web_api_sessions import _screen, _token
from test_web_sessions import _clinic, _intake, _read_until
from webhelpers import csrf_of

from ashiguard.adapters.db.models import AuditEntry, TreatmentSession

CAL = {"schema": "ashiguard.calibration/1", "kpa_per_count": 0.05, "source": "lab, 4 loads"}


def _start(c, ids, source="sim:baseline", **fields):
    token = csrf_of(c, f"/sessions/new?client_id={ids['client_id']}")
    return c.post(
        "/sessions/new",
        data={
            "csrf_token": token,
            "client_id": ids["client_id"],
            "practitioner_id": ids["practitioner_id"],
            "room_id": ids["room_id"],
            "source": source,
            **fields,
        },
    )


def _upload(c, name, content):
    token = csrf_of(c, "/")
    return c.post(
        "/admin/calibrations",
        data={"csrf_token": token},
        files={"file": (name, content, "application/octet-stream")},
    )


def test_the_owner_uploads_a_checked_calibration_file_that_the_start_form_then_offers(
    as_role, db, app
):
    owner = as_role("owner")
    bad = _upload(owner, "mat.json", json.dumps({**CAL, "kpa_per_count": -1}).encode())
    assert bad.status_code == 400
    assert "mat.json: kpa_per_count: kpa_per_count must be a number &gt; 0" in bad.text
    bad = _upload(owner, "mat.csv", b"row,col,kpa_per_count\n0,0,0.05\n1,1,0.05\n")
    assert bad.status_code == 400 and "mat.csv: sensel [0, 1] has no factor" in bad.text
    assert _upload(owner, "../evil.txt", b"x").status_code == 400
    ok = _upload(owner, "mat 1.json", json.dumps(CAL).encode())
    assert ok.status_code == 303
    page = owner.get("/admin/rooms")
    assert "mat 1.json (0.05 kPa per count, lab, 4 loads)" in page.text
    assert (app.state.settings.data_dir / "calibrations" / "mat 1.json").is_file()
    therapist = as_role("therapist")
    assert _upload(therapist, "x.json", json.dumps(CAL).encode()).status_code == 403
    ids = _clinic(db)
    form = therapist.get(f"/sessions/new?client_id={ids['client_id']}")
    assert 'name="tare_first_s"' in form.text and "Zero the sheet on the first" in form.text
    assert '<option value="mat 1.json">mat 1.json (0.05 kPa per count' in form.text
    with db.session() as s:
        audit = s.execute(
            select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.detail).where(
                AuditEntry.entity == "calibration"
            )
        ).all()
    assert [tuple(a) for a in audit] == [("create", "mat 1.json", "kPa per count 0.05")]


def test_a_bad_zeroing_window_or_a_calibration_for_a_kpa_sensor_is_said_on_the_form(
    as_role, db, app
):
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    r = _start(c, ids, tare_first_s="99")
    assert r.status_code == 400
    assert "tare_first_s: must be 0 (no zeroing) or between 0.2 and 30 s, got 99" in r.text
    r = _start(c, ids, calibration="none.json")
    assert r.status_code == 400 and "calibration: no calibration file" in r.text
    with db.session() as s:
        assert s.scalar(select(TreatmentSession.id)) is None  # nothing started


@pytest.mark.slow
def test_zero_now_on_the_live_page_removes_the_sheets_offset_and_is_audited_and_reviewed(
    as_role, db, app
):
    app.state.live.speed = 4.0
    app.state.live.sim_options = {"offset_kpa": 3.0, "unloaded_s": 600.0}
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    r = _start(c, ids, tare_first_s="0.5")
    assert r.status_code == 303, r.text
    sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
    page = c.get(f"/sessions/{sid}")
    assert 'id="zero-now"' in page.text and "Zero now" in page.text
    with c.websocket_connect(f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}) as ws:
        first, _ = _read_until(ws, lambda m: m["type"] == "status" and m["tare"])
        zeroed, _ = _read_until(
            ws, lambda m: m["type"] == "status" and m["tare"]["state"] == "zeroed"
        )
        assert zeroed["tare"]["zeroed"]["who"] == "start"
        assert zeroed["tare"]["zeroed"]["offset_max"] == pytest.approx(3.0, abs=0.05)
        frame, _ = _read_until(ws, lambda m: m["type"] == "frame")
        assert frame["peak_kpa"] < 0.5  # the offset is gone (its noise is left)
        assert c.post(f"/sessions/{sid}/tare", json={}).status_code == 403  # no CSRF token
        token = csrf_of(c, f"/sessions/{sid}")
        r = c.post(f"/sessions/{sid}/tare", json={}, headers={"X-CSRF-Token": token})
        assert r.status_code == 202 and r.json()["requested"] is True
        again, _ = _read_until(
            ws,
            lambda m: (
                m["type"] == "status"
                and m["tare"]["state"] == "zeroed"
                and m["tare"]["zeroed"]["who"] != "start"
            ),
        )
        assert again["tare"]["zeroed"]["frames"] > 0
    assert first["tare"]["state"] in ("zeroing", "zeroed")
    token = csrf_of(c, f"/sessions/{sid}")
    assert c.post(f"/sessions/{sid}/stop", data={"csrf_token": token}).status_code == 303
    review = c.get(f"/sessions/{sid}")
    assert "Sheet zeroing" in review.text
    assert "Zeroed at 00:00 (50 frames, largest offset 3.0 kPa)" in review.text
    i = review.text.find('id="review-tare"')
    assert re.search(
        r"Zeroed at \d\d:\d\d \(5[01] frames, largest offset 3.0 kPa, asked by ", review.text
    ), review.text[i : i + 500]
    with db.session() as s:
        details = s.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.action == "zero", AuditEntry.entity_id == str(sid)
            )
        ).all()
    assert len(details) == 1 and details[0].startswith("zero now by ")


@pytest.mark.slow
def test_zero_now_while_the_therapist_stands_on_the_sheet_is_refused_with_the_reason(
    as_role, db, app
):
    app.state.live.speed = 4.0
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    r = _start(c, ids, tare_first_s="0")
    sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
    with c.websocket_connect(f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}) as ws:
        _read_until(ws, lambda m: m["type"] == "frame" and m["peak_kpa"] > 30)
        token = csrf_of(c, f"/sessions/{sid}")
        r = c.post(f"/sessions/{sid}/tare", json={}, headers={"X-CSRF-Token": token})
        assert r.status_code == 202
        refused, _ = _read_until(
            ws, lambda m: m["type"] == "status" and m["tare"] and m["tare"]["refused"]
        )
    reason = refused["tare"]["refused"]["reason"]
    assert reason.startswith("the sheet is loaded now (a sensel reads")
    assert "zeroing now would hide that pressure from the alarms" in reason
    assert refused["tare"]["state"] == "not_zeroed"
    token = csrf_of(c, f"/sessions/{sid}")
    c.post(f"/sessions/{sid}/stop", data={"csrf_token": token})
    review = c.get(f"/sessions/{sid}")
    assert "Zeroing refused at" in review.text


def test_the_api_takes_the_zeroing_fields_names_a_bad_one_and_zeroes_a_live_session(
    client, db, app
):
    app.state.live.speed = 4.0
    # the sheet stays empty: "zero now" is zeroed however late the request comes (a loaded
    # sheet's refusal is tested on its own)
    app.state.live.sim_options = {"unloaded_s": 600.0}
    ids = _api_clinic(db)
    h = _token(client, "therapist")
    _screen(client, h, ids)
    bad = client.post(
        "/api/v1/sessions", json={**ids, "source": "sim:baseline", "tare_first_s": -1}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("tare_first_s: must be 0")
    bad = client.post(
        "/api/v1/sessions",
        json={**ids, "source": "sim:baseline", "calibration": "x.json"},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("calibration: no calib")
    r = client.post(
        "/api/v1/sessions", json={**ids, "source": "sim:baseline", "tare_first_s": 0.5}, headers=h
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    with client.websocket_connect(f"/sessions/{sid}/ws", headers=h) as ws:
        _read_until(ws, lambda m: m["type"] == "status" and m["tare"]["state"] == "zeroed")
        z = client.post(f"/api/v1/sessions/{sid}/tare", headers=h)
        assert z.status_code == 202 and z.json() == {"requested": True, "who": "Therapist"}
        _read_until(
            ws,
            lambda m: (
                m["type"] == "status"
                and m["tare"]["state"] == "zeroed"
                and m["tare"]["zeroed"]["who"] == "Therapist"
            ),
        )
    assert client.post(f"/api/v1/sessions/{sid}/stop", headers=h).status_code == 200
    again = client.post(f"/api/v1/sessions/{sid}/tare", headers=h)
    assert again.status_code == 409 and "is not live" in again.json()["detail"]
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        events = t.recording_meta["tare"]["events"]
    assert [(e["who"], e["status"]) for e in events] == [
        ("start", "zeroed"),
        ("Therapist", "zeroed"),
    ]


@pytest.mark.redis
@pytest.mark.slow
def test_zero_now_reaches_a_session_on_a_worker_over_redis_like_an_acknowledgement(
    settings, db, users, redis_url
):
    from test_web_cluster import _stop, _worker
    from webhelpers import login, make_client

    from ashiguard.bootstrap import make_app
    from ashiguard.settings import Settings

    broker_settings = Settings(
        data_dir=settings.data_dir, database_url=settings.url, broker_url=redis_url
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    a, b = make_app(broker_settings, db), make_app(broker_settings, db)
    for x in (a, b):
        x.state.live.speed = 4.0
        x.state.live.sim_options = {"offset_kpa": 3.0, "unloaded_s": 600.0}
    worker = _worker(broker_settings, redis_url, "w-tare")
    try:
        ids = _clinic(db)
        with make_client(a) as ca, make_client(b) as cb:
            assert login(ca, "therapist").status_code == 303
            assert login(cb, "therapist").status_code == 303
            _intake(ca, ids["client_id"])
            r = _start(ca, ids, tare_first_s="0")
            assert r.status_code == 303, r.text
            sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
            with cb.websocket_connect(
                f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}
            ) as ws:
                frame, _ = _read_until(ws, lambda m: m["type"] == "frame", limit_s=60)
                assert frame["peak_kpa"] == pytest.approx(3.0, abs=0.5)  # not zeroed
                token = csrf_of(cb, f"/sessions/{sid}")
                z = cb.post(f"/sessions/{sid}/tare", json={}, headers={"X-CSRF-Token": token})
                assert z.status_code == 202, z.text
                _read_until(
                    ws,
                    lambda m: m["type"] == "status" and m["tare"]["state"] == "zeroed",
                    limit_s=60,
                )
                _read_until(ws, lambda m: m["type"] == "frame" and m["peak_kpa"] < 0.5)
            token = csrf_of(ca, f"/sessions/{sid}")
            assert ca.post(f"/sessions/{sid}/stop", data={"csrf_token": token}).status_code == 303
        with db.session() as s:
            events = s.get(TreatmentSession, sid).recording_meta["tare"]["events"]
        assert [(e["who"], e["status"]) for e in events] == [("Therapist", "zeroed")]
    finally:
        _stop(worker)
        for x in (a, b):
            x.state.live.stop_all()
            x.state.live.broker.close()
