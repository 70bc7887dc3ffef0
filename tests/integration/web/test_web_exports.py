"""Exports: the session report PDF, the zone and research CSVs, the client's record PDF and
the FHIR Bundle of a session, from the pages and the API, with roles and audit entries."""

from __future__ import annotations

import io
import re

import pytest
from exporthelpers import pdf_text, store_session
from sqlalchemy import select

from ashiguard.adapters.db.models import AuditEntry
from ashiguard.settings import Settings


@pytest.fixture
def settings(db, tmp_path) -> Settings:
    """The clinic's settings, with its name (printed on the record PDF)."""
    return Settings(
        data_dir=tmp_path / "data", database_url=db.url, clinic_name="Test Clinic Stockholm"
    )


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
    assert re.search(r"Signed\s+Mia Therapist, \d{4}-\d\d-\d\d", pages[0])
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


def _csv_rows(r) -> list[list[str]]:
    import csv
    import io

    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheets then read "kPa·s" right
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_zone_table_csv_has_words_slugs_units_and_the_stored_values(as_role, db, settings):
    from ashiguard.adapters.db.models import TreatmentSession

    sid = store_session(db, settings.data_dir)
    c = as_role("owner")
    page = c.get(f"/sessions/{sid}").text
    assert f'href="/sessions/{sid}/zones.csv"' in page
    r = c.get(f"/sessions/{sid}/zones.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'attachment; filename="session-{sid}-zones.csv"'
    rows = _csv_rows(r)
    assert rows[0] == [
        "zone",
        "zone slug",
        "peak (kPa)",
        "peak below (kPa)",
        "mean (kPa)",
        "contact (s)",
        "dose (kPa·s)",
        "over limit (s)",
        "alarms",
    ]
    by_slug = {row[1]: row for row in rows[1:]}
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        zones, alerts = t.summary["zones"], t.alerts
    assert list(by_slug) == list(zones)  # every zone of the summary, in its order
    spine = by_slug["spine_lumbar"]
    assert spine[0] == "lower-back spine"
    z = zones["spine_lumbar"]
    assert float(spine[2]) == round(z["peak_kpa"], 3) and spine[3] == ""
    assert float(spine[4]) == round(z["mean_kpa"], 3)
    assert float(spine[5]) == round(z["contact_s"], 3)
    assert float(spine[6]) == round(z["dose_kpa_s"], 3)
    assert float(spine[7]) == round(z["over_limit_s"], 3) > 0
    assert int(spine[8]) == sum(1 for a in alerts if a["zone"] == "spine_lumbar") >= 1
    assert by_slug["erector_lumbar_left"][0] == "left lower-back muscles"
    assert int(by_slug["neck"][8]) == 0 and float(by_slug["neck"][5]) == 0.0
    api = c.get(f"/api/v1/sessions/{sid}/zones.csv")
    assert api.status_code == 200 and api.content == r.content
    assert [e[3] for e in _exports(db)] == ["zone table CSV, client 1"] * 2


def test_a_session_without_a_zone_summary_has_no_csv_and_says_why(as_role, db, settings):
    sid = store_session(db, settings.data_dir, recording=False)
    c = as_role("therapist")
    assert "zones.csv" not in c.get(f"/sessions/{sid}").text
    r = c.get(f"/api/v1/sessions/{sid}/zones.csv")
    assert r.status_code == 404
    assert r.json()["detail"] == (
        f"session {sid} has no zone summary to download (nothing was recorded on the client's back)"
    )
    live = store_session(db, settings.data_dir, status="live")
    assert c.get(f"/sessions/{live}/zones.csv").status_code == 409


def test_the_research_csv_holds_the_rows_of_the_page_and_no_name_or_path(as_role, db, settings):
    for days in (0, 40):
        store_session(db, settings.data_dir, notes="Erika said her neck hurt", days_ago=days)
    c = as_role("researcher")
    page = c.get("/research").text
    assert 'href="/research/sessions.csv"' in page
    r = c.get("/research/sessions.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="research-sessions.csv"'
    rows = _csv_rows(r)
    assert rows[0][:8] == [
        "subject",
        "month",
        "age band",
        "sex",
        "decision",
        "status",
        "duration (s)",
        "alarms",
    ]
    assert rows[0][8:] == [
        "high-priority alarms",
        "max load (% of therapist's weight)",
        "allowed load (% of therapist's weight)",
    ]
    api_rows = c.get("/api/v1/research/sessions").json()
    assert len(rows) - 1 == len(api_rows) == 2
    for row, j in zip(rows[1:], api_rows, strict=True):
        assert row[0] == j["subject"] and row[0] in page
        assert row[1] == j["month"] and row[2] == j["age_band"] and row[4] == "modify"
        assert int(row[7]) == len(j["alerts"])
        assert float(row[9]) == round(100 * j["summary"]["load"]["max_share"], 1)
        assert float(row[10]) == 50.0  # the screening's max_load_fraction 0.5
    text = r.content.decode("utf-8")
    for secret in ("Erika", "Export", "c-exp", "neck hurt", "recordings", ".h5", "1970"):
        assert secret not in text
    assert c.get("/api/v1/research/sessions.csv").content == r.content
    with db.session() as s:
        details = s.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.action == "export", AuditEntry.entity == "research_export"
            )
        ).all()
    assert details == ["page CSV", "CSV"]


