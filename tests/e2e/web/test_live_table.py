"""The live page at the table, in a real chromium: layout on a phone and a wide screen, alarm
groups and their states, acknowledge, the alarm sound and its pause, the blocked-sound notice,
what survives a reload, markers, and the client's "Too much" page.

Layout, reload and markers run against real simulated sessions (``sim:spine`` raises high
priority spine alarms); the alarm-state and sound tests replace the page's WebSocket by a
silent stand-in and feed the page messages of the live-message schema through
``window.ashiguardLive.feed`` (the handler the WebSocket uses), so they do not depend on when
the simulator raises what. Screenshots go to ``test-artifacts/`` (look at them).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from browserhelpers import log_in, log_in_quietly, start_live_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = [(390, 844), (1400, 900)]
WS = re.compile(r".*/sessions/\d+/ws$")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(scope="module")
def spine(server: str) -> int:
    """A live ``sim:spine`` session (high-priority spine alarms, latched until acknowledged)."""
    return start_live_session(server, "sim:spine", "Table Client")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _inside_viewport(page: Any, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    vp = page.viewport_size
    assert box is not None, selector
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= vp["width"] + 0.5, (selector, box, vp)
    assert box["y"] + box["height"] <= vp["height"] + 0.5, (selector, box, vp)


SMALL_TARGETS = """() => [
  ...document.querySelectorAll('#live button, #live input[type=text], #client button')]
  .filter((e) => e.offsetParent !== null)
  .map((e) => [e.id || e.className || e.textContent, e.getBoundingClientRect()])
  .filter(([, r]) => r.width < 44 || r.height < 44)
  .map(([n, r]) => `${n}: ${r.width.toFixed(0)} x ${r.height.toFixed(0)}`)"""


@pytest.mark.parametrize("page", SIZES, indirect=True, ids=["phone", "wide"])
def test_banner_acknowledge_and_load_are_on_screen_without_scrolling(server, spine, page):
    log_in(page, server, "therapist")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/sessions/{spine}")
    page.wait_for_function("window.ashiguardLive && window.ashiguardLive.frames > 3")
    page.wait_for_selector(".banner.high", timeout=60_000)
    page.wait_for_selector("#banner-ack:visible")
    for selector in ("#banner", "#banner-ack", "#load"):
        _inside_viewport(page, selector)
    assert page.locator("#banner-ack").get_attribute("class").split().count("ack") == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(SMALL_TARGETS) == []
    text = page.inner_text("#live")
    assert "lower-back spine" in text and "spine_lumbar" not in text
    assert "kPa" in page.inner_text("#scale")
    assert page.evaluate("window.ashiguardLive.scaleKpa") > 0
    assert page.is_visible("#rec")
    assert re.fullmatch(r"\d\d:\d\d", page.inner_text("#timer"))
    w, h = page.viewport_size["width"], page.viewport_size["height"]
    page.wait_for_timeout(300)
    _shot(page, f"live-{w}x{h}")
    page.screenshot(path=str(ARTIFACTS / f"live-{w}x{h}-full.png"), full_page=True)

    client = page.context.new_page()
    client.goto(f"{server}/sessions/{spine}/client")
    box = client.locator("#too-much").bounding_box()
    assert box is not None and box["width"] * box["height"] >= 0.4 * w * h
    assert client.evaluate(SMALL_TARGETS) == []
    assert client.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert "Table Client" not in client.content()  # nothing of the record
    _shot(client, f"client-{w}x{h}")


def _mock_socket(page: Any) -> list[Any]:
    """Replace the live page's WebSocket by a silent stand-in that sends only ``init``."""
    sockets: list[Any] = []

    def handler(ws: Any) -> None:
        sockets.append(ws)
        ws.send(
            json.dumps(
                {
                    "type": "init",
                    "session_id": 1,
                    "rows": 4,
                    "cols": 4,
                    "pitch_mm": 10.0,
                    "origin_mm": None,
                    "placement": "on_client",
                    "rate_hz": 100.0,
                    "view_hz": 20.0,
                    "therapist_weight_n": 600.0,
                    "allowed_share": 0.6,
                    "avoid_zones": [],
                    "source": "sim:test",
                    "outline": None,
                    "zones": {},
                    "scale_kpa": 120.0,
                    "recording": True,
                    "started_wall": time.time() - 65,
                    "targets": [],
                    "zone_words": {},
                    "kind_words": {},
                }
            )
        )

    page.route_web_socket(WS, handler)
    return sockets


def _group(kind: str, zone: str | None, priority: str, state: str, alarm_id: int, count: int = 1):
    return {
        "kind": kind,
        "zone": zone,
        "priority": priority,
        "count": count,
        "first_t": 12.0,
        "last_t": 12.0 + 20 * (count - 1),
        "state": state,
        "alarm_id": alarm_id,
        "value": 180.0,
        "limit": 60.0,
        "unit": "kPa",
        "rule": f"{kind}:{zone}",
        "source": "default",
        "technical": False,
    }


def _status(*groups: dict[str, Any]) -> dict[str, Any]:
    return {"type": "status", "active": [], "groups": list(groups), "log": [], "markers": []}


