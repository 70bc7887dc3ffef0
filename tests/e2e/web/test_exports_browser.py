"""The download buttons in Debian's chromium on a 390 px phone (CSP enforced): the report,
zone table and FHIR buttons of a finished session, the client's record and the research CSV
are at least 44 px high, fit the screen, and really download their files."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from browserhelpers import USERS, log_in, start_live_session

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def _finished_session(base: str) -> tuple[int, int]:
    """A simulated session run for about 2 s and stopped (recorded and analysed); returns
    the session's and its client's ids."""
    sid = start_live_session(base, "sim:mixed", name="Phone Export Client")
    user, pw = USERS["therapist"]
    with httpx.Client(base_url=f"{base}/api/v1", timeout=120.0) as api:
        tok = api.post("/auth/token", json={"username": user, "password": pw}).json()["token"]
        api.headers["Authorization"] = f"Bearer {tok}"
        time.sleep(2.0)
        r = api.post(f"/sessions/{sid}/stop")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ended" and r.json()["recording"]["frames"] > 0
        return sid, int(r.json()["client_id"])


def _check_buttons(page, ids: list[str], where: str) -> None:
    for ident in ids:
        b = page.locator(f"#{ident}").bounding_box()
        assert b is not None, (where, ident)
        assert b["height"] >= 44, (where, ident, b)
        assert b["x"] >= 0 and b["x"] + b["width"] <= 390, (where, ident, b)


def test_the_download_buttons_fit_a_phone_and_download_their_files(server, browser):
    sid, cid = _finished_session(server)
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, bypass_csp=False, accept_downloads=True
    )
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        log_in(page, server, "owner")
        page.wait_for_url(f"{server}/")
        page.goto(f"{server}/sessions/{sid}")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-session-review-downloads.png"))
        _check_buttons(page, ["report-pdf", "zones-csv", "session-fhir"], "review")
        with page.expect_download() as got:
            page.click("#report-pdf")
        download = got.value
        assert download.suggested_filename == f"session-{sid}-report.pdf"
        assert Path(download.path()).read_bytes().startswith(b"%PDF")
        with page.expect_download() as got:
            page.click("#zones-csv")
        assert got.value.suggested_filename == f"session-{sid}-zones.csv"
        page.goto(f"{server}/clients/{cid}")
        _check_buttons(page, ["record-pdf"], "client")
        with page.expect_download() as got:
            page.click("#record-pdf")
        assert Path(got.value.path()).read_bytes().startswith(b"%PDF")
        page.goto(f"{server}/research")
        _check_buttons(page, ["research-csv"], "research")
    finally:
        ctx.close()
