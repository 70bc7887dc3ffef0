"""SOAP notes through the review page and the API: measured facts, templates, the body chart,
locking at signing (409 through the page and the API), signed addenda in order, audit."""

from __future__ import annotations

import re
import threading
import time
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import select, text
from webhelpers import PASSWORDS, csrf_of

from ashiguard.adapters.db import SqlUnitOfWork
from ashiguard.adapters.db.models import (
    AuditEntry,
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
from ashiguard.domain.errors import Conflict
from ashiguard.services import soap_notes, treatments
from ashiguard.services.soap_notes import NoteInput
from ashiguard.services.uow import Actor

SUMMARY = {
    "frames": 3000,
    "t_first": 0.0,
    "t_last": 299.9,
    "therapist_weight_n": 600.0,
    "zones": {"erector_lumbar_left": {"contact_s": 130.0}, "gluteal_right": {"contact_s": 40.0}},
    "load": {
        "max_n": 301.7,
        "max_share": 0.5028,
        "allowed_share": 0.6,
        "series": [{"t": 0.0, "load_n": 200.0}, {"t": 1.0, "load_n": 300.0}],
    },
}
ALERTS = [
    {
        "kind": "spine_pressure",
        "priority": "high",
        "zone": "spine_lumbar",
        "t_start": 1.0,
        "t_end": 2.0,
        "peak": 180.0,
        "limit": 120.0,
        "unit": "kPa",
    }
]


def _ended_session(db, *, template=False):
    with db.session() as s:
        therapist = s.scalar(select(User.id).where(User.username == "therapist"))
        c = Client(ref="c-soap", name="Sara Client", created_at=utcnow())
        room = Room(name="Studio", notes="")
        pr = Practitioner(
            name="Mia Therapist",
            user_id=therapist,
            mass_kg=61.2,
            active=True,
            certification="Ashiatsu Guild",
            certified_until=date.today() + timedelta(days=300),
        )
        s.add_all([c, room, pr])
        s.flush()
        it = Intake(client_id=c.id, version=1, payload={}, pain_sites=[], created_at=utcnow())
        s.add(it)
        s.flush()
        sc = Screening(
            client_id=c.id,
            intake_id=it.id,
            screened_for=date.today(),
            decision="cleared",
            rules_version="v",
            payload={"decision": "cleared", "findings": []},
            created_at=utcnow(),
        )
        s.add(sc)
        s.flush()
        now = utcnow()
        t = TreatmentSession(
            client_id=c.id,
            practitioner_id=pr.id,
            room_id=room.id,
            screening_id=sc.id,
            status="ended",
            started_at=now - timedelta(seconds=305),
            ended_at=now,
            summary=SUMMARY,
            alerts=ALERTS,
            recording_meta={"frames": 3000, "error": None},
            notes="",
        )
        s.add(t)
        if template:
            s.add(
                NoteTemplate(
                    name="Lower back",
                    subjective="Client reports stiffness in the lower back.",
                    assessment="Tight lower-back muscles.",
                    plan="Weekly for four weeks.",
                    updated_at=now,
                )
            )
        s.flush()
        return t.id


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _note_form(token, **extra):
    data = {
        "csrf_token": token,
        "subjective": "Sore after gardening.",
        "objective": "Skin warm, no bruising.",
        "assessment": "Tight lower back.",
        "plan": "Again in a week.",
        "areas": ["erector_lumbar_left", "gluteal_right"],
        "pain_before": "6",
        "pain_after": "2",
        "notes": "Brought her own towel.",
    }
    data.update(extra)
    return data


def _token(client, role):
    r = client.post("/api/v1/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_the_review_page_offers_the_note_with_the_measured_facts_and_a_template(as_role, db):
    sid = _ended_session(db, template=True)
    c = as_role("therapist")
    page = c.get(f"/sessions/{sid}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Duration: 5 min 5 s." in text
    assert (
        "Load on the client: peak 302 N (50 % of the therapist's body weight; allowed 60 %), "
        "mean 250 N (42 %) while standing on the client." in text
    )
    assert "Zones worked: left lower-back muscles (2 min 10 s), right buttock (40 s)." in text
    assert "Alarms: 1 (1 × pressure on the spine (lower-back spine))." in text
    assert 'id="template-pick"' in page.text and "Lower back" in page.text
    tpl = re.search(r'<option value="(\d+)"[^>]*>Lower back', page.text).group(1)
    picked = c.get(f"/sessions/{sid}?template={tpl}").text
    assert "Client reports stiffness in the lower back." in picked
    assert f'name="template_id" value="{tpl}"' in picked
    assert 'data-zone="erector_lumbar_left"' in picked  # the body chart
    assert "<title>left lower-back muscles</title>" in picked


def test_a_note_is_saved_from_the_page_and_a_bad_score_is_shown_again_next_to_its_field(
    as_role, db
):
    sid = _ended_session(db, template=True)
    with db.session() as s:
        tpl = s.scalar(select(NoteTemplate.id))
    c = as_role("therapist")
    token = csrf_of(c)
    bad = c.post(
        f"/sessions/{sid}/note",
        data=_note_form(token, pain_after="11", template_id=str(tpl), assessment=""),
    )
    assert bad.status_code == 400
    assert "a whole number from 0 (none) to 10 (worst)" in bad.text
    assert re.search(r'<select name="pain_after" id="soap-pain_after" class="invalid"', bad.text)
    assert "Sore after gardening." in bad.text  # what was typed stays
    assert "From the clinic's template “Lower back”" in unescape(bad.text)
    r = c.post(f"/sessions/{sid}/note", data=_note_form(token, template_id=str(tpl), assessment=""))
    assert r.status_code == 303
    page = c.get(f"/sessions/{sid}").text
    assert "Sore after gardening." in page
    assert "Tight lower-back muscles." in page  # left empty: the template's words
    assert "From the clinic's template “Lower back”" in unescape(page)
    assert re.search(r'value="erector_lumbar_left" checked', page)
    assert re.search(r'<option value="6" selected>6</option>', page)
    assert "Brought her own towel." in page
    assert 'id="template-pick"' not in page  # picked when starting the note only
    with db.session() as s:
        detail = s.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "update", AuditEntry.entity == "session")
            .order_by(AuditEntry.id.desc())
        ).first()
    assert detail.startswith("SOAP note started: subjective, objective, assessment, plan")
    with db.session() as s:  # the audit log names the parts that changed, never their text
        details = " ".join(s.scalars(select(AuditEntry.detail)).all())
    assert "gardening" not in details and "towel" not in details


def test_signing_locks_the_note_and_neither_the_page_nor_the_api_can_change_it(as_role, db):
    sid = _ended_session(db)
    c = as_role("therapist")
    token = csrf_of(c)
    r = c.post(f"/sessions/{sid}/sign", data=_note_form(token))  # the note form's Sign button
    assert r.status_code == 303
    page = c.get(f"/sessions/{sid}").text
    assert 'id="soap-signed"' in page and 'id="sign-form"' not in page
    assert "Sore after gardening." in page and "6 before, 2 after" in page
    assert "Signed by" in _text(page) and "Ashiatsu Guild" in page
    for path, data in (
        (f"/sessions/{sid}/note", _note_form(token)),  # the very same text
        (f"/sessions/{sid}/note", _note_form(token, subjective="Changed.")),
        (f"/sessions/{sid}/notes", {"csrf_token": token, "notes": "Changed."}),
        (f"/sessions/{sid}/sign", _note_form(token)),
    ):
        assert c.post(path, data=data).status_code == 409, path
    api = c.put(
        f"/api/v1/sessions/{sid}/note",
        json={"subjective": "Changed.", "areas": []},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 409
    assert "locked" in api.json()["detail"]
    note = c.get(f"/api/v1/sessions/{sid}/note").json()
    assert (note["subjective"], note["notes"], note["locked"]) == (
        "Sore after gardening.",
        "Brought her own towel.",
        True,
    )


def test_addenda_are_signed_on_saving_and_shown_under_the_note_in_order(as_role, db):
    sid = _ended_session(db)
    c = as_role("therapist")
    token = csrf_of(c)
    early = c.post(f"/sessions/{sid}/addenda", data={"csrf_token": token, "text": "Too early"})
    assert early.status_code == 409
    assert c.post(f"/sessions/{sid}/sign", data=_note_form(token)).status_code == 303
    empty = c.post(f"/sessions/{sid}/addenda", data={"csrf_token": token, "text": "  "})
    assert empty.status_code == 400 and "write the addendum" in empty.text
    first = c.post(
        f"/sessions/{sid}/addenda", data={"csrf_token": token, "text": "Pain after was 3."}
    )
    assert first.status_code == 303
    owner = as_role("owner")
    r = owner.post(
        f"/api/v1/sessions/{sid}/addenda",
        json={"text": "Checked with the client by phone."},
        headers={"X-CSRF-Token": csrf_of(owner)},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["signed_by"], r.json()["signed_as"]) == ("Owner", "owner")
    page = c.get(f"/sessions/{sid}").text
    texts = re.findall(r'<li id="addendum-\d+"><p class="prewrap">([^<]*)</p>', page)
    assert texts == ["Pain after was 3.", "Checked with the client by phone."]
    assert "Signed by <strong>Therapist</strong>" in page
    note = c.get(f"/api/v1/sessions/{sid}/note").json()
    assert [a["signed_as"] for a in note["addenda"]] == ["therapist", "owner"]
    assert note["subjective"] == "Sore after gardening."  # the note itself did not change
    with db.session() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(sid))).all()
    assert actions.count("addendum") == 2 and "sign" in actions


