"""Session reports: ``ashiguard report`` (PDF, PNG, HTML) and the API the web app calls."""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

import h5py
import pytest
from PIL import Image

from ashiguard.adapters.report_render import A4_IN, PAGE_DPI, PDF_PAGES
from ashiguard.domain.errors import InputError
from ashiguard.services import report as rep

PROJECT = Path(__file__).resolve().parents[2]
SCREENING = PROJECT / "examples" / "screenings" / "modify-left-hip-replacement.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def session(run_cli, tmp_path_factory):
    """A 30 s simulated session (seed 3: one kidney_pressure episode) and its analysis."""
    d = tmp_path_factory.mktemp("report")
    rec = d / "s.h5"
    r = run_cli(
        "simulate",
        "-o",
        rec,
        "--duration",
        "30",
        "--seed",
        "3",
        "--scenario",
        "mixed",
        "--rate",
        "50",
    )
    assert r.returncode == 0, r.stderr
    r = run_cli("analyze", rec, "--alerts", d / "a.jsonl", "--summary", d / "s.json")
    assert r.returncode == 0, r.stderr
    return {"rec": rec, "alerts": d / "a.jsonl", "summary": d / "s.json", "dir": d}


@pytest.fixture(scope="module")
def foot_recording(run_cli, shared_data, tmp_path_factory):
    """The F-Scan in-shoe export imported as a ``foot`` recording (no body frame)."""
    out = tmp_path_factory.mktemp("foot") / "fscan.h5"
    r = run_cli("import", shared_data / "vendor-exports" / "fscan_testL.asf", "-o", out)
    assert r.returncode == 0, r.stderr
    return out


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def test_pdf_report_has_four_a4_portrait_pages(run_cli, session):
    out = session["dir"] / "report.pdf"
    r = run_cli(
        "report",
        session["rec"],
        "--alerts",
        session["alerts"],
        "--summary",
        session["summary"],
        "-o",
        out,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {out}"
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert _pdf_pages(data) == PDF_PAGES == 4
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert len(boxes) == PDF_PAGES
    for w, h in boxes:
        assert float(w) == pytest.approx(A4_IN[0] * 72, abs=1)
        assert float(h) == pytest.approx(A4_IN[1] * 72, abs=1)
    assert b"Ashiatsu session report" in data  # the PDF title metadata


def test_html_report_runs_the_analyzer_and_names_alert_kinds_and_zones(run_cli, session):
    out = session["dir"] / "report.html"
    r = run_cli("report", session["rec"], "-o", out)
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert "<td>kidney_pressure</td>" in text  # the analyzer's episode, in the alarm table
    assert "<td>left kidney area</td>" in text  # zones in the clinic's words
    for zone in ("left buttock", "back of the right thigh", "lower-back spine"):
        assert f"<td>{zone}</td>" in text
    assert "kidney_left" not in text.split("<h2>Zones</h2>")[1]
    for check in ("zone_pressure", "unsupported_weight", "uneven_load", "sensor_fault"):
        assert f"<td>{check}</td>" in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 4  # peak map, dose map, load, alarm timeline
    import base64

    assert all(base64.b64decode(b).startswith(PNG_MAGIC) for b in images)
    assert "http://" not in text and "https://" not in text  # self-contained


def test_screening_sets_the_header_and_the_limits_the_analyzer_uses(session):
    screening = json.loads(SCREENING.read_text(encoding="utf-8"))
    out = rep.build_report(session["rec"], session["dir"] / "screened.html", screening=screening)
    text = out.read_text(encoding="utf-8")
    assert "<dd>c-104</dd>" in text
    assert "modify on 2026-11-24" in text
    assert "avoid gluteal_left" in text
    assert "ashiguard-default-v1" in text
    # contact on the avoided gluteal zone is a restricted_zone alarm only under the screening
    assert "<td>restricted_zone</td>" in text
    assert '<tr class="over"><td>left buttock</td>' in text  # touched although avoided
    assert "<td>avoid (200)</td>" in text
    plain = json.loads(session["summary"].read_text())
    assert plain["alerts_by_kind"]["restricted_zone"] == 0


def test_png_report_is_one_a4_page_image(session):
    summary = json.loads(session["summary"].read_text())
    alerts = [json.loads(line) for line in session["alerts"].read_text().splitlines()]
    out = rep.build_report(
        session["rec"], session["dir"] / "report.png", alerts=alerts, summary=summary
    )
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert img.size == (int(A4_IN[0] * PAGE_DPI), int(A4_IN[1] * PAGE_DPI))
        img.verify()


def test_foot_recording_gets_the_no_body_frame_note(run_cli, foot_recording, tmp_path):
    out = tmp_path / "foot.html"
    r = run_cli("report", foot_recording, "-o", out)
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert "therapist&#x27;s left foot (plantar pressure): no body frame" in text
    assert "No body zones on this sensor" in text
    data = rep.collect_report(foot_recording)
    assert data.body is None and data.maps is not None
    assert data.maps.peak_kpa.shape == (60, 21)
    pdf = rep.build_report(foot_recording, tmp_path / "foot.pdf")
    assert _pdf_pages(pdf.read_bytes()) == PDF_PAGES


def test_broken_recording_exits_2_with_the_reason(run_cli, tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"this is not HDF5 at all")
    r = run_cli("report", junk, "-o", tmp_path / "r.pdf")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("ashiguard: error: ")
    assert f"{junk}: not a readable HDF5 file" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.pdf").exists()


def test_recording_with_a_wrong_schema_is_refused_naming_it(run_cli, tmp_path):
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f.attrs["schema"] = "something/else"
    r = run_cli("report", bad, "-o", tmp_path / "r.html")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "schema" in r.stderr


def test_unknown_output_extension_and_bad_summary_are_refused(run_cli, session, tmp_path):
    r = run_cli("report", session["rec"], "-o", tmp_path / "r.docx")
    assert r.returncode == 2 and r.stdout == ""
    assert "name the report *.pdf, *.png or *.html" in r.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"schema": "ashiguard.alerts/1"}))
    r = run_cli("report", session["rec"], "--summary", wrong, "-o", tmp_path / "r.pdf")
    assert r.returncode == 2 and r.stdout == ""
    assert "schema: expected 'ashiguard.analysis/1'" in r.stderr


