"""Alarms out and markers in over real Lab Streaming Layer marker streams."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from ashiguard.adapters.sources.lsl import load_pylsl
from ashiguard.adapters.sources.lsl_markers import AlarmOutlet, MarkerInlet
from ashiguard.services.live_session import LiveSession
from ashiguard.services.session_process import open_live_source

pytestmark = pytest.mark.lsl


def test_every_alarm_of_a_session_goes_out_on_the_alarm_marker_stream():
    pylsl = load_pylsl()
    name = f"ashiguard-alarms-test-{uuid.uuid4().hex[:6]}"
    outlet = AlarmOutlet(7, name=name)
    (found,) = pylsl.resolve_byprop("name", name, 1, 10.0)
    assert found.type() == "Markers" and found.source_id() == f"{name}-session-7"
    inlet = pylsl.StreamInlet(found)
    inlet.open_stream(10.0)
    src = open_live_source("sim:spine", speed=0, seed=4, duration_s=30.0)
    notices = []

    def on_notice(n):
        notices.append(n)
        outlet.push(n)

    LiveSession(src, duration_s=30.0, speed=0, analyze=False, on_notice=on_notice).run()
    got = []
    deadline = time.monotonic() + 10
    while len(got) < len(notices) and time.monotonic() < deadline:
        sample, _ = inlet.pull_sample(timeout=0.5)
        if sample is not None:
            got.append(json.loads(sample[0]))
    assert notices and any(n.kind == "spine_pressure" for n in notices)
    assert [g["action"] for g in got] == [n.action for n in notices]
    assert all(g["session_id"] == 7 for g in got)
    first = next(g for g in got if g["action"] == "raised")
    assert {"kind", "priority", "zone", "t", "value", "limit", "unit", "rule"} <= set(first)
    outlet.close()


def test_a_button_on_an_lsl_marker_stream_sets_markers():
    pylsl = load_pylsl()
    name = f"ashiguard-markers-test-{uuid.uuid4().hex[:6]}"
    info = pylsl.StreamInfo(name, "Markers", 1, 0.0, pylsl.cf_string, name)
    button = pylsl.StreamOutlet(info)
    got: list[tuple[str, str]] = []
    heard = threading.Event()

    def on_marker(kind: str, text: str) -> None:
        got.append((kind, text))
        if len(got) == 2:
            heard.set()

    inlet = MarkerInlet(name, on_marker, retry_s=1.0)
    try:
        deadline = time.monotonic() + 15
        while not button.have_consumers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert button.have_consumers()
        button.push_sample(["too_much"])
        button.push_sample([json.dumps({"kind": "label", "text": "button two"})])
        assert heard.wait(10.0)
    finally:
        inlet.close()
    assert got == [("too_much", ""), ("label", "button two")]
