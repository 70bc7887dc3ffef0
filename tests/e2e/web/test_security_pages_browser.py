"""In Debian's chromium with the CSP enforced (issue 16): no page of the clinic breaks its
Content-Security-Policy (no inline script or style to refuse), and the login, two-step,
password and reset pages fit a 390 px phone without sideways scrolling."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest
from browserhelpers import USERS, log_in

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

PAGES = [
    "/",
    "/clients",
    "/clients/new",
    "/clients/{cid}",
    "/clients/{cid}/intake",
    "/screenings/{sid}",
    "/sessions",
    "/sessions/new",
    "/research",
    "/admin/users",
    "/admin/practitioners",
    "/admin/rooms",
    "/admin/audit",
    "/admin/audit/check",
    "/account/password",
    "/account/two-factor",
    "/api/v1/docs",
]
PHONE = ["/login", "/account/password", "/account/two-factor", "/admin/users", "/reset/x"]


def _client(base):
    user, pw = USERS["owner"]
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60.0) as api:
        tok = api.post("/auth/token", json={"username": user, "password": pw}).json()["token"]
        api.headers["Authorization"] = f"Bearer {tok}"
        c = api.post("/clients", json={"name": "Csp Client"}).json()
        intake = {
            "schema": "ashiguard.intake/1",
            "date": date.today().isoformat(),
            "client": {"id": c["ref"], "height_cm": 170, "weight_kg": 70},
        }
        stored = api.post(f"/clients/{c['id']}/intakes", json={"intake": intake}).json()
        return c["id"], stored["id"]


def _context(browser, width, height):
    # CSP enforced (the shared fixture's pages bypass it for Playwright's own helpers)
    return browser.new_context(viewport={"width": width, "height": height}, bypass_csp=False)


def test_no_page_breaks_the_content_security_policy(server, browser):
    cid, sid = _client(server)
    ctx = _context(browser, 1280, 900)
    page = ctx.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda m: (
            refused.append(f"{page.url}: {m.text}") if "Content Security Policy" in m.text else None
        ),
    )
    try:
        log_in(page, server, "owner")
        page.wait_for_url(f"{server}/")
        for path in PAGES:
            page.goto(server + path.format(cid=cid, sid=sid))
            page.wait_for_load_state("load")
        assert refused == []
    finally:
        ctx.close()


@pytest.mark.parametrize("path", PHONE)
def test_the_account_pages_fit_a_390_px_phone(server, browser, path):
    ctx = _context(browser, 390, 844)
    page = ctx.new_page()
    try:
        if path != "/login":
            log_in(page, server, "owner")
            page.wait_for_url(f"{server}/")
        page.goto(server + path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
        assert width <= 390, f"{path} scrolls sideways: {width} px"
        for box in page.locator("main button, main input:not([type=hidden])").all():
            b = box.bounding_box()
            assert b is None or b["x"] + b["width"] <= 390, path
    finally:
        ctx.close()