def _feed(page: Any, msg: dict[str, Any]) -> None:
    page.evaluate("(m) => window.ashiguardLive.feed(m)", msg)


def _open_mocked(page: Any, server: str, session_id: int) -> list[str]:
    """The live page with a stand-in WebSocket and a stand-in /ack (whose bodies are kept)."""
    acks: list[str] = []

    def answer_ack(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        acks.append(body)
        ids = [body["alarm_id"]] if "alarm_id" in body else [1, 2]
        route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"acknowledged": ids})
        )

    _mock_socket(page)
    page.route(re.compile(r".*/sessions/\d+/ack$"), answer_ack)
    log_in(page, server, "therapist")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/sessions/{session_id}")
    page.wait_for_function("window.ashiguardLive && window.ashiguardLive.scaleKpa === 120")
    return acks


def _raised(alarm_id: int, t: float, active: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "alarm",
        "event": {
            "action": "raised",
            "alarm_id": alarm_id,
            "kind": "spine_pressure",
            "priority": "high",
            "zone": "spine_lumbar",
            "t": t,
            "value": 150.0 + alarm_id,
            "limit": 60.0,
            "unit": "kPa",
            "rule": "spine_pressure:spine_lumbar",
            "source": "default",
        },
        "active": active,
        "sent": time.time(),
        "frame_wall": time.time(),
    }


def _active(alarm_id: int, present: bool = True, acknowledged: bool = False) -> dict[str, Any]:
    return {
        "alarm_id": alarm_id,
        "kind": "spine_pressure",
        "priority": "high",
        "zone": "spine_lumbar",
        "condition_present": present,
        "latched": not present,
        "acknowledged": acknowledged,
        "limit": 60.0,
        "unit": "kPa",
    }


def test_repeated_alarms_of_one_condition_collapse_into_one_row_with_a_count(server, spine, page):
    _open_mocked(page, server, spine)
    for i, t in ((1, 10.0), (2, 30.0), (3, 55.0)):
        _feed(page, _raised(i, t, [_active(i)]))
        _feed(
            page,
            {
                "type": "alarm",
                "event": {
                    "action": "cleared",
                    "alarm_id": i,
                    "kind": "spine_pressure",
                    "zone": "spine_lumbar",
                    "t": t + 2,
                },
                "active": [_active(i, present=False)],
                "sent": 0,
                "frame_wall": None,
            },
        )
    rows = page.locator("#alarms .alarm-row")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "3×" in text and "Pressure on the lower-back spine" in text
    assert "first at 00:10, last at 00:55" in text
    assert "spine_lumbar" not in page.inner_text("#alarms") and "spine_pressure" not in text
    assert rows.first.get_attribute("data-state") == "latched"
    assert "Over, waiting for acknowledgement" in text

    # the server's status replaces the page's own count (one group per condition and zone)
    _feed(
        page,
        _status(
            _group("spine_pressure", "spine_lumbar", "high", "cleared", 3, count=5),
            _group("dwell_time", "erector_lumbar_left", "medium", "cleared", 4),
        ),
    )
    assert page.locator("#alarms .alarm-row").count() == 2
    assert "5×" in page.inner_text("#alarms")
    assert "Load held too long on the left lower-back muscles" in page.inner_text("#alarms")
    assert page.locator("#alarms .alarm-row.st-cleared").count() == 2
    assert "All clear" in page.inner_text("#banner-text")


def test_acknowledge_visibly_silences_an_active_alarm_and_its_sound(server, spine, page):
    acks = _open_mocked(page, server, spine)
    page.click("#sound-on")
    page.wait_for_function("window.ashiguardLive.sound === 'off'")
    _feed(page, _status(_group("spine_pressure", "spine_lumbar", "high", "active", 7, count=2)))
    row = page.locator("#alarms .alarm-row").first
    assert row.get_attribute("data-state") == "active"
    assert "Active: not yet acknowledged" in row.inner_text()
    assert "sounding" in page.get_attribute("#banner", "class")
    assert page.evaluate("window.ashiguardLive.sound") == "high"
    _shot(page, "live-active-alarm-1280x900")

    row.locator("button.ack").click()
    page.wait_for_selector("#alarms .alarm-row.st-acknowledged")
    assert acks == [{"alarm_id": 7}]
    row = page.locator("#alarms .alarm-row").first
    assert "Silenced: condition still present" in row.inner_text()
    assert row.locator("button.ack").count() == 0
    assert "silenced" in page.get_attribute("#banner", "class")
    assert page.inner_text("#banner-text").startswith("Silenced:")
    assert page.evaluate("window.ashiguardLive.sound") == "off"
    _shot(page, "live-acknowledged-1280x900")


