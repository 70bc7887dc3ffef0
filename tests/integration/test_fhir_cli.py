"""``ashiguard fhir ...`` through a real subprocess, on the real Synthea bundles."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "intakes" / "modify-left-hip-replacement.json"


def _synthea(shared_data: Path, prefix: str) -> Path:
    (path,) = (shared_data / "fhir" / "synthea").glob(f"{prefix}*.json")
    return path


def _refused(r, message: str) -> None:
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ashiguard: error: ")
    assert message in lines[0]


def test_fhir_questionnaire_prints_a_valid_questionnaire(run_cli):
    r = run_cli("fhir", "questionnaire")
    assert r.returncode == 0, r.stderr
    q = json.loads(r.stdout)
    Questionnaire.model_validate(q)
    assert q["url"].endswith("/Questionnaire/ashiguard-intake") and q["version"] == "1"


def test_fhir_import_writes_a_screenable_intake_and_notes_on_stderr(run_cli, shared_data, tmp_path):
    bundle = _synthea(shared_data, "Sina_Yundt")
    out = tmp_path / "intake.json"
    r = run_cli("fhir", "import", bundle, "--on", "2026-11-25", "-o", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert all(line.startswith("ashiguard: note: ") for line in r.stderr.splitlines())
    assert "not mapped, not screened" in r.stderr
    intake = json.loads(out.read_text())
    assert intake["date"] == "2026-11-25"
    assert intake["client"]["id"] == json.loads(bundle.read_text())["entry"][0]["resource"]["id"]
    s = run_cli("screen", out)
    assert json.loads(s.stdout)["decision"] == "decline"
    printed = run_cli("fhir", "import", bundle, "--on", "2026-11-25")
    assert json.loads(printed.stdout) == intake


def test_fhir_import_refuses_the_record_of_a_patient_who_has_died(run_cli, shared_data):
    r = run_cli("fhir", "import", _synthea(shared_data, "Alejandro_Riojas"), "--on", "2026-11-25")
    _refused(r, ".deceasedDateTime: the record says the patient died on 2008-12-14: ")
    assert "a deceased person's record is not an intake; nothing imported" in r.stderr


def test_fhir_import_says_an_old_blood_pressure_is_not_todays_and_the_screening_asks_for_one(
    run_cli, shared_data, tmp_path
):
    out = tmp_path / "intake.json"
    r = run_cli(
        "fhir", "import", _synthea(shared_data, "Liz_Conn"), "--on", "2026-11-25", "-o", out
    )
    assert r.returncode == 0, r.stderr
    (note,) = [line for line in r.stderr.splitlines() if "blood pressure" in line]
    assert "days before the screening day: not today's, left out of the intake's vitals" in note
    intake = json.loads(out.read_text())
    assert intake["vitals"]["systolic_mmhg"] is None
    assert "Not today's, so not in the vitals (measure before the session)" in intake["notes"]
    s = json.loads(run_cli("screen", out).stdout)
    assert s["decision"] == "defer"
    assert "bp-not-measured-today" in {f["rule"] for f in s["findings"]}


def test_fhir_import_refuses_a_bundle_without_a_patient_and_bad_options(
    run_cli, shared_data, tmp_path
):
    practitioners = next((shared_data / "fhir" / "synthea").glob("practitionerInformation*.json"))
    _refused(run_cli("fhir", "import", practitioners), "no Patient resource in bundle")
    liz = _synthea(shared_data, "Liz_Conn")
    _refused(run_cli("fhir", "import", liz, "--on", "2026-13-01"), "--on: expected a date")
    _refused(run_cli("fhir", "import", liz, "--patient", "x"), "--patient: no Patient with id 'x'")
    _refused(run_cli("fhir", "import", tmp_path / "missing.json"), "cannot read")


def test_fhir_export_screening_prints_a_bundle_and_refuses_a_bad_patient(run_cli, tmp_path):
    screening = tmp_path / "s.json"
    screening.write_text(run_cli("screen", EXAMPLE).stdout)
    r = run_cli("fhir", "export-screening", screening, "--patient", "Patient/123")
    assert r.returncode == 0, r.stderr
    bundle = json.loads(r.stdout)
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "RiskAssessment" and kinds.count("Flag") >= 1
    _refused(
        run_cli("fhir", "export-screening", screening, "--patient", "123"),
        "patient: expected a FHIR reference like Patient/123",
    )


def test_an_intake_goes_to_a_questionnaire_response_and_back(run_cli, tmp_path):
    r = run_cli("fhir", "intake-to-qr", EXAMPLE)
    assert r.returncode == 0, r.stderr
    qr = tmp_path / "qr.json"
    qr.write_text(r.stdout)
    back = run_cli("fhir", "qr-to-intake", qr)
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout) == json.loads(
        run_cli("fhir", "qr-to-intake", "-", input=r.stdout).stdout
    )
    from ashiguard.domain.intake import parse_intake

    assert parse_intake(back.stdout) == parse_intake(EXAMPLE.read_text())
    broken = json.loads(r.stdout)
    broken["item"].append({"linkId": "vitals.pulse"})
    qr.write_text(json.dumps(broken))
    _refused(run_cli("fhir", "qr-to-intake", qr), "(vitals.pulse): unknown linkId")
