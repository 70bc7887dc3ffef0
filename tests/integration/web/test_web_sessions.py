"""Readiness gate, live session over the WebSocket (simulator), acknowledge, review and sign."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from webhelpers import csrf_of

from ashiguard.adapters.db.models import (
    AuditEntry,
    Bar,
    BarInspection,
    Client,
    Practitioner,
    Room,
    TreatmentSession,
    User,
)
from ashiguard.adapters.db.repo import utcnow

TODAY = date.today()


def _clinic(db, *, certified=True, inspected=True):
    with db.session() as s:
        # the practitioner is the "therapist" user's (who may then sign the session)
        therapist = s.scalar(select(User.id).where(User.username == "therapist"))
        pr = Practitioner(
            name="Mia Therapist",
            user_id=therapist,
            mass_kg=62.0,
            training_hours=120,
            active=True,
            technique="ashiatsu",
            certification="Ashiatsu Guild" if certified else "",
            certified_on=TODAY - timedelta(days=400) if certified else None,
            certified_until=TODAY + timedelta(days=300) if certified else None,
        )
        room = Room(name="Room 1", notes="")
        s.add_all([pr, room])
        s.flush()
        bars = [
            Bar(room_id=room.id, label=lab, rated_load_n=3000.0, inspection_interval_days=90)
            for lab in ("left", "right")
        ]
        s.add_all(bars)
        s.flush()
        if inspected:
            for b in bars:
                s.add(
                    BarInspection(
                        bar_id=b.id,
                        inspected_on=TODAY - timedelta(days=10),
                        inspector="Bo",
                        passed=True,
                        notes="",
                    )
                )
        c = Client(ref="c-live", name="Liv Client", created_at=utcnow())
        s.add(c)
        s.flush()
        return {"practitioner_id": pr.id, "room_id": room.id, "client_id": c.id}


def _intake(c, cid, *, consent=True, **fields):
    """Store an intake through the form; the client then signs the consent for it."""
    token = csrf_of(c, f"/clients/{cid}/intake")
    r = c.post(
        f"/clients/{cid}/intake",
        data={
            "csrf_token": token,
            "date": TODAY.isoformat(),
            "client.height_cm": "170",
            "client.weight_kg": "70",
            **fields,
        },
    )
    assert r.status_code == 303, r.text
    if consent:
        _consent(c, cid)


def _consent(c, cid):
    token = csrf_of(c, f"/clients/{cid}/consent")
    r = c.post(
        f"/clients/{cid}/consent",
        data={"csrf_token": token, "typed_name": "Liv Client", "agreed": "yes"},
    )
    assert r.status_code == 303, r.text


def test_a_session_needs_the_clients_consent_for_the_current_intake(as_role, db):
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"], consent=False)
    screening = c.get(c.get(f"/clients/{ids['client_id']}").url).text
    assert "Take the client's consent" in screening and "Start a session" not in screening
    r = _start(c, ids)
    assert r.status_code == 409
    assert "has not signed the consent to barefoot massage for intake v1" in r.text
    form = c.get(f"/clients/{ids['client_id']}/consent").text
    assert "Pressure on the spine" in form and "kidney" in form  # the risks, in plain words
    token = csrf_of(c, f"/clients/{ids['client_id']}/consent")
    bad = c.post(
        f"/clients/{ids['client_id']}/consent",
        data={"csrf_token": token, "typed_name": "Liv Client"},
    )
    assert bad.status_code == 400 and "tick the box" in bad.text
    _consent(c, ids["client_id"])
    assert "signed by Liv Client" in c.get(f"/clients/{ids['client_id']}").text
    r = _start(c, ids)
    assert r.status_code == 303, r.text
    stop_token = csrf_of(c, r.headers["location"])
    c.post(f"{r.headers['location']}/stop", data={"csrf_token": stop_token})
    # a new intake version needs a new signature
    _intake(c, ids["client_id"], consent=False)
    r = _start(c, ids)
    assert r.status_code == 409 and "for intake v2" in r.text


def _start(c, ids, source="sim:mixed"):
    token = csrf_of(c, f"/sessions/new?client_id={ids['client_id']}")
    return c.post(
        "/sessions/new",
        data={
            "csrf_token": token,
            "client_id": ids["client_id"],
            "practitioner_id": ids["practitioner_id"],
            "room_id": ids["room_id"],
            "source": source,
        },
    )


def test_the_gate_refuses_an_uncertified_practitioner_and_uninspected_bars_and_says_why(
    as_role, db
):
    ids = _clinic(db, certified=False, inspected=False)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    r = _start(c, ids)
    assert r.status_code == 409
    assert "Not ready to treat" in r.text
    assert "holds no barefoot (Ashiatsu) certificate" in r.text
    assert "bar left: no inspection date recorded" in r.text
    with db.session() as s:
        assert s.scalar(select(func.count(TreatmentSession.id))) == 0
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "refused")).all() == [
            "refused"
        ]


def test_the_gate_refuses_a_client_whose_screening_declines(as_role, db):
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"], **{"conditions.0.code": "osteoporosis"})
    r = _start(c, ids)
    assert r.status_code == 409
    assert "screening decision is &#39;decline&#39;" in r.text


def test_an_unknown_source_is_refused_naming_the_field(as_role, db):
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    r = _start(c, ids, source="replay:../../etc/passwd")
    assert r.status_code == 400
    assert "source: no recording" in r.text


def _read_until(ws, pred, limit_s=30.0):
    deadline = time.monotonic() + limit_s
    seen = []
    while time.monotonic() < deadline:
        m = ws.receive_json()
        seen.append(m)
        if pred(m):
            return m, seen
    raise AssertionError(f"not seen in {limit_s} s: {[x['type'] for x in seen][-20:]}")


@pytest.mark.slow
def test_a_live_session_streams_frames_and_alarms_and_ends_in_a_signed_review(
    as_role, db, app, settings
):
    app.state.live.speed = 8.0  # simulated time runs 8x faster than the wall clock
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    r = _start(c, ids, source="sim:spine")
    assert r.status_code == 303, r.text
    sid = int(re.fullmatch(r"/sessions/(\d+)", r.headers["location"]).group(1))
    page = c.get(f"/sessions/{sid}")
    assert "Live session" in page.text
    with c.websocket_connect(f"/sessions/{sid}/ws", headers={"origin": "http://testserver"}) as ws:
        init, _ = _read_until(ws, lambda m: m["type"] == "init")
        assert init["rows"] > 0 and init["zones"]
        _, seen = _read_until(ws, lambda m: m["type"] == "frame")
        alarm, seen2 = _read_until(
            ws,
            lambda m: (
                m["type"] == "alarm"
                and m["event"]["action"] == "raised"
                and m["event"]["kind"] == "spine_pressure"
            ),
            limit_s=60,
        )
        frames = [m for m in seen + seen2 if m["type"] == "frame"]
        ts = [m["t"] for m in frames]
        # thinned to 20/s on the session's own 50 ms grid: a view taken late (a tick that
        # took several frames) does not move the next, so two views may be closer than 50 ms,
        # never three within 50 ms, and there are no more than the grid steps they span
        assert all(c - a >= 0.05 - 1e-6 for a, c in zip(ts, ts[2:], strict=False))
        assert len(ts) <= (ts[-1] - ts[0]) / 0.05 + 1 + 1e-6
        ev = alarm["event"]
        assert ev["value"] > ev["limit"] and ev["unit"] == "kPa" and ev["rule"]
        token = csrf_of(c, f"/sessions/{sid}")
        ack = c.post(
            f"/sessions/{sid}/ack",
            json={"alarm_id": ev["alarm_id"]},
            headers={"X-CSRF-Token": token},
        )
        assert ack.status_code == 200, ack.text
        _read_until(ws, lambda m: m["type"] == "alarm" and m["event"]["action"] == "acknowledged")
        bad = c.post(
            f"/sessions/{sid}/ack", json={"alarm_id": 99999}, headers={"X-CSRF-Token": token}
        )
        assert bad.status_code == 409
    r = c.post(f"/sessions/{sid}/stop", data={"csrf_token": token})
    assert r.status_code == 303
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        assert t.status == "ended"
        assert (settings.data_dir / t.recording_path).is_file()
        assert t.recording_meta["frames"] > 100
        assert any(a["kind"] == "spine_pressure" for a in t.alerts)
        assert t.summary["load"]["series"]
    review = c.get(f"/sessions/{sid}")
    assert "Session review" in review.text
    for name in ("load", "dose", "alarms", "body"):
        png = c.get(f"/sessions/{sid}/plots/{name}.png")
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    r = c.post(
        f"/sessions/{sid}/sign",
        data={"csrf_token": token, "notes": "Worked erectors; client fine."},
    )
    assert r.status_code == 303
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        assert t.status == "signed" and t.notes == "Worked erectors; client fine."
    again = c.post(f"/sessions/{sid}/notes", data={"csrf_token": token, "notes": "changed"})
    assert again.status_code == 409
    with db.session() as s:
        assert s.get(TreatmentSession, sid).notes == "Worked erectors; client fine."


def test_a_front_desk_user_cannot_open_a_session_page_or_its_websocket(as_role, db):
    ids = _clinic(db)
    with db.session() as s:
        from ashiguard.adapters.db.models import Intake, Screening

        it = Intake(
            client_id=ids["client_id"], version=1, payload={}, pain_sites=[], created_at=utcnow()
        )
        s.add(it)
        s.flush()
        sc = Screening(
            client_id=ids["client_id"],
            intake_id=it.id,
            screened_for=TODAY,
            decision="cleared",
            rules_version="x",
            payload={},
            created_at=utcnow(),
        )
        s.add(sc)
        s.flush()
        t = TreatmentSession(
            client_id=ids["client_id"],
            practitioner_id=ids["practitioner_id"],
            room_id=ids["room_id"],
            screening_id=sc.id,
            status="ended",
            started_at=utcnow(),
            notes="private",
        )
        s.add(t)
        s.flush()
        sid = t.id
    c = as_role("front_desk")
    assert c.get(f"/sessions/{sid}").status_code == 403
    import pytest
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as exc,
        c.websocket_connect(f"/sessions/{sid}/ws") as ws,
    ):
        ws.receive_json()
    assert exc.value.code == 4403


def test_the_screening_page_shows_the_per_zone_plan_for_the_chosen_therapist(as_role, db):
    ids = _clinic(db)
    c = as_role("therapist")
    token = csrf_of(c, f"/clients/{ids['client_id']}/intake")
    r = c.post(
        f"/clients/{ids['client_id']}/intake",
        data={
            "csrf_token": token,
            "date": TODAY.isoformat(),
            "conditions.0.code": "kidney_stones",
            "conditions.0.status": "resolved",
        },
    )
    page = c.get(r.headers["location"])
    assert "Session plan for Mia Therapist" in page.text
    row = re.search(r"<tr[^>]*><td>left kidney area.*?</tr>", page.text, re.S)
    assert row and "avoid" in row.group(0) and "endangerment" in row.group(0)
    assert re.search(r"<td>back of the left thigh</td>\s*<td>(?!avoid)", page.text)