def test_acknowledge_all_silences_every_active_alarm(server, spine, page):
    acks = _open_mocked(page, server, spine)
    _feed(
        page,
        _status(
            _group("spine_pressure", "spine_lumbar", "high", "active", 1),
            _group("zone_dose", "gluteal_left", "medium", "latched", 2),
        ),
    )
    assert page.locator("#alarms button.ack").count() == 2
    page.click("#ack-all")
    page.wait_for_function("document.querySelectorAll('#alarms button.ack').length === 0")
    assert acks == [{"all": True}]
    states = page.eval_on_selector_all("#alarms .alarm-row", "rs => rs.map(r => r.dataset.state)")
    assert sorted(states) == ["acknowledged", "cleared"]
    assert page.is_disabled("#ack-all")


def test_the_sound_follows_the_highest_unacknowledged_priority_and_pauses_with_a_countdown(
    server, spine, page
):
    _open_mocked(page, server, spine)
    page.click("#sound-on")
    page.wait_for_function("window.ashiguardLive.sound === 'off'")
    sound = lambda: page.evaluate("window.ashiguardLive.sound")  # noqa: E731
    low = _group("comfort", None, "low", "active", 1)
    medium = _group("dwell_time", "erector_lumbar_left", "medium", "active", 2)
    high = _group("spine_pressure", "spine_lumbar", "high", "active", 3)
    _feed(page, _status(low))
    assert sound() == "low"
    _feed(page, _status(low, medium))
    assert sound() == "medium"
    _feed(page, _status(low, medium, high))
    assert sound() == "high"
    assert "HIGH" in page.inner_text("#sound-state")
    _feed(page, _status(low, medium, {**high, "state": "acknowledged"}))
    assert sound() == "medium"
    _feed(
        page,
        _status(
            {**low, "state": "cleared"},
            {**medium, "state": "acknowledged"},
            {**high, "state": "latched"},
        ),
    )
    assert sound() == "high"  # over but not yet acknowledged: still sounding
    _feed(page, _status({**high, "state": "cleared"}))
    assert sound() == "off"

    _feed(page, _status(high))
    page.click("#pause")
    assert sound() == "paused"
    first = page.inner_text("#sound-state")
    assert re.match(r"Audio paused: 0[12]:\d\d left", first), first
    assert page.inner_text("#pause") == "Resume audio"
    assert "HIGH" in page.inner_text("#banner-text")  # alarms still show
    page.wait_for_function(
        f"document.getElementById('sound-state').textContent !== {json.dumps(first)}"
    )
    _shot(page, "live-audio-paused-1280x900")
    page.click("#pause")
    assert sound() == "high"


def test_a_browser_not_yet_allowed_to_play_sound_says_so_and_offers_to_turn_it_on(
    server, spine, page
):
    log_in_quietly(page, server, "therapist")  # no click: no user gesture in this context
    page.goto(f"{server}/sessions/{spine}")
    page.wait_for_function("window.ashiguardLive && window.ashiguardLive.frames > 0")
    assert page.evaluate("window.ashiguardLive.sound") == "blocked"
    assert page.is_visible("#sound-blocked")
    assert "not been allowed to play sound" in page.inner_text("#sound-blocked")
    _shot(page, "live-sound-blocked-1280x900")
    page.click("#sound-on")
    page.wait_for_function("window.ashiguardLive.sound !== 'blocked'")
    assert not page.is_visible("#sound-blocked")


def test_alarm_history_log_and_marks_survive_a_reload(server, spine, page):
    log_in(page, server, "therapist")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/sessions/{spine}")
    page.wait_for_function("window.ashiguardLive && window.ashiguardLive.statuses > 0")
    page.wait_for_selector("#alarms .alarm-row", timeout=60_000)
    page.click("#mark-technique")
    page.wait_for_function(
        "document.getElementById('log').textContent.includes('Technique change')"
    )
    page.click("#mark-label")
    page.fill("#label-text", "client shifted onto the left hip")
    page.click("#label-save")
    page.wait_for_function(
        "document.getElementById('log').textContent.includes('client shifted onto the left hip')"
    )
    rows = page.locator("#alarms .alarm-row").count()

    page.reload()
    page.wait_for_function("window.ashiguardLive && window.ashiguardLive.statuses > 0")
    assert page.locator("#alarms .alarm-row").count() >= rows
    log = page.inner_text("#log")
    assert "Technique change" in log and "client shifted onto the left hip" in log
    assert page.locator("#timeline .tl-mark").count() >= 2
    assert page.locator("#timeline .tl-alarm").count() >= 1


def test_the_client_page_button_sets_a_too_much_marker_the_therapist_sees(server, spine, page):
    log_in(page, server, "therapist")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/sessions/{spine}")
    page.wait_for_function("window.ashiguardLive && window.ashiguardLive.frames > 3")
    before = page.evaluate("window.ashiguardLive.markers")
    client = page.context.new_page()
    client.goto(f"{server}/sessions/{spine}/client")
    client.click("#too-much")
    client.wait_for_selector("#client-heard.ok")
    assert "Heard" in client.inner_text("#client-heard")
    page.wait_for_function(f"window.ashiguardLive.markers > {before}")
    page.wait_for_function(
        "document.getElementById('log').textContent.includes('Client said too much')"
    )
    assert page.locator("#timeline .tl-too_much").count() >= 1
    assert "Client said too much" in page.inner_text("#alarms")
