"""The clinic app in a real browser: intake to signed session, a refused login, role limits."""

from __future__ import annotations

import re
from datetime import date

import pytest
from browserhelpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_therapist_screens_a_new_client_runs_a_live_session_and_signs_it(server, page):
    log_in(page, server, "therapist")
    page.wait_for_url(f"{server}/")
    page.click("text=Clients")
    page.click("text=New client")
    page.fill("input[name=name]", "Browser Client")
    page.fill("input[name=birth_date]", "1980-04-05")
    page.click("text=Create and fill the intake")
    page.wait_for_url(re.compile(r".*/clients/\d+/intake$"))
    page.fill("input[name='client.height_cm']", "171")
    page.fill("input[name='client.weight_kg']", "abc")
    page.select_option("select[name='conditions.0.code']", "kidney_stones")
    page.select_option("select[name='conditions.0.status']", "resolved")
    page.click("rect[data-zone='hamstring_left']")
    page.click("text=Save and screen")
    assert "client.weight_kg: must be a number" in page.inner_text("#form-error")
    assert page.input_value("input[name='client.height_cm']") == "171"
    assert page.is_checked("#pain-checks input[value='hamstring_left']")
    page.fill("input[name='client.weight_kg']", "69")
    page.click("text=Save and screen")
    page.wait_for_url(re.compile(r".*/screenings/\d+$"))
    assert page.inner_text("#decision") == "Modify"
    assert "left kidney area" in page.inner_text("main")  # the clinic's words, not the slug
    # the client reads the risks and signs (typed name, tick box, a stroke on the pad)
    page.click("#take-consent")
    assert "Pressure on the spine" in page.inner_text("#risks")
    page.check("input[name=agreed]")
    page.fill("input[name=typed_name]", "Bea Browser")
    box = page.locator("#signature-pad").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 90, steps=8)
    page.mouse.up()
    page.click("#sign-consent")
    page.wait_for_url(re.compile(r".*/clients/\d+$"))
    assert "with a drawn signature" in page.inner_text("#consent-state")
    page.click("text=Start a session")
    page.select_option("select[name=practitioner_id]", label="Tess Therapist")
    page.select_option("select[name=source]", "sim:spine")
    page.click("text=Check readiness and start")
    page.wait_for_url(re.compile(r".*/sessions/\d+$"))
    page.wait_for_function("window.ashiguardLive && window.ashiguardLive.frames > 3")
    first = page.evaluate("window.ashiguardLive.lastFrameT")
    page.wait_for_function(f"window.ashiguardLive.lastFrameT > {first} + 1")
    page.wait_for_function("window.ashiguardLive.peak > 0")
    page.wait_for_selector(".banner.high", timeout=60_000)
    assert "lower-back spine" in page.inner_text("#banner-text")  # the clinic's words
    page.click("button.ack >> nth=0")
    # later alarm events may follow the acknowledgement: count acknowledgements instead
    page.wait_for_function("window.ashiguardLive.acknowledged > 0")
    questions: list[str] = []
    answers = iter([False, True, False, True])  # say no, then yes, to each question

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    page.on("dialog", answer)
    page.click("#stop")  # "no": the session goes on
    assert questions[-1].startswith("End this session now?")
    assert page.url.endswith(f"/sessions/{page.url.rsplit('/', 1)[1]}")
    page.click("#stop")
    page.wait_for_selector("text=Session review", timeout=60_000)
    assert page.inner_text("#status") == "ended"
    page.fill("#notes", "Client tolerated the session well.\nSecond line.")
    page.click("#sign")  # "no": nothing is signed
    assert questions[-1].startswith("Sign this session?")
    assert page.inner_text("#status") == "ended"
    page.click("#sign")
    page.wait_for_selector("#notes-text")
    assert page.inner_text("#status") == "signed"
    # the line break survives: the stylesheet's pre-wrap, not an inline style the policy blocks
    assert page.inner_text("#notes-text") == "Client tolerated the session well.\nSecond line."
    assert page.eval_on_selector("#notes-text", "e => getComputedStyle(e).whiteSpace") == (
        "pre-wrap"
    )
    assert "Signed by Therapist" in page.inner_text("#signed-by")
    assert "Ashiatsu Guild" in page.inner_text("#signed-by")


def test_a_wrong_password_is_refused_in_the_browser(server, page):
    page.goto(f"{server}/login")
    page.fill("input[name=username]", "therapist")
    page.fill("input[name=password]", "not-my-password")
    page.click("button[type=submit]")
    assert page.inner_text("#login-error") == "Invalid username or password."
    assert page.url.startswith(f"{server}/login")
    page.goto(f"{server}/clients")
    assert page.url.startswith(f"{server}/login?next=")


def test_a_front_desk_user_cannot_open_a_session(server, page):
    log_in(page, server, "front_desk")
    page.wait_for_url(f"{server}/")
    assert page.locator("nav >> text=Sessions").count() == 0
    response = page.goto(f"{server}/sessions")
    assert response.status == 403
    assert "Not allowed" in page.inner_text("h1")
    response = page.goto(f"{server}/sessions/new?client_id=1")
    assert response.status == 403
    assert date.today().isoformat()  # the page rendered without a server error
