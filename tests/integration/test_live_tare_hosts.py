""" "Zero now" through a session host, as the web app sends it (issue 14)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from hosthelpers import sim_spec

from ashiguard.adapters.recording import open_recording
from ashiguard.services.session_host import SessionHosts


class Broker:
    def __init__(self) -> None:
        self.items: list = []
        self.lock = threading.Lock()

    def publish_batch(self, items):
        with self.lock:
            self.items.extend(items)

    def publish(self, session_id, msg, view=False):
        return None

    def tare_states(self, sid):
        with self.lock:
            items = list(self.items)
        return [
            json.loads(text)["tare"]
            for s, (kind, text), _ in items
            if s == sid and kind == "status"
        ]

    def peaks(self, sid):
        with self.lock:
            items = list(self.items)
        return [
            json.loads(text)["peak_kpa"]
            for s, (kind, text), _ in items
            if s == sid and kind == "frame"
        ]


def _wait(what, limit_s=60.0):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("not seen in time")


@pytest.mark.slow
def test_zero_now_reaches_a_hosted_session_and_its_result_or_refusal_comes_back(tmp_path):
    broker, outcomes = Broker(), {}
    hosts = SessionHosts(broker, lambda sid, out: outcomes.__setitem__(sid, out), hosts=1)
    try:
        # 1: an empty sheet with offsets (up to 3 kPa), not zeroed at the start
        assert hosts.launch(
            sim_spec(tmp_path, 1, sim_options={"offset_kpa": 3.0, "unloaded_s": 600.0}), timeout=60
        )
        # 2: the simulated therapist on the sheet from 0.1 s, zeroed on its first 0.5 s: refused
        assert hosts.launch(
            sim_spec(tmp_path, 2, tare_first_s=0.5, sim_options={"unloaded_s": 0.0}), timeout=60
        )
        _wait(lambda: broker.peaks(1))
        assert broker.peaks(1)[-1] == pytest.approx(3.0, abs=0.5)  # the offset, not zeroed
        assert hosts.command(1, "tare", "Tess", 0.5)
        zeroed = _wait(lambda: [t for t in broker.tare_states(1) if t and t["state"] == "zeroed"])[
            0
        ]
        assert zeroed["zeroed"]["who"] == "Tess" and zeroed["zeroed"][
            "offset_max"
        ] == pytest.approx(3.0, abs=0.05)
        _wait(lambda: broker.peaks(1)[-1] < 0.5)  # the offset is gone (noise is left)
        refused_start = _wait(lambda: [t for t in broker.tare_states(2) if t and t["refused"]])[0]
        assert refused_start["state"] == "not_zeroed"
        assert refused_start["refused"]["reason"].startswith("zeroing: sensel")
        assert hosts.command(2, "tare", "Tess", 0.5)  # loaded now: refused at once
        refused_now = _wait(
            lambda: [
                t
                for t in broker.tare_states(2)
                if t and t["refused"] and t["refused"]["who"] == "Tess"
            ]
        )[0]
        assert "zeroing now would hide that pressure" in refused_now["refused"]["reason"]
        for sid in (1, 2):
            assert hosts.command(sid, "stop")
            assert hosts.wait(sid, 60)
    finally:
        hosts.close()
    assert [e["status"] for e in outcomes[1].tare["events"]] == ["zeroed"]
    assert [(e["who"], e["status"]) for e in outcomes[2].tare["events"]] == [
        ("start", "refused"),
        ("Tess", "refused"),
    ]
    assert outcomes[2].error is None  # a clinic session goes on, not zeroed
    with open_recording(tmp_path / "session-1.h5") as rec:
        s = rec.summary()
        _, last = rec.read(rec.meta.frames - 1)
    assert s["tare_events"][0]["who"] == "Tess" and s["tare"]["offset_max"] == pytest.approx(
        3.0, abs=0.05
    )
    assert float(np.nanmax(last)) < 0.5  # recorded with the offset removed
