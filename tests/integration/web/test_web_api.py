"""The JSON API under /api/v1: token auth, records, field-naming 4xx, de-identified research."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select
from webhelpers import PASSWORDS

from ashiguard.adapters.db.models import AuditEntry, Client, Intake, Screening

TODAY = date.today().isoformat()


def _token(client, role):
    r = client.post("/api/v1/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_a_client_and_intake_round_trip_through_the_api(client, db):
    h = _token(client, "front_desk")
    r = client.post(
        "/api/v1/clients", json={"name": "Api Person", "birth_date": "1970-02-03"}, headers=h
    )
    assert r.status_code == 201, r.text
    cid, ref = r.json()["id"], r.json()["ref"]
    intake = {
        "schema": "ashiguard.intake/1",
        "date": TODAY,
        "client": {"id": ref},
        "procedures": [{"code": "spinal_fusion", "date": "2020-01-10"}],
    }
    r = client.post(f"/api/v1/clients/{cid}/intakes", json={"intake": intake}, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"] == 1
    assert body["screening"]["decision"] == "clearance_required"
    assert body["screening"]["findings"][0]["sources"]
    got = client.get(f"/api/v1/clients/{cid}", headers=h).json()
    assert got["intakes"][0]["intake"]["procedures"][0]["code"] == "spinal_fusion"
    assert "sessions" not in got  # front desk: no session data
    listing = client.get("/api/v1/clients?q=api", headers=h).json()
    assert listing["total"] == 1 and listing["clients"][0]["ref"] == ref
    sc = client.get(f"/api/v1/screenings/{body['id']}", headers=h).json()
    assert sc["screening"]["rules_version"]


def test_bad_api_input_answers_422_naming_the_field_and_stores_nothing(client, db):
    h = _token(client, "therapist")
    r = client.post("/api/v1/clients", json={"birth_date": "1970-02-03"}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("body.name:")
    r = client.post("/api/v1/clients", json={"name": "X", "birth_date": "03/02/1970"}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"] == "birth_date: expected YYYY-MM-DD, got '03/02/1970'"
    cid = client.post("/api/v1/clients", json={"name": "Valid"}, headers=h).json()["id"]
    ref = client.get(f"/api/v1/clients/{cid}", headers=h).json()["ref"]
    bad = {
        "schema": "ashiguard.intake/1",
        "date": TODAY,
        "client": {"id": ref},
        "vitals": {"sytolic_mmhg": 150},
    }
    r = client.post(f"/api/v1/clients/{cid}/intakes", json={"intake": bad}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("vitals.sytolic_mmhg: unknown field")
    other = {"schema": "ashiguard.intake/1", "date": TODAY, "client": {"id": "c-someone-else"}}
    r = client.post(f"/api/v1/clients/{cid}/intakes", json={"intake": other}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("client.id: must be this client's reference")
    r = client.get("/api/v1/clients?per_page=0", headers=h)
    assert r.status_code == 422 and r.json()["detail"].startswith("per_page:")
    with db.session() as s:
        assert s.scalar(select(func.count(Intake.id))) == 0
        assert s.scalar(select(func.count(Screening.id))) == 0
        assert s.scalar(select(func.count(Client.id))) == 1


def test_roles_are_enforced_on_the_api_with_403(client):
    h = _token(client, "front_desk")
    assert client.get("/api/v1/sessions", headers=h).status_code == 403
    assert client.get("/api/v1/users", headers=h).status_code == 403
    r = _token(client, "researcher")
    assert client.get("/api/v1/clients", headers=r).status_code == 403
    assert client.get("/api/v1/research/sessions", headers=r).status_code == 200


def test_the_api_with_a_browser_session_needs_the_csrf_header_for_changes(as_role, db):
    c = as_role("owner")
    r = c.post("/api/v1/rooms", json={"name": "Room X"})
    assert r.status_code == 403
    assert "csrf_token" in r.json()["detail"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == 0


def test_owner_manages_rooms_bars_inspections_practitioners_and_reads_the_audit_log(client):
    h = _token(client, "owner")
    room = client.post("/api/v1/rooms", json={"name": "Studio Z"}, headers=h).json()
    r = client.post(
        f"/api/v1/rooms/{room['id']}/bars", json={"label": "left", "rated_load_n": 50}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "rated_load_n: 50 N is outside 100 to 50000 N"
    bars = client.post(
        f"/api/v1/rooms/{room['id']}/bars", json={"label": "left", "rated_load_n": 2500}, headers=h
    ).json()["bars"]
    r = client.post(
        f"/api/v1/bars/{bars[0]['id']}/inspections",
        json={"inspected_on": TODAY, "inspector": "Ines", "passed": True},
        headers=h,
    )
    assert r.status_code == 201
    rooms = client.get("/api/v1/rooms", headers=h).json()
    assert rooms[0]["bars"][0]["inspections"][0]["inspector"] == "Ines"
    pr = client.post("/api/v1/practitioners", json={"name": "P", "mass_kg": 20}, headers=h)
    assert pr.status_code == 422 and pr.json()["detail"].startswith("mass_kg:")
    pr = client.post(
        "/api/v1/practitioners",
        json={
            "name": "P",
            "mass_kg": 65,
            "certification": "Guild",
            "certified_on": "2025-01-01",
            "certified_until": "2027-01-01",
        },
        headers=h,
    )
    assert pr.status_code == 201
    log = client.get("/api/v1/audit?entity=bar_inspection", headers=h).json()
    assert log["total"] == 1 and log["entries"][0]["username"] == "owner"
    assert client.get("/api/v1/audit?since=yesterday", headers=h).status_code == 422
    spec = client.get("/api/v1/openapi.json", headers=h).json()
    assert "/api/v1/clients/{client_id}/intakes" in spec["paths"]
    assert "/admin/users" not in spec["paths"]


def test_the_audit_log_records_api_reads_of_client_records(client, db):
    h = _token(client, "therapist")
    cid = client.post("/api/v1/clients", json={"name": "Read Me"}, headers=h).json()["id"]
    client.get(f"/api/v1/clients/{cid}", headers=h)
    with db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "read")).all()
    assert [(a.entity, a.entity_id, a.username) for a in rows] == [
        ("client", str(cid), "therapist")
    ]


def test_research_data_is_de_identified(client, db):
    from datetime import date as _date

    from ashiguard.adapters.db.models import Practitioner, Room, TreatmentSession
    from ashiguard.adapters.db.repo import utcnow

    with db.session() as s:
        c = Client(
            ref="c-secret-ref",
            name="Secret Name",
            birth_date=_date(1961, 5, 2),
            sex="female",
            phone="555-0199",
            created_at=utcnow(),
        )
        pr = Practitioner(name="P", mass_kg=60.0, active=True)
        room = Room(name="R", notes="")
        s.add_all([c, pr, room])
        s.flush()
        it = Intake(client_id=c.id, version=1, payload={}, pain_sites=[], created_at=utcnow())
        s.add(it)
        s.flush()
        sc = Screening(
            client_id=c.id,
            intake_id=it.id,
            screened_for=_date.today(),
            decision="modify",
            rules_version="v",
            payload={"restrictions": {"avoid_zones": ["kidney_left"]}},
            created_at=utcnow(),
        )
        s.add(sc)
        s.flush()
        s.add(
            TreatmentSession(
                client_id=c.id,
                practitioner_id=pr.id,
                room_id=room.id,
                screening_id=sc.id,
                status="signed",
                started_at=utcnow(),
                ended_at=utcnow(),
                recording_path="recordings/session-000001.h5",
                notes="Secret Name said hi",
                alerts=[{"kind": "kidney_pressure"}],
                summary={"frames": 10},
            )
        )
    h = _token(client, "researcher")
    rows = client.get("/api/v1/research/sessions", headers=h).json()
    assert len(rows) == 1
    text = json.dumps(rows)
    for secret in (
        "Secret Name",
        "c-secret-ref",
        "1961-05-02",
        "555-0199",
        "session-000001",
        "said hi",
    ):
        assert secret not in text
    row = rows[0]
    assert row["age_band"] in ("60-69", "50-59")
    assert row["subject"].startswith("s-") and row["decision"] == "modify"
    assert row["alerts"] == [{"kind": "kidney_pressure"}]
    again = client.get("/api/v1/research/sessions", headers=h).json()
    assert again[0]["subject"] == row["subject"]


def test_research_data_carries_no_recording_path_session_number_or_therapist_weight(client, db):
    """A stored summary as a live session leaves it (the analysis of a real recording) and an
    alarm episode with text in it: research output keeps measurements, shares and enums."""
    from ashiguard.adapters.db.models import Practitioner, Room, TreatmentSession
    from ashiguard.adapters.db.repo import utcnow

    summary = {
        "schema": "ashiguard.analysis/1",
        "recording": "/srv/clinic/data/recordings/session-000417.h5",
        "placement": "on_client",
        "frames": 3000,
        "therapist_weight_n": 612.34,
        "zones": {"erector_lumbar_left": {"peak_kpa": 41.5, "dose_kpa_s": 120.0}},
        "load": {
            "source": "mat",
            "bin_s": 1.0,
            "max_n": 301.7,
            "max_share": 0.4927,
            "allowed_share": 0.6,
            "series": [{"t": 0.0, "load_n": 250.1, "max_load_n": 301.7, "share": 0.4084}],
        },
        "symmetry": {
            "source": "mat",
            "mean_left_n": 140.2,
            "mean_right_n": 150.9,
            "index_percent": 7.3,
        },
        "session_id": 417,
    }
    with db.session() as s:
        c = Client(ref="c-00417", name="Research Subject", created_at=utcnow())
        pr = Practitioner(name="P", mass_kg=62.44, active=True)
        room = Room(name="R", notes="")
        s.add_all([c, pr, room])
        s.flush()
        it = Intake(client_id=c.id, version=1, payload={}, pain_sites=[], created_at=utcnow())
        s.add(it)
        s.flush()
        sc = Screening(
            client_id=c.id,
            intake_id=it.id,
            screened_for=date.today(),
            decision="proceed",
            rules_version="v",
            payload={},
            created_at=utcnow(),
        )
        s.add(sc)
        s.flush()
        s.add(
            TreatmentSession(
                client_id=c.id,
                practitioner_id=pr.id,
                room_id=room.id,
                screening_id=sc.id,
                status="ended",
                started_at=utcnow(),
                ended_at=utcnow(),
                recording_path="/srv/clinic/data/recordings/session-000417.h5",
                alerts=[
                    {
                        "kind": "comfort",
                        "priority": "low",
                        "t_start": 3.0,
                        "t_end": 3.0,
                        "zone": "erector_lumbar_left",
                        "peak": None,
                        "limit": None,
                        "unit": "kPa",
                        "text": "Research Subject: ouch",
                        "who": "Tess",
                    }
                ],
                summary=summary,
            )
        )
    h = _token(client, "researcher")
    rows = client.get("/api/v1/research/sessions", headers=h).json()
    text = json.dumps(rows)
    for leak in (
        "/srv/clinic",
        "session-000417",
        "612.3",
        "62.44",
        "301.7",
        "250.1",
        "ouch",
        "Tess",
        "Research Subject",
    ):
        assert leak not in text, leak
    row = rows[0]
    assert row["summary"]["zones"]["erector_lumbar_left"]["peak_kpa"] == 41.5
    assert row["summary"]["load"]["max_share"] == 0.4927
    assert row["summary"]["load"]["series"] == [{"t": 0.0, "share": 0.4084}]
    assert row["summary"]["symmetry"] == {"source": "mat", "index_percent": 7.3}
    assert row["alerts"][0]["kind"] == "comfort" and "text" not in row["alerts"][0]
    assert "session_id" not in row["summary"] and "id" not in row
