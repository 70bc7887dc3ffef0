"""Recording a physician's clearance on a phone (390 x 844): the form fits the screen, every
target is at least 44 px, the letter goes up and the client's page says what it changed.
Screenshots go to ``test-artifacts/`` (look at them)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import httpx
import pytest
from browserhelpers import USERS, log_in
from PIL import Image

pytestmark = [pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def _client_needing_clearance(base: str) -> int:
    user, pw = USERS["front_desk"]
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60.0) as api:
        r = api.post("/auth/token", json={"username": user, "password": pw})
        r.raise_for_status()
        api.headers["Authorization"] = f"Bearer {r.json()['token']}"
        client = api.post("/clients", json={"name": "Clara Clearance"}).json()
        intake = {
            "schema": "ashiguard.intake/1",
            "date": date.today().isoformat(),
            "client": {"id": client["ref"]},
            "medications": [{"code": "anticoagulant", "name": "apixaban"}],
        }
        api.post(f"/clients/{client['id']}/intakes", json={"intake": intake}).raise_for_status()
        return int(client["id"])


TARGETS = (
    "button, a.button, summary, input:not([type=hidden]):not([type=checkbox]), textarea, "
    "label.big-check"
)


def _small_targets(page, scope: str) -> list[str]:
    """Visible targets in ``scope`` lower than 44 px (their HTML, cut short)."""
    return page.evaluate(
        """([scope, targets]) => [...document.querySelectorAll(scope)]
            .flatMap(s => [...s.querySelectorAll(targets)])
            .filter(e => e.offsetParent !== null)
            .filter(e => e.getBoundingClientRect().height < 44)
            .map(e => e.outerHTML.slice(0, 80))""",
        [scope, TARGETS],
    )


@pytest.mark.parametrize("page", [(390, 844)], indirect=True, ids=["phone"])
def test_a_clearance_is_recorded_on_a_phone_with_big_targets_and_changes_the_clients_state(
    server, page
):
    cid = _client_needing_clearance(server)
    log_in(page, server, "front_desk")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/clients/{cid}")
    assert "no clearance on file" in page.inner_text("#clearances")
    page.click('summary:has-text("Record a physician\'s clearance")')
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "clearance-form-phone.png"), full_page=True)
    assert _small_targets(page, "#clearances") == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.check("input[name=rules][value=anticoagulant]")
    page.fill("input[name=physician_name]", "Dr Jane Roe")
    page.fill("input[name=practice]", "Northside Medical")
    page.fill("input[name=contact]", "+44 20 7946 0000")
    page.fill("input[name=cleared_on]", date.today().isoformat())
    page.fill("textarea[name=restrictions]", "Light work on the legs.")
    scan = io.BytesIO()
    Image.new("RGB", (300, 400), (250, 250, 250)).save(scan, "JPEG")
    page.set_input_files(
        "input[name=letter]",
        files=[{"name": "letter photo.jpg", "mimeType": "image/jpeg", "buffer": scan.getvalue()}],
    )
    page.click("#record-clearance")
    page.wait_for_url(f"{server}/clients/{cid}#clearances")
    text = page.inner_text("main")
    assert f"clearance on file from Dr Jane Roe, {date.today().isoformat()}" in text
    assert "cleared by physician" in page.inner_text("#latest-effective")
    assert "letter photo.jpg" in page.inner_text("#clearance-list")
    page.screenshot(path=str(ARTIFACTS / "clearance-recorded-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    with page.expect_download() as info:
        page.click("#clearance-list a.button")
    assert info.value.suggested_filename.startswith("clearance-")
