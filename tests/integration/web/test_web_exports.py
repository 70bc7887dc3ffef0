"""Exports: the session report PDF, the zone and research CSVs, the client's record PDF and
the FHIR Bundle of a session, from the pages and the API, with roles and audit entries."""

from __future__ import annotations

from exporthelpers import pdf_text, store_session
from sqlalchemy import select

from ashiguard.adapters.db.models import AuditEntry


def _exports(db) -> list[tuple[str, str, str, str]]:
    with db.session() as s:
        rows = s.execute(
            select(AuditEntry.username, AuditEntry.entity, AuditEntry.entity_id, AuditEntry.detail)
            .where(AuditEntry.action == "export")
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


def test_the_review_page_offers_the_report_and_the_pdf_names_the_client_and_therapist(
    as_role, db, settings
):
    sid = store_session(db, settings.data_dir, status="signed")
    c = as_role("therapist")
    page = c.get(f"/sessions/{sid}").text
    assert f'href="/sessions/{sid}/report.pdf"' in page
    assert "Download the report (PDF)" in page
    r = c.get(f"/sessions/{sid}/report.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="session-{sid}-report.pdf"'
    pages = pdf_text(r.content)
    assert len(pages) == 4
    assert "Erika Export (c-exp)" in pages[0]
    assert "Mia Therapist" in pages[0]
    assert "signed by Mia Therapist" in pages[0]
    assert "lower-back spine" in pages[3]  # the zone table, in the clinic's words
    assert _exports(db) == [("therapist", "session", str(sid), "report PDF, client 1")]


def test_the_api_serves_the_report_pdf_to_a_bearer_token(client, db, settings):
    sid = store_session(db, settings.data_dir)
    tok = client.post(
        "/api/v1/auth/token", json={"username": "owner", "password": "owner-pass-123"}
    ).json()["token"]
    r = client.get(f"/api/v1/sessions/{sid}/report.pdf", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF")
    assert _exports(db) == [("owner", "session", str(sid), "report PDF, client 1")]


def test_a_session_without_a_recording_has_no_report_and_says_why(as_role, db, settings):
    sid = store_session(db, settings.data_dir, recording=False)
    c = as_role("owner")
    page = c.get(f"/sessions/{sid}").text
    assert "report.pdf" not in page
    assert "No report to download: nothing was recorded in this session." in page
    r = c.get(f"/sessions/{sid}/report.pdf")
    assert r.status_code == 404
    assert f"session {sid} has no recording, so there is no report to download" in r.text
    api = c.get(f"/api/v1/sessions/{sid}/report.pdf")
    assert api.status_code == 404
    assert api.json()["detail"].startswith(f"session {sid} has no recording")
    assert _exports(db) == []


def test_a_live_session_has_no_report_yet_and_a_missing_file_is_named(as_role, db, settings):
    live = store_session(db, settings.data_dir, status="live")
    c = as_role("therapist")
    r = c.get(f"/api/v1/sessions/{live}/report.pdf")
    assert r.status_code == 409
    assert (
        "is still running: its report can be downloaded once the session has ended"
        in (r.json()["detail"])
    )
    gone = store_session(db, settings.data_dir)
    (settings.data_dir / f"recordings/session-{gone:06d}.h5").unlink()
    r = c.get(f"/sessions/{gone}/report.pdf")
    assert r.status_code == 404
    assert "its recording is missing from the clinic&#39;s data folder" in r.text


def test_front_desk_and_researchers_may_not_download_reports(as_role, db, settings):
    sid = store_session(db, settings.data_dir)
    for role in ("front_desk", "researcher"):
        c = as_role(role)
        assert c.get(f"/sessions/{sid}/report.pdf").status_code == 403
        assert c.get(f"/api/v1/sessions/{sid}/report.pdf").status_code == 403
    assert _exports(db) == []
