"""Clinic-record defects found by trying the app as a new user (issue 13), on both backends."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select
from webhelpers import csrf_of

from ashiguard.adapters.db.models import Client, Intake, Screening

TODAY = date.today()
TEMPLATES = Path(__file__).resolve().parents[3] / "src/ashiguard/entrypoints/web/templates"


def _new_client(c, **extra):
    token = csrf_of(c, "/clients/new")
    return c.post("/clients/new", data={"name": "Ada Lovelace", "csrf_token": token, **extra})


def _client_id(c) -> int:
    r = _new_client(c)
    assert r.status_code == 303, r.text
    return int(re.fullmatch(r"/clients/(\d+)/intake", r.headers["location"]).group(1))


def _submit_intake(c, cid, day=TODAY, **fields):
    token = csrf_of(c, f"/clients/{cid}/intake")
    return c.post(
        f"/clients/{cid}/intake", data={"csrf_token": token, "date": day.isoformat(), **fields}
    )


def test_an_intake_dated_in_the_future_is_refused_and_nothing_is_stored(as_role, db):
    c = as_role("front_desk")
    cid = _client_id(c)
    r = _submit_intake(c, cid, day=TODAY + timedelta(days=1))
    assert r.status_code == 400
    assert "lies in the future" in r.text
    with db.session() as s:
        assert s.scalar(select(func.count(Intake.id))) == 0
        assert s.scalar(select(func.count(Screening.id))) == 0


def test_birth_dates_after_today_or_before_1900_and_bad_e_mail_addresses_are_refused(as_role, db):
    c = as_role("front_desk")
    for extra, message in (
        ({"birth_date": (TODAY + timedelta(days=3)).isoformat()}, "lies in the future"),
        ({"birth_date": "1899-12-31"}, "before 1900"),
        ({"email": "ada.example.org"}, "not an e-mail address"),
        ({"email": "ada@example"}, "not an e-mail address"),
        ({"email": "ada lovelace@example.org"}, "not an e-mail address"),
    ):
        r = _new_client(c, **extra)
        assert r.status_code == 400, extra
        assert message in r.text, extra
    with db.session() as s:
        assert s.scalar(select(func.count(Client.id))) == 0
    assert _new_client(c, birth_date="1900-01-01", email="ada@example.org").status_code == 303


def test_a_new_intake_carries_over_stable_history_only_and_says_so(as_role):
    c = as_role("therapist")
    cid = _client_id(c)
    r = _submit_intake(
        c,
        cid,
        **{
            "client.height_cm": "168",
            "conditions.0.code": "kidney_stones",
            "conditions.0.status": "resolved",
            "medications.0.code": "anticoagulant",
            "medications.0.name": "Warfarin",
            "symptoms": ["fever"],
            "vitals.systolic_mmhg": "150",
            "vitals.diastolic_mmhg": "95",
            "notes": "sore after gardening",
            "pain_sites": ["erector_lumbar_left"],
        },
    )
    assert r.status_code == 303, r.text
    form = c.get(f"/clients/{cid}/intake").text
    assert "From the last intake (v1 of" in form and "confirm with the client" in form
    # stable history comes back ...
    assert re.search(r'value="168(\.0)?"', form) and 'value="Warfarin"' in form
    assert re.search(r'<option value="kidney_stones" selected', form)
    # ... today's findings do not
    assert not re.search(r'value="(150|95)(\.0)?"', form)
    assert "sore after gardening" not in form
    assert not re.search(r'name="symptoms" value="fever"[^>]*checked', form)
    assert not re.search(r'name="pain_sites" value="erector_lumbar_left"[^>]*checked', form)


def test_a_declined_screening_says_what_it_means_and_offers_no_session(as_role):
    c = as_role("therapist")
    cid = _client_id(c)
    r = _submit_intake(c, cid, **{"conditions.0.code": "osteoporosis"})
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "Decline" in page
    assert "Barefoot massage is not suitable for this client" in page
    assert "Next: Explain why" in page
    assert "Start a session" not in page and "Restrictions for the session" not in page
    client_page = c.get(f"/clients/{cid}").text
    assert "Start a session" not in client_page
    # a cleared client can be treated: first the consent, then the session
    cid2 = _client_id(c)
    assert _submit_intake(c, cid2).status_code == 303
    assert "Take the client's consent" in c.get(f"/clients/{cid2}").text
    token = csrf_of(c, f"/clients/{cid2}/consent")
    signed = c.post(
        f"/clients/{cid2}/consent",
        data={"csrf_token": token, "typed_name": "Ada Lovelace", "agreed": "yes"},
    )
    assert signed.status_code == 303
    assert "Start a session" in c.get(f"/clients/{cid2}").text


def test_no_template_carries_an_inline_style_the_page_policy_would_block():
    offenders = [
        f"{p.name}:{n}"
        for p in sorted(TEMPLATES.glob("*.html"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\sstyle=", line) or "<style" in line
    ]
    assert offenders == []


def test_a_client_fills_the_intake_and_signs_alone_on_a_one_time_link(as_role, app, db):
    from webhelpers import make_client

    from ashiguard.adapters.db.models import Consent

    c = as_role("front_desk")
    cid = _client_id(c)
    token = csrf_of(c, f"/clients/{cid}")
    page = c.post(f"/clients/{cid}/handover", data={"csrf_token": token})
    assert page.status_code == 200
    link = re.search(r'id="client-link">https?://[^/]+(/welcome/[^<]+)<', page.text).group(1)
    guest = make_client(app)  # the client's own phone: no login
    form = guest.get(link)
    assert form.status_code == 200
    assert "Welcome, Ada Lovelace" in form.text and "Pressure on the spine" in form.text
    assert 'href="/clients' not in form.text and "csrf_token" not in form.text  # nothing else
    answers = {
        "client.height_cm": "166",
        "client.weight_kg": "61",
        "conditions.0.code": "kidney_stones",
        "conditions.0.status": "resolved",
        "typed_name": "Ada Lovelace",
    }
    refused = guest.post(link, data=answers)  # the box is not ticked: nothing stored
    assert refused.status_code == 400 and "tick the box" in refused.text
    with db.session() as s:
        assert s.scalar(select(func.count(Intake.id))) == 0
    done = guest.post(link, data={**answers, "agreed": "yes"})
    assert done.status_code == 200 and "Please hand the device back" in done.text
    with db.session() as s:
        intake = s.scalars(select(Intake)).one()
        assert intake.payload["date"] == TODAY.isoformat()
        assert intake.payload["client"]["height_cm"] == 166
        consent = s.scalars(select(Consent)).one()
        assert (consent.intake_id, consent.mode, consent.typed_name) == (
            intake.id,
            "client_link",
            "Ada Lovelace",
        )
        assert s.scalars(select(Screening.decision)).one() == "modify"
    again = guest.get(link)
    assert again.status_code == 404 and "has been used or has expired" in again.text
    assert guest.get("/welcome/not-a-link").status_code == 404


def test_handing_the_device_over_logs_the_staff_member_out_first(as_role):
    c = as_role("therapist")
    cid = _client_id(c)
    token = csrf_of(c, f"/clients/{cid}")
    r = c.post(f"/clients/{cid}/handover", data={"csrf_token": token, "here": "1"})
    assert r.status_code == 303 and r.headers["location"].startswith("/welcome/")
    assert c.get(r.headers["location"]).status_code == 200
    # the clinic's pages are closed to whoever now holds the device
    clients = c.get("/clients")
    assert clients.status_code in (303, 401) or "/login" in clients.headers.get("location", "")


def test_the_client_page_tells_the_history_and_plots_the_visits(as_role):
    c = as_role("therapist")
    cid = _client_id(c)
    assert _submit_intake(c, cid, **{"conditions.0.code": "kidney_stones"}).status_code == 303
    token = csrf_of(c, f"/clients/{cid}/consent")
    c.post(
        f"/clients/{cid}/consent",
        data={"csrf_token": token, "typed_name": "Ada Lovelace", "agreed": "yes"},
    )
    page = c.get(f"/clients/{cid}").text
    history = page.split('id="history"', 1)[1]
    for words in ("Intake v1", "Screening: ", "Consent signed", "by Ada Lovelace"):
        assert words in history, words
    # newest first: the consent came after the intake
    assert history.index("Consent signed") < history.index("Intake v1")
    png = c.get(f"/clients/{cid}/plots/trends.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
