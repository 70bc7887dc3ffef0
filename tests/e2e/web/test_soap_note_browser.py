"""The session's note on a 390 x 844 phone: a template, the body chart, pain scores, signing,
an addendum; nothing wider than the screen and every control at least 44 px high."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from browserhelpers import USERS, log_in, start_live_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = (390, 844)
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"  # screenshots to look at


def _stop(base: str, session_id: int) -> None:
    user, pw = USERS["therapist"]
    with httpx.Client(base_url=f"{base}/api/v1", timeout=120.0) as api:
        token = api.post("/auth/token", json={"username": user, "password": pw}).json()["token"]
        api.headers["Authorization"] = f"Bearer {token}"
        api.post(f"/sessions/{session_id}/stop").raise_for_status()


def _fits_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px screen"


def _small_targets(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(
        selector,
        """els => els.filter(e => e.offsetParent !== null)
                    .filter(e => e.getBoundingClientRect().height < 44)
                    .map(e => (e.id || e.name || e.textContent.trim()).slice(0, 40)
                              + ' ' + Math.round(e.getBoundingClientRect().height))""",
    )


@pytest.mark.parametrize("page", [PHONE], indirect=True)
def test_a_therapist_writes_and_signs_a_note_on_a_phone_and_adds_an_addendum(server, page):
    log_in(page, server, "owner")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/admin/note-templates")
    form = page.locator("#new-template form")
    form.locator("input[name=name]").fill("Lower back, first visit")
    form.locator("textarea[name=subjective]").fill("Client reports a stiff lower back.")
    form.locator("textarea[name=plan]").fill("Weekly for four weeks.")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=Lower back, first visit")
    _fits_the_screen(page)
    page.click("button.link")  # log out
    sid = start_live_session(server, "sim:mixed", name="Phone Client")
    time.sleep(10)  # some 40 s of simulated work (the server runs the simulator 4x faster)
    _stop(server, sid)

    log_in(page, server, "therapist")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/sessions/{sid}")
    assert page.inner_text("#status") == "ended"
    facts = page.inner_text("#objective-measured")
    assert "Duration:" in facts and "Load on the client:" in facts and "Alarms:" in facts
    page.select_option("#template", label="Lower back, first visit")
    page.click("text=Use this template")
    page.wait_for_url(re.compile(rf".*/sessions/{sid}\?template=\d+$"))
    assert page.input_value("#soap-subjective") == "Client reports a stiff lower back."
    page.fill("#soap-subjective", "Stiff lower back after a long drive.")
    page.fill("#soap-objective", "Warm skin, no bruising.")
    page.fill("#soap-assessment", "Tight lower-back muscles, better after.")
    page.select_option("#soap-pain_before", "6")
    page.select_option("#soap-pain_after", "2")
    page.click(".body-chart rect[data-zone='erector_lumbar_left']")  # the chart ticks the box
    assert page.is_checked("#area-checks input[value='erector_lumbar_left']")
    page.click("#area-checks label:has(input[value='gluteal_right'])")  # the box lights the chart
    assert "on" in page.get_attribute(".body-chart rect[data-zone='gluteal_right']", "class")
    _fits_the_screen(page)
    assert _small_targets(page, "#soap-note button, #soap-note select, #area-checks label") == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "soap-note-phone-form.png"), full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#sign")
    page.wait_for_selector("#soap-signed")
    assert page.inner_text("#status") == "signed"
    assert page.inner_text("#note-subjective") == "Stiff lower back after a long drive."
    assert page.inner_text("#note-plan") == "Weekly for four weeks."
    assert page.inner_text("#note-pain").startswith("6 before, 2 after")
    assert page.inner_text("#note-areas") == "left lower-back muscles\nright buttock"
    page.fill("#addendum", "Pain after was 3, not 2 (the client called back).")
    page.click("#add-addendum")
    page.wait_for_selector("#addenda li[id^=addendum-]")
    entry = page.inner_text("#addenda")
    assert "Pain after was 3, not 2" in entry and "Signed by Therapist" in entry
    _fits_the_screen(page)
    assert _small_targets(page, "#soap-note button") == []
    page.screenshot(path=str(ARTIFACTS / "soap-note-phone-signed.png"), full_page=True)