def test_therapists_and_front_desk_may_not_export_research_data(as_role, db, settings):
    for role in ("therapist", "front_desk"):
        c = as_role(role)
        assert c.get("/research/sessions.csv").status_code == 403
        assert c.get("/api/v1/research/sessions.csv").status_code == 403
    assert as_role("researcher").get(f"/sessions/{1}/zones.csv").status_code == 403


@pytest.mark.slow
def test_the_client_record_pdf_holds_details_intakes_sessions_signatures_and_maps(
    as_role, db, settings
):
    from pypdf import PdfReader

    signed = store_session(db, settings.data_dir, status="signed", notes="Neck tight.", days_ago=3)
    bare = store_session(db, settings.data_dir, recording=False, notes="Short visit.")
    c = as_role("therapist")
    page = c.get("/clients/1").text
    assert 'href="/clients/1/record.pdf"' in page and "Download the whole record (PDF)" in page
    r = c.get("/clients/1/record.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="client-c-exp-record.pdf"'
    pages = pdf_text(r.content)
    text = " ".join(" ".join(pages).split())  # wrapped lines joined again
    n = len(pages)
    assert n >= 2
    for i, p in enumerate(pages, start=1):
        assert f"page {i} of {n}" in p
        assert "Test Clinic Stockholm · client record of Erika Export (c-exp)" in p
    assert "Client record: Erika Export" in pages[0]
    for words in (
        "1970-05-02",
        "+46 70 123 45 67",
        "erika@example.org",
        "Intake version 1",
        "hypertension (active)",
        "blood pressure 150/95 mmHg",
        "Modify (screened for 2026-11-24)",
        "test-rules-1",
        "hypertension-uncontrolled → Modify: blood pressure above 140/90: lighter load",
        "load ≤ 50 % of the therapist's weight",
        f"(no. {signed})",
        f"(no. {bare})",
        "Mia Therapist",
        "Neck tight.",
        "Short visit.",
        "signed by Mia Therapist, Ashiatsu certificate, Ashiatsu Guild, valid until 2027-01-01",
        "not signed",
        "No recording: no pressure map.",
        "Peak pressure per sensel, kPa.",
        "6 s",
    ):
        assert words in text, words
    assert text.index(f"(no. {signed})") < text.index(f"(no. {bare})")  # oldest first
    images = {i.name for p in PdfReader(io.BytesIO(r.content)).pages for i in p.images}
    assert len(images) == 1  # the one session with a recording has its heatmap
    assert _exports(db) == [("therapist", "client", "1", "record PDF, 2 sessions")]
    api = c.get("/api/v1/clients/1/record.pdf")
    assert api.status_code == 200 and api.content.startswith(b"%PDF")
    assert c.get("/api/v1/clients/999/record.pdf").status_code == 404


def test_front_desk_may_read_the_client_but_not_export_the_whole_record(as_role, db, settings):
    store_session(db, settings.data_dir, recording=False)
    c = as_role("front_desk")
    assert "record.pdf" not in c.get("/clients/1").text
    assert c.get("/clients/1/record.pdf").status_code == 403
    assert _exports(db) == []


def _fhir_resources(bundle) -> dict[str, list[dict]]:
    import importlib

    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    out: dict[str, list[dict]] = {}
    for e in bundle["entry"]:
        r = e["resource"]
        kind = r["resourceType"]
        model = getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind)
        model.model_validate(r)
        out.setdefault(kind, []).append(r)
    return out