def test_the_api_reads_and_writes_the_note_and_keeps_the_plain_notes_field(client, db):
    sid = _ended_session(db, template=True)
    h = _token(client, "therapist")
    empty = client.get(f"/api/v1/sessions/{sid}/note", headers=h).json()
    assert empty["started"] is False and empty["objective_measured"][0] == "Duration: 5 min 5 s."
    templates = client.get("/api/v1/note-templates", headers=h).json()
    assert [t["name"] for t in templates] == ["Lower back"]
    bad = client.put(f"/api/v1/sessions/{sid}/note", json={"areas": ["kidneys"]}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("areas: unknown zone")
    nul = client.put(f"/api/v1/sessions/{sid}/note", json={"plan": "a\u0000b"}, headers=h)
    # refused at the edge (the NUL guard of every JSON body), naming the field
    assert (
        nul.status_code == 422 and nul.json()["detail"] == "body.plan: text holds a NUL character"
    )
    out_of_range = client.put(f"/api/v1/sessions/{sid}/note", json={"pain_before": 12}, headers=h)
    assert out_of_range.status_code == 422 and "pain_before" in out_of_range.json()["detail"]
    r = client.put(
        f"/api/v1/sessions/{sid}/note",
        json={
            "subjective": "Better than last week.",
            "areas": ["gluteal_right"],
            "pain_before": 4,
            "pain_after": 1,
            "notes": "Plain notes still work.",
            "template_id": templates[0]["id"],
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    note = r.json()
    assert note["plan"] == "Weekly for four weeks." and note["template"] == "Lower back"
    assert (note["areas"], note["pain_before"], note["pain_after"]) == (["gluteal_right"], 4, 1)
    session = client.get(f"/api/v1/sessions/{sid}", headers=h).json()
    assert session["notes"] == "Plain notes still work."
    assert (
        client.post(f"/api/v1/sessions/{sid}/addenda", json={"text": "x"}, headers=h).status_code
        == 409
    )
    desk = _token(client, "front_desk")
    assert client.get(f"/api/v1/sessions/{sid}/note", headers=desk).status_code == 403


def test_the_owner_keeps_named_templates_and_a_duplicate_name_is_refused_on_the_page(as_role, db):
    c = as_role("owner")
    token = csrf_of(c)
    form = {"csrf_token": token, "name": "Neck", "subjective": "S", "assessment": "A", "plan": "P"}
    assert c.post("/admin/note-templates", data=form).status_code == 303
    again = c.post("/admin/note-templates", data=form)
    assert again.status_code == 400
    assert "a template called 'Neck' exists already" in unescape(again.text)
    with db.session() as s:
        tid = s.scalar(select(NoteTemplate.id).where(NoteTemplate.name == "Neck"))
    edit = dict(form, name="Neck and shoulders", plan="Every two weeks")
    assert c.post(f"/admin/note-templates/{tid}", data=edit).status_code == 303
    page = c.get("/admin/note-templates").text
    assert "Neck and shoulders" in page and "Every two weeks" in page
    assert (
        c.post(f"/admin/note-templates/{tid}/delete", data={"csrf_token": token}).status_code == 303
    )
    assert 'id="no-templates"' in c.get("/admin/note-templates").text
    assert as_role("therapist").get("/admin/note-templates").status_code == 403


def test_a_note_saved_while_the_session_is_being_signed_waits_then_is_refused(db, users):
    if db.is_sqlite:
        pytest.skip("PostgreSQL's row lock (SQLite lets one writer in at a time anyway)")
    sid = _ended_session(db)
    therapist = Actor(users["therapist"], "therapist", "Therapist", "therapist")
    outcome: dict[str, BaseException] = {}
    signing = SqlUnitOfWork(db)
    signing.__enter__()
    treatments.sign_session(signing, sid, None, therapist, "")  # not committed yet

    def save_late() -> None:
        try:
            with SqlUnitOfWork(db) as uow:
                soap_notes.save_note(uow, sid, NoteInput(subjective="Late."), therapist, "")
        except BaseException as exc:  # reported by the test
            outcome["error"] = exc

    writer = threading.Thread(target=save_late)
    writer.start()
    waiting = 0
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(1200):  # until the writer waits on the session's row lock
        with db.engine.connect() as conn:  # a new transaction: a fresh view of the activity
            waiting = conn.execute(query).scalar()
        if waiting or not writer.is_alive():
            break
        time.sleep(0.05)
    signing.__exit__(None, None, None)
    writer.join(60)
    assert waiting == 1
    assert isinstance(outcome.get("error"), Conflict), outcome
    with SqlUnitOfWork(db) as uow:
        view = soap_notes.note_view(uow, treatments.get_session(uow, sid))
    assert view["locked"] and view["subjective"] == ""
