"""The review page: planned vs delivered per zone, the markers, and the comfort ceiling."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ashiguard.adapters.db.models import (
    Client,
    Intake,
    Practitioner,
    Room,
    Screening,
    TreatmentSession,
)
from ashiguard.adapters.db.repo import utcnow
from ashiguard.adapters.recording import RecordingWriter
from ashiguard.domain.simulation import default_origin_mm
from ashiguard.domain.zones import ZONES, Grid, ZoneMap

SCREENING = {
    "schema": "ashiguard.screening/1",
    "client_id": "c-rev",
    "date": "2026-11-24",
    "decision": "cleared",
    "findings": [],
    "restrictions": {"avoid_zones": [], "max_load_fraction": None, "max_pressure_kpa": None},
    "rules_version": "test-rules-1",
}


def _write_recording(path: Path) -> None:
    """20 s on the left lumbar erector (band 25-30 kPa for a 62 kg therapist): 5 s in band,
    5 s over (40 kPa), 5 s under, 5 s off; a "too much" at 7 s and a technique change at 12 s."""
    rows, cols, pitch = 128, 48, 15.0
    origin = default_origin_mm(rows, cols, pitch)
    grid = Grid(rows, cols, pitch, origin_mm=origin)
    zone = ZoneMap.from_height(1700.0).rasterize(grid).labels == ZONES.index("erector_lumbar_left")
    t = np.arange(0.0, 20.0, 0.02)
    p = np.zeros((t.size, rows, cols), np.float32)
    for a, b, kpa in ((0, 5, 28.0), (5, 10, 40.0), (10, 15, 10.0)):
        p[(t >= a) & (t < b)] = np.where(zone, kpa, 0.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with RecordingWriter(
        path, rows=rows, cols=cols, pitch_mm=pitch, origin_mm=origin, therapist_mass_kg=62.0,
        client={"height_cm": 170.0, "weight_kg": 70.0},
    ) as w:  # fmt: skip
        w.append(t, p)
        w.write_annotations(
            [
                {
                    "t": 7.0,
                    "kind": "too_much",
                    "text": "",
                    "who": "client",
                    "wall": 0.0,
                    "zone": "erector_lumbar_left",
                    "zone_kpa": 45.0,
                    "load_n": 300.0,
                },
                {
                    "t": 12.0,
                    "kind": "technique_change",
                    "text": "",
                    "who": "therapist",
                    "wall": 0.0,
                    "zone": None,
                    "zone_kpa": None,
                    "load_n": 100.0,
                },
            ]
        )


def _store(db, settings, *, recording: bool = True, alerts=None, days_ago: int = 0) -> int:
    """A finished treatment session stored directly (optionally with its recording)."""
    with db.session() as s:
        c = s.query(Client).filter_by(ref="c-rev").one_or_none()
        if c is None:
            c = Client(ref="c-rev", name="Rev Client", created_at=utcnow())
            pr = Practitioner(name="Mia Therapist", mass_kg=62.0, training_hours=100)
            room = Room(name="Room R", notes="")
            s.add_all([c, pr, room])
            s.flush()
            it = Intake(client_id=c.id, version=1, payload={"client": {"height_cm": 170}},
                        pain_sites=[], created_at=utcnow())  # fmt: skip
            s.add(it)
            s.flush()
            s.add(
                Screening(
                    client_id=c.id,
                    intake_id=it.id,
                    screened_for=date(2026, 11, 24),
                    decision="cleared",
                    rules_version="test-rules-1",
                    payload=SCREENING,
                    created_at=utcnow(),
                )
            )
            s.flush()
        pr = s.query(Practitioner).one()
        room = s.query(Room).one()
        sc = s.query(Screening).filter_by(client_id=c.id).one()
        started = utcnow() - timedelta(days=days_ago)
        t = TreatmentSession(
            client_id=c.id,
            practitioner_id=pr.id,
            room_id=room.id,
            screening_id=sc.id,
            status="ended",
            source="replay:test",
            started_at=started,
            ended_at=started + timedelta(seconds=20),
            recording_meta={"frames": 1000},
            alerts=alerts or [],
            summary=None,
        )
        s.add(t)
        s.flush()
        if recording:
            t.recording_path = f"recordings/session-{t.id:06d}.h5"
            _write_recording(settings.data_dir / t.recording_path)
        s.commit()
        return int(t.id)


@pytest.mark.slow
def test_the_review_page_shows_planned_vs_delivered_markers_and_the_comfort_ceiling(
    as_role, db, settings
):
    sid = _store(db, settings)
    c = as_role("therapist")
    r = c.get(f"/sessions/{sid}")
    assert r.status_code == 200, r.text
    page = r.text
    assert "Planned vs delivered" in page
    assert "Delivery score 17 / 100" in page
    assert (
        "plan from the screening of 2026-11-24 (cleared, rules test-rules-1), therapist 62 kg"
        in (page)
    )
    row = page.split('id="delivery-table"')[1].split("</table>")[0]
    assert "<td>left lower-back muscles</td><td>4, whole-foot glide</td><td>25–30</td>" in row
    assert "<td>5.0 (33%)</td>" in row and "<strong>40.0</strong>" in row
    assert "erector_lumbar_left" not in row
    markers = page.split('id="markers"')[1].split("</table>")[0]
    assert "<td>7.0 s</td><td>Client said too much</td><td>client</td>" in markers
    assert "<td>left lower-back muscles</td><td>40 kPa (peak 45 kPa), load 300 N</td>" in markers
    assert "<td>Technique change</td>" in markers
    assert "Comfort ceiling proposed for this client's next plan: <strong>36 kPa</strong>" in (page)
    assert "1 &#39;too much&#39; marker in the last 1 visit, lowest at 40 kPa on the left" in page
    png = c.get(f"/sessions/{sid}/plots/alarms.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as img:
        assert img.size == (1200, 450)


def test_a_session_without_a_recording_says_delivery_is_not_applicable(as_role, db, settings):
    comfort = [
        {
            "kind": "comfort",
            "priority": "low",
            "t_start": 3.0,
            "t_end": 3.0,
            "zone": "gluteal_right",
            "peak": None,
            "limit": None,
            "unit": None,
            "rule": "comfort:too_much",
            "value_seen": 52.0,
            "source": "marked by client",
        }
    ]
    sid = _store(db, settings, recording=False, alerts=comfort)
    page = as_role("owner").get(f"/sessions/{sid}").text
    assert "Not applicable: no recording for this session." in page
    # the stored comfort episode is the marker; its stored peak feeds the ceiling
    assert (
        "<td>3.0 s</td><td>Client said too much</td><td>client</td><td>right buttock</td>" in page
    )
    assert "peak 52 kPa" in page
    assert "lowest at 52 kPa on the right buttock" in page
    assert "stored peak; recording unavailable" in page


def test_the_client_page_template_shows_the_comfort_ceiling_when_given():
    from types import SimpleNamespace

    from ashiguard.entrypoints.web.rendering import templates

    tpl = templates.env.get_template("client.html")
    client = SimpleNamespace(name="A", ref="c-1", id=1, birth_date=None, sex="", phone="",
                             email="")  # fmt: skip
    ctx = {"client": client, "intakes": [], "screenings": [], "sessions": [], "by_intake": {},
           "user": SimpleNamespace(role="therapist"), "csrf": "", "request": None}  # fmt: skip
    comfort = SimpleNamespace(kpa=30.6, source="3 'too much' markers in the last 5 visits")
    html = tpl.render(**ctx, comfort=comfort)
    assert "Comfort ceiling</dt>" in html and "<strong>31 kPa</strong>" in html
    assert "Comfort ceiling" not in tpl.render(**ctx)