def test_the_fhir_export_of_a_session_carries_its_values_its_report_and_screening(
    as_role, db, settings
):
    import base64

    from ashiguard.adapters.db.models import TreatmentSession

    sid = store_session(db, settings.data_dir, status="signed", notes="Neck tight.")
    c = as_role("therapist")
    page = c.get(f"/sessions/{sid}").text
    assert f'href="/api/v1/sessions/{sid}/fhir"' in page
    r = c.get(f"/api/v1/sessions/{sid}/fhir")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    assert r.headers["content-disposition"] == f'attachment; filename="session-{sid}-fhir.json"'
    res = _fhir_resources(r.json())
    assert sorted(res) == [
        "DocumentReference",
        "Flag",
        "Observation",
        "Patient",
        "Procedure",
        "RiskAssessment",
    ]
    (patient,) = res["Patient"]
    assert patient["name"] == [{"text": "Erika Export"}] and patient["birthDate"] == "1970-05-02"
    (proc,) = res["Procedure"]
    assert proc["code"]["coding"][0]["code"] == "387854002"
    assert proc["performer"] == [{"actor": {"display": "Mia Therapist"}}]
    assert proc["note"][0]["text"] == "Neck tight."
    assert proc["note"][1]["text"].startswith("Signed by Mia Therapist, Ashiatsu certificate")
    with db.session() as s:
        t = s.get(TreatmentSession, sid)
        summary, alerts = t.summary, t.alerts
        start = t.started_at.isoformat(timespec="seconds") + "Z"
    assert proc["performedPeriod"]["start"] == start
    obs = {o["code"]["coding"][0]["code"]: o for o in res["Observation"]}
    assert obs["duration"]["valueQuantity"]["value"] == 6.0
    assert obs["peak-load"]["valueQuantity"]["value"] == round(summary["load"]["max_n"], 3)
    assert obs["peak-load-share"]["valueQuantity"]["value"] == round(
        100 * summary["load"]["max_share"], 3
    )
    zones = {
        comp["code"]["coding"][0]["code"]: comp["valueQuantity"]
        for comp in obs["zone-peak-pressure"]["component"]
    }
    assert zones["spine_lumbar"]["value"] == round(summary["zones"]["spine_lumbar"]["peak_kpa"], 3)
    assert zones["spine_lumbar"]["unit"] == "kPa"
    assert obs["alarm-count"]["valueInteger"] == len(alerts) > 0
    (doc,) = res["DocumentReference"]
    pdf = base64.b64decode(doc["content"][0]["attachment"]["data"])
    assert doc["content"][0]["attachment"]["contentType"] == "application/pdf"
    assert "Erika Export (c-exp)" in pdf_text(pdf)[0]
    (risk,) = res["RiskAssessment"]
    assert risk["subject"] == {"reference": f"urn:uuid:{patient['id']}"}
    assert _exports(db) == [("therapist", "session", str(sid), "FHIR bundle, client 1")]


def test_a_session_without_a_recording_exports_without_a_report_and_a_live_one_not_at_all(
    as_role, db, settings
):
    sid = store_session(db, settings.data_dir, recording=False)
    c = as_role("owner")
    res = _fhir_resources(c.get(f"/api/v1/sessions/{sid}/fhir").json())
    assert "DocumentReference" not in res and "report" not in res["Procedure"][0]
    live = store_session(db, settings.data_dir, status="live")
    r = c.get(f"/api/v1/sessions/{live}/fhir")
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f"session {live} is still running: it can be exported once the session has ended"
    )
    assert as_role("front_desk").get(f"/api/v1/sessions/{sid}/fhir").status_code == 403
    assert [e[3] for e in _exports(db)] == ["FHIR bundle without report (no recording), client 1"]