def test_build_report_uses_the_alerts_it_is_given(session, tmp_path):
    summary = json.loads(session["summary"].read_text())
    given = [
        {
            "kind": "uneven_load",
            "priority": "low",
            "t_start": 3.0,
            "t_end": 5.5,
            "zone": None,
            "peak": 0.7,
            "limit": 0.5,
            "unit": "ratio",
        },
    ]
    out = rep.build_report(session["rec"], tmp_path / "given.html", alerts=given, summary=summary)
    text = out.read_text(encoding="utf-8")
    assert "<td>uneven_load</td>" in text
    assert "<td>kidney_pressure</td>" not in text  # the analyzer's episodes were not used
    with pytest.raises(InputError, match=r"\.txt: output must end in"):
        rep.build_report(session["rec"], tmp_path / "r.txt", summary=summary, alerts=given)


def test_single_plots_for_the_web_app_are_pngs_of_their_size(session):
    summary = json.loads(session["summary"].read_text())
    alerts = [json.loads(line) for line in session["alerts"].read_text().splitlines()]
    for png, size in (
        (rep.render_load_plot_png(summary), (1200, 450)),
        (rep.render_alarm_timeline_png(alerts, 30.0), (1200, 450)),
    ):
        assert png.startswith(PNG_MAGIC)
        with Image.open(io.BytesIO(png)) as img:
            assert img.size == size
    peak = rep.render_peak_map_png(session["rec"])
    dose = rep.render_peak_map_png(session["rec"], which="dose")
    assert peak.startswith(PNG_MAGIC) and dose.startswith(PNG_MAGIC) and peak != dose
    with pytest.raises(InputError, match="which: 'mean'"):
        rep.render_peak_map_png(session["rec"], which="mean")


def test_peak_and_dose_maps_match_a_direct_pass_over_the_frames(session):
    import numpy as np

    from ashiguard.adapters.recording import open_recording

    with open_recording(session["rec"]) as rec:
        maps = rep.session_maps(rec)
        t, p = rec.read()
    assert maps is not None
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        peak = np.nanmax(p, axis=0)  # all-NaN sensels stay NaN
    np.testing.assert_allclose(maps.peak_kpa, peak, rtol=1e-6)
    dt = np.clip(np.diff(t, prepend=t[0]), 0.0, 0.2)
    expected = (np.clip(np.nan_to_num(p), 0, None) * dt[:, None, None]).sum(axis=0)
    np.testing.assert_allclose(maps.dose_kpa_s, expected, rtol=1e-5, atol=1e-6)
    assert maps.dose_kpa_s.max() > 0


# ------------------------------------------------------------ planned vs delivered, markers

CLEARED = {
    "schema": "ashiguard.screening/1",
    "client_id": "c-9",
    "date": "2026-11-24",
    "decision": "cleared",
    "findings": [],
    "restrictions": {"avoid_zones": [], "max_load_fraction": None, "max_pressure_kpa": None},
    "rules_version": "test-rules-1",
}


def write_marked_recording(path: Path, rate: float = 50.0) -> Path:
    """20 s on the left lumbar erector of a 170 cm client (therapist 62 kg: band 25-30 kPa):
    5 s at 28 kPa (in band), 5 s at 40 (over), 5 s at 10 (under), 5 s off; a "too much" at
    7 s, a technique change at 12 s and a label at 16 s in ``/annotations``."""
    import numpy as np

    from ashiguard.adapters.recording import RecordingWriter
    from ashiguard.domain.simulation import default_origin_mm
    from ashiguard.domain.zones import ZONES, Grid, ZoneMap

    rows, cols, pitch = 128, 48, 15.0
    origin = default_origin_mm(rows, cols, pitch)
    grid = Grid(rows, cols, pitch, origin_mm=origin)
    zone = ZoneMap.from_height(1700.0).rasterize(grid).labels == ZONES.index("erector_lumbar_left")
    t = np.arange(0.0, 20.0, 1.0 / rate)
    p = np.zeros((t.size, rows, cols), np.float32)
    for a, b, kpa in ((0, 5, 28.0), (5, 10, 40.0), (10, 15, 10.0)):
        p[(t >= a) & (t < b)] = np.where(zone, kpa, 0.0)
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
                    "who": "mia",
                    "wall": 0.0,
                    "zone": None,
                    "zone_kpa": None,
                    "load_n": 100.0,
                },
                {"t": 16.0, "kind": "label", "text": "client asleep", "who": "mia", "wall": 0.0},
            ]
        )
    return path


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    return write_marked_recording(tmp_path_factory.mktemp("marked") / "marked.h5")


