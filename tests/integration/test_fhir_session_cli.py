"""``ashiguard fhir export-session`` through a real subprocess, on a recording written here."""

from __future__ import annotations

import base64
import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from ashiguard.adapters.recording import RecordingWriter
from ashiguard.domain.simulation import default_origin_mm
from ashiguard.domain.zones import ZONES, Grid, ZoneMap


def _recording(path: Path) -> Path:
    """4 s of 140 kPa on the lumbar spine (over its limit) on a sheet on the client's back."""
    rows, cols, pitch = 128, 48, 15.0
    origin = default_origin_mm(rows, cols, pitch)
    labels = ZoneMap.from_height(1700.0).rasterize(Grid(rows, cols, pitch, origin_mm=origin)).labels
    t = np.arange(0.0, 4.0, 0.02)
    p = np.zeros((t.size, rows, cols), np.float32)
    p[:] = np.where(labels == ZONES.index("spine_lumbar"), 140.0, 0.0)
    with RecordingWriter(
        path, rows=rows, cols=cols, pitch_mm=pitch, origin_mm=origin, therapist_mass_kg=62.0,
        client={"height_cm": 170.0, "weight_kg": 70.0}, started_at="2026-11-24T10:00:00+00:00",
    ) as w:  # fmt: skip
        w.append(t, p)
    return path


def _validated(bundle: dict) -> dict[str, list[dict]]:
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    out: dict[str, list[dict]] = {}
    for e in bundle["entry"]:
        r = e["resource"]
        kind = r["resourceType"]
        getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind).model_validate(
            r
        )
        out.setdefault(kind, []).append(r)
    return out


@pytest.mark.slow
def test_export_session_analyses_the_recording_and_prints_a_valid_bundle(run_cli, tmp_path):
    rec = _recording(tmp_path / "session-000007.h5")
    r = run_cli("fhir", "export-session", rec, "--patient", "Patient/123")
    assert r.returncode == 0, r.stderr
    res = _validated(json.loads(r.stdout))
    (proc,) = res["Procedure"]
    assert proc["identifier"][0]["value"] == "session-000007"
    assert proc["subject"] == {"reference": "Patient/123"}
    assert proc["performedPeriod"]["start"] == "2026-11-24T10:00:00Z"
    obs = {o["code"]["coding"][0]["code"]: o for o in res["Observation"]}
    assert obs["duration"]["valueQuantity"]["value"] == 4.0  # the recording's duration
    assert obs["alarm-count"]["valueInteger"] >= 1  # the spine pressure alarm
    spine = [
        c for c in obs["zone-peak-pressure"]["component"]
        if c["code"]["coding"][0]["code"] == "spine_lumbar"
    ]  # fmt: skip
    assert spine[0]["valueQuantity"]["value"] == 140.0
    (doc,) = res["DocumentReference"]
    assert base64.b64decode(doc["content"][0]["attachment"]["data"]).startswith(b"%PDF")
    assert "Patient" not in res  # the EHR's own patient: the client is not named here


def test_export_session_takes_the_sessions_json_and_screening(run_cli, tmp_path):
    rec = _recording(tmp_path / "rec.h5")
    session = {
        "id": 7,
        "started_at": "2026-11-24T10:00:00",
        "ended_at": "2026-11-24T10:30:00",
        "notes": "All well.",
        "alerts": [],
        "summary": None,  # analysed from the recording
        "signed_at": None,
    }
    (tmp_path / "s.json").write_text(json.dumps(session))
    screening = {
        "schema": "ashiguard.screening/1",
        "client_id": "c-001",
        "date": "2026-11-24",
        "decision": "cleared",
        "findings": [],
        "restrictions": {"avoid_zones": [], "max_load_fraction": None, "max_pressure_kpa": None},
        "rules_version": "ashiguard-default-v1",
    }
    (tmp_path / "sc.json").write_text(json.dumps(screening))
    r = run_cli(
        "fhir", "export-session", rec, "--patient", "Patient/9", "--session-json",
        tmp_path / "s.json", "--screening", tmp_path / "sc.json", "--no-report",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    res = _validated(json.loads(r.stdout))
    (proc,) = res["Procedure"]
    assert proc["identifier"][0]["value"] == "7"
    assert proc["note"][0]["text"] == "All well."
    obs = {o["code"]["coding"][0]["code"]: o for o in res["Observation"]}
    assert obs["duration"]["valueQuantity"]["value"] == 1800.0
    assert obs["alarm-count"]["valueInteger"] == 0  # the session's own (empty) alarm list
    assert "DocumentReference" not in res and len(res["RiskAssessment"]) == 1


def test_export_session_refuses_a_bad_patient_reference_in_one_line(run_cli, tmp_path):
    rec = _recording(tmp_path / "rec.h5")
    r = run_cli("fhir", "export-session", rec, "--patient", "123", "--no-report")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "ashiguard: error: patient: expected a FHIR reference like Patient/123, got '123'"
    ]
    r = run_cli("fhir", "export-session", tmp_path / "nope.h5", "--patient", "Patient/1")
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and "nope.h5" in r.stderr
