"""Owner pages and the dashboard: users, practitioners, rooms, bars, inspections, audit filters."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select
from webhelpers import csrf_of, login, make_client

from ashiguard.adapters.db.models import AuditEntry, Bar, BarInspection, Practitioner, Room, User

TODAY = date.today()


def test_a_bad_practitioner_form_keeps_the_values_and_stores_nothing(as_role, db):
    c = as_role("owner")
    token = csrf_of(c, "/admin/practitioners")
    r = c.post(
        "/admin/practitioners",
        data={
            "csrf_token": token,
            "name": "Kim Feet",
            "mass_kg": "12",
            "certification": "Guild",
            "training_hours": "40",
        },
    )
    assert r.status_code == 400
    assert "mass_kg: 12 kg is outside 30 to 250 kg" in r.text
    assert 'value="Kim Feet"' in r.text and 'value="Guild"' in r.text
    r = c.post(
        "/admin/practitioners",
        data={"csrf_token": token, "name": "Kim Feet", "mass_kg": "64", "certification": "Guild"},
    )
    assert r.status_code == 400 and "certified_on: required when a certification is given" in r.text
    with db.session() as s:
        assert s.scalar(select(func.count(Practitioner.id))) == 0
    r = c.post(
        "/admin/practitioners",
        data={
            "csrf_token": token,
            "name": "Kim Feet",
            "mass_kg": "64",
            "certification": "Guild",
            "certified_on": "2025-01-01",
            "certified_until": (TODAY + timedelta(days=10)).isoformat(),
        },
    )
    assert r.status_code == 303
    dash = c.get("/")
    assert "Kim Feet" in dash.text  # certification expiring within 30 days


def test_rooms_bars_and_inspections_drive_the_dashboard(as_role, db):
    c = as_role("owner")
    token = csrf_of(c, "/admin/rooms")
    assert c.post("/admin/rooms", data={"csrf_token": token, "name": "Room Q"}).status_code == 303
    assert c.post("/admin/rooms", data={"csrf_token": token, "name": "Room Q"}).status_code == 400
    with db.session() as s:
        room_id = s.scalar(select(Room.id))
    r = c.post(
        f"/admin/rooms/{room_id}/bars",
        data={"csrf_token": token, "label": "L", "rated_load_n": "heavy"},
    )
    assert r.status_code == 400 and "rated_load_n: must be a number (got &#39;heavy&#39;)" in r.text
    assert 'value="heavy"' in r.text
    r = c.post(
        f"/admin/rooms/{room_id}/bars",
        data={"csrf_token": token, "label": "L", "rated_load_n": "2500"},
    )
    assert r.status_code == 303
    assert "never inspected" in c.get("/").text
    with db.session() as s:
        bar_id = s.scalar(select(Bar.id))
    future = (TODAY + timedelta(days=1)).isoformat()
    r = c.post(
        f"/admin/bars/{bar_id}/inspections",
        data={"csrf_token": token, "inspected_on": future, "inspector": "Ida", "passed": "yes"},
    )
    assert r.status_code == 400 and "inspected_on: lies in the future" in r.text
    r = c.post(
        f"/admin/bars/{bar_id}/inspections",
        data={
            "csrf_token": token,
            "inspected_on": TODAY.isoformat(),
            "inspector": "Ida",
            "passed": "yes",
        },
    )
    assert r.status_code == 303
    with db.session() as s:
        assert s.scalar(select(func.count(BarInspection.id))) == 1
    assert "All bars inspected." in c.get("/").text
    audit = c.get("/admin/audit?entity=bar_inspection")
    assert "Ida" not in audit.text and "bar 1: passed" in audit.text
    assert re.search(r'id="audit-count">1 entry<', audit.text)
    assert c.get("/admin/audit?since=notadate").status_code == 400
    # the filters match whatever the case; a reversed date range is refused, saying why
    assert re.search(r'id="audit-count">1 entry<', c.get("/admin/audit?entity=BAR_Inspection").text)
    owner_rows = c.get("/admin/audit?user=OWNER")
    assert "Nothing matches." not in owner_rows.text
    reversed_range = c.get(f"/admin/audit?since={TODAY.isoformat()}&until=2020-01-01")
    assert reversed_range.status_code == 400
    assert "until: 2020-01-01 is before since" in reversed_range.text


def test_the_owner_adds_and_deactivates_a_user_who_then_cannot_log_in(as_role, app, db):
    c = as_role("owner")
    token = csrf_of(c, "/admin/users")
    r = c.post(
        "/admin/users",
        data={"csrf_token": token, "username": "newbie", "password": "short", "role": "therapist"},
    )
    assert r.status_code == 400 and "password: at least 12 characters" in r.text
    assert (
        'value="newbie"' in r.text
        and "short" not in r.text.split("Add a user")[1].split("</form>")[0]
    )
    bad_role = c.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "newbie",
            "password": "long-enough-pw",
            "role": "boss",
        },
    )
    assert bad_role.status_code == 400
    assert "role: must be one of owner, therapist, front_desk, researcher" in bad_role.text
    r = c.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "newbie",
            "password": "long-enough-pw",
            "role": "therapist",
        },
    )
    assert r.status_code == 303
    with db.session() as s:
        uid = s.scalar(select(User.id).where(User.username == "newbie"))
    assert (
        c.post(
            f"/admin/users/{uid}/active", data={"csrf_token": token, "active": "false"}
        ).status_code
        == 303
    )
    with make_client(app) as other:
        assert login(other, "newbie", "long-enough-pw").status_code == 401


def test_editing_a_practitioner_starts_from_the_stored_values_and_changes_only_what_changed(
    as_role, db
):
    c = as_role("owner")
    token = csrf_of(c, "/admin/practitioners")
    r = c.post(
        "/admin/practitioners",
        data={
            "csrf_token": token,
            "name": "Ada Heel",
            "certification": "Ashiatsu Guild",
            "certified_on": "2025-02-01",
            "certified_until": (TODAY + timedelta(days=200)).isoformat(),
            "training_hours": "120",
            "mass_kg": "61",
        },
    )
    assert r.status_code == 303
    with db.session() as s:
        pid = s.scalar(select(Practitioner.id).where(Practitioner.name == "Ada Heel"))
    page = c.get(f"/admin/practitioners?edit={pid}")
    assert page.status_code == 200
    # the form is filled with what is stored, so saving it unchanged changes nothing
    for value in (
        'value="Ada Heel"',
        'value="Ashiatsu Guild"',
        'value="2025-02-01"',
        'value="120"',
    ):
        assert value in page.text, value
    assert "Update Ada Heel" in page.text
    r = c.post("/admin/practitioners", data={"csrf_token": token, "id": str(pid), "mass_kg": "63"})
    assert r.status_code == 303
    with db.session() as s:
        pr = s.get(Practitioner, pid)
        assert (pr.certification, pr.training_hours, pr.mass_kg) == ("Ashiatsu Guild", 120.0, 63.0)
        entry = s.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "practitioner", AuditEntry.action == "update"
            )
        ).one()
    assert entry.detail == "Ada Heel: mass_kg: 61 -> 63"
    assert c.get("/admin/practitioners?edit=999999").status_code == 404
