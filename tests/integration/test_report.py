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
        "simulate", "-o", rec, "--duration", "30", "--seed", "3", "--scenario", "mixed",
        "--rate", "50",
    )  # fmt: skip
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


def test_pdf_report_has_three_a4_portrait_pages(run_cli, session):
    out = session["dir"] / "report.pdf"
    r = run_cli(
        "report", session["rec"], "--alerts", session["alerts"], "--summary",
        session["summary"], "-o", out,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {out}"
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert _pdf_pages(data) == PDF_PAGES == 3
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
    assert "<td>kidney_left</td>" in text
    for zone in ("gluteal_left", "hamstring_right", "spine_lumbar"):
        assert f"<td>{zone}</td>" in text
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
    assert '<tr class="over"><td>gluteal_left</td>' in text  # touched although avoided
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
        {"kind": "uneven_load", "priority": "low", "t_start": 3.0, "t_end": 5.5, "zone": None,
         "peak": 0.7, "limit": 0.5, "unit": "ratio"},
    ]  # fmt: skip
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
