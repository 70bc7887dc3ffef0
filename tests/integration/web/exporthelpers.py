"""Stored sessions with real recordings for the export tests (report, CSV, record, FHIR)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from ashiguard.adapters.db.models import (
    Client,
    Intake,
    Practitioner,
    Room,
    Screening,
    TreatmentSession,
    User,
)
from ashiguard.adapters.db.repo import utcnow
from ashiguard.adapters.recording import RecordingWriter
from ashiguard.domain.simulation import default_origin_mm
from ashiguard.domain.zones import ZONES, Grid, ZoneMap

__all__ = ["SCREENING", "pdf_text", "store_session", "write_recording"]

SCREENING = {
    "schema": "ashiguard.screening/1",
    "client_id": "c-exp",
    "date": "2026-11-24",
    "decision": "modify",
    "findings": [
        {
            "rule": "hypertension-uncontrolled",
            "decision": "modify",
            "reason": "blood pressure above 140/90: lighter load",
            "sources": ["test source"],
        }
    ],
    "restrictions": {"avoid_zones": [], "max_load_fraction": 0.5, "max_pressure_kpa": None},
    "rules_version": "test-rules-1",
}


def write_recording(path: Path, seconds: float = 6.0) -> None:
    """A sheet on the client's back: the left lower-back muscles at 28 kPa, then the lumbar
    spine at 140 kPa (over its limit) for the last second."""
    rows, cols, pitch = 128, 48, 15.0
    origin = default_origin_mm(rows, cols, pitch)
    grid = Grid(rows, cols, pitch, origin_mm=origin)
    labels = ZoneMap.from_height(1700.0).rasterize(grid).labels
    erector = labels == ZONES.index("erector_lumbar_left")
    spine = labels == ZONES.index("spine_lumbar")
    t = np.arange(0.0, seconds, 0.02)
    p = np.zeros((t.size, rows, cols), np.float32)
    p[t < seconds - 1.0] = np.where(erector, 28.0, 0.0)
    p[t >= seconds - 1.0] = np.where(spine, 140.0, 0.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with RecordingWriter(
        path, rows=rows, cols=cols, pitch_mm=pitch, origin_mm=origin, therapist_mass_kg=62.0,
        client={"height_cm": 170.0, "weight_kg": 70.0},
    ) as w:  # fmt: skip
        w.append(t, p)


def _analysed(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from ashiguard.services.analyze import analyze_recording, limits_from_files

    result = analyze_recording(path, limits_from_files(screening=SCREENING))
    return [a.to_json() for a in result.alerts], dict(result.summary)


def store_session(
    db: Any,
    data_dir: Path,
    *,
    recording: bool = True,
    status: str = "ended",
    notes: str = "",
    days_ago: int = 0,
) -> int:
    """A finished session of client "Erika Export" (c-exp) by the "therapist" user's
    practitioner, stored with its analysed outcome like a live session leaves it."""
    with db.session() as s:
        c = s.scalars(select(Client).where(Client.ref == "c-exp")).first()
        if c is None:
            therapist = s.scalar(select(User.id).where(User.username == "therapist"))
            c = Client(
                ref="c-exp",
                name="Erika Export",
                birth_date=date(1970, 5, 2),
                sex="female",
                phone="+46 70 123 45 67",
                email="erika@example.org",
                created_at=utcnow(),
            )
            pr = Practitioner(
                name="Mia Therapist",
                user_id=therapist,
                mass_kg=62.0,
                training_hours=100,
                certification="Ashiatsu Guild",
                certified_on=date(2025, 1, 1),
                certified_until=date(2027, 1, 1),
            )
            room = Room(name="Room E", notes="")
            s.add_all([c, pr, room])
            s.flush()
            intake = {
                "schema": "ashiguard.intake/1",
                "date": "2026-11-24",
                "client": {"id": "c-exp", "height_cm": 170, "weight_kg": 70},
                "vitals": {"systolic_mmhg": 150, "diastolic_mmhg": 95},
                "conditions": [{"code": "hypertension", "status": "active"}],
            }
            it = Intake(client_id=c.id, version=1, payload=intake, pain_sites=["neck"],
                        created_at=utcnow())  # fmt: skip
            s.add(it)
            s.flush()
            s.add(
                Screening(
                    client_id=c.id,
                    intake_id=it.id,
                    screened_for=date(2026, 11, 24),
                    decision="modify",
                    rules_version="test-rules-1",
                    payload=SCREENING,
                    created_at=utcnow(),
                )
            )
            s.flush()
        pr = s.scalars(select(Practitioner)).first()
        room = s.scalars(select(Room)).first()
        sc = s.scalars(select(Screening).where(Screening.client_id == c.id)).first()
        assert pr is not None and room is not None and sc is not None
        started = utcnow() - timedelta(days=days_ago)
        t = TreatmentSession(
            client_id=c.id,
            practitioner_id=pr.id,
            room_id=room.id,
            screening_id=sc.id,
            status=status,
            source="replay:test",
            started_at=started,
            ended_at=None if status == "live" else started + timedelta(seconds=6),
            recording_meta={"frames": 300},
            alerts=[],
            summary=None,
            notes=notes,
        )
        s.add(t)
        s.flush()
        if recording:
            t.recording_path = f"recordings/session-{t.id:06d}.h5"
            path = data_dir / t.recording_path
            write_recording(path)
            if status != "live":
                t.alerts, t.summary = _analysed(path)
        if status == "signed":
            t.signed_at = started + timedelta(minutes=5)
            t.signer_name = "Mia Therapist"
            t.signer_credential = "Ashiatsu certificate, Ashiatsu Guild, valid until 2027-01-01"
            t.signed_as = "therapist"
        s.commit()
        return int(t.id)


def pdf_text(content: bytes) -> list[str]:
    """The text of each page of a PDF."""
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages]