def test_report_shows_planned_vs_delivered_with_the_plan_used_and_the_score(marked, tmp_path):
    data = rep.collect_report(marked, screening=CLEARED)
    d = data.delivery.delivery
    lumbar = next(z for z in d.zones if z.zone == "erector_lumbar_left")
    assert (lumbar.low_kpa, round(lumbar.high_kpa, 1)) == (25.0, 30.4)
    assert lumbar.in_band_s == pytest.approx(4.98)
    assert (lumbar.over_s, lumbar.under_s) == pytest.approx((5.0, 5.0))
    assert lumbar.peak_kpa == pytest.approx(40.0)
    assert d.score == pytest.approx(100 * (4.98 + 2.5 - 5.0) / 14.98)
    assert ("Delivery score", "17 / 100 (loaded time: 33% in band, 33% over)") in data.header
    text = rep.build_report(marked, tmp_path / "r.html", screening=CLEARED).read_text()
    delivery = text.split("<h2>Planned vs delivered</h2>")[1].split("<h2>Markers")[0]
    assert (
        "plan from the screening of 2026-11-24 (cleared, rules test-rules-1), therapist 62 kg"
        in (delivery)
    )
    assert (
        '<tr class="over"><td>left lower-back muscles</td><td>4, whole-foot glide</td>'
        "<td>25–30</td><td>15.0</td><td>5.0 (33%)</td><td>5.0 (33%)</td><td>5.0 (33%)</td>"
        "<td>40.0</td><td>17</td></tr>"
    ) in delivery
    assert "erector_lumbar_left" not in delivery


def test_report_lists_the_markers_with_the_zone_and_pressure_then(marked, tmp_path):
    text = rep.build_report(marked, tmp_path / "m.html", screening=CLEARED).read_text()
    markers = text.split("<h2>Markers (3)</h2>")[1].split("<h2>")[0]
    assert (
        '<tr class="over"><td>7.0</td><td>Client said too much</td><td>client</td>'
        "<td>left lower-back muscles</td><td>40 kPa (peak 45 kPa), load 300 N</td></tr>"
    ) in markers
    assert "<td>Technique change</td><td>mia</td><td>left lower-back muscles</td>" in markers
    assert "<td>Mark: client asleep</td>" in markers and "no zone loaded" in markers
    pdf = rep.build_report(marked, tmp_path / "m.pdf", screening=CLEARED)
    assert _pdf_pages(pdf.read_bytes()) == PDF_PAGES
    png = rep.build_report(marked, tmp_path / "m.png", screening=CLEARED)
    with Image.open(png) as img:
        assert img.size == (int(A4_IN[0] * PAGE_DPI), int(A4_IN[1] * PAGE_DPI))


def test_delivery_is_not_applicable_without_a_body_frame_or_a_plan(foot_recording, marked):
    foot = rep.collect_report(foot_recording, screening=CLEARED)
    assert foot.delivery.status == "not_applicable"
    assert "under the therapist's foot" in foot.delivery.reason
    assert dict(foot.header)["Delivery score"].startswith("not applicable: grid under")
    none = rep.collect_report(marked)
    assert none.delivery.reason == "no screening: no plan to compare with"


def test_a_comfort_ceiling_lowers_the_band_the_delivery_is_measured_against(marked):
    data = rep.collect_report(marked, screening=CLEARED, comfort=20.0)
    lumbar = next(z for z in data.delivery.delivery.zones if z.zone == "erector_lumbar_left")
    assert (lumbar.low_kpa, lumbar.high_kpa) == (15.0, 20.0)
    assert lumbar.over_s == pytest.approx(4.98 + 5.0)
    assert "client's comfort ceiling 20 kPa" in data.delivery.plan_used


def test_report_cli_takes_a_comfort_ceiling(run_cli, marked, tmp_path):
    scr = tmp_path / "s.json"
    scr.write_text(json.dumps(CLEARED))
    out = tmp_path / "c.html"
    r = run_cli("report", marked, "--screening", scr, "--comfort-kpa", "20", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "client&#x27;s comfort ceiling 20 kPa" in out.read_text()
    r = run_cli("report", marked, "--comfort-kpa", "-1", "-o", out)
    assert r.returncode == 2 and "--comfort-kpa" in r.stderr
