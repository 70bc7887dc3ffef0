"""The live-session use case at the table: groups, log, markers, targets, contacts, outcome."""

from __future__ import annotations

import threading

import pytest

from ashiguard.adapters.recording import open_recording
from ashiguard.domain.intake import parse_intake
from ashiguard.domain.live_messages import (
    AlarmMessage,
    FrameMessage,
    InitMessage,
    MarkerMessage,
    StatusMessage,
)
from ashiguard.domain.screening import screen
from ashiguard.services.live_session import LiveSession, hdf5_sink, plan_targets
from ashiguard.services.session_process import open_live_source


class Collect:
    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()

    def publish(self, msg, view=False):
        with self.lock:
            self.messages.append(msg)

    def of(self, cls):
        return [m for m in self.messages if isinstance(m, cls)]


def _screening():
    intake = parse_intake(
        {"schema": "ashiguard.intake/1", "date": "2026-11-24",
         "client": {"id": "c-1", "height_cm": 172, "weight_kg": 74}}
    )  # fmt: skip
    return screen(intake).to_json()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 30 s simulated spine session, unpaced; "too much" said at its first alarm."""
    path = tmp_path_factory.mktemp("live") / "s.h5"
    pub = Collect()
    src = open_live_source("sim:spine", speed=0, seed=4, duration_s=30.0, therapist_mass_kg=68)
    holder = {}

    def on_notice(n):
        if n.action == "raised" and n.kind == "spine_pressure" and "marker" not in holder:
            holder["marker"] = holder["session"].add_marker("too_much", "", "client")
            holder["session"].add_marker("label", "lighter now", "Mia")

    session = LiveSession(
        src,
        sink=hdf5_sink(path),
        publisher=pub,
        duration_s=30.0,
        speed=0,
        on_notice=on_notice,
        targets=plan_targets(_screening(), 68.0),
        scale_kpa=120.0,
    )
    holder["session"] = session
    outcome = session.run()
    src.close()
    return outcome, pub, path, holder["marker"]


def test_viewers_get_the_fixed_scale_the_targets_and_clinic_words(run):
    _, pub, _, _ = run
    (init,) = pub.of(InitMessage)
    assert init.scale_kpa == 120.0 and init.recording and init.started_wall > 0
    erector = next(t for t in init.targets if t.zone == "erector_lumbar_left")
    # the plan's band: the level below's top to the zone's largest allowed pressure
    assert erector.level == 4 and erector.low_kpa == 25.0
    assert erector.low_kpa < erector.high_kpa <= 40.0
    assert not any(t.zone.startswith(("spine_", "kidney_")) for t in init.targets)
    assert init.zone_words["kidney_left"] == "left kidney area"
    assert init.kind_words["spine_pressure"] == "Pressure on the spine"


def test_frames_carry_the_contacts_and_the_delivery_against_the_plan(run):
    _, pub, _, _ = run
    frames = pub.of(FrameMessage)
    with_feet = [f for f in frames if f.contacts]
    assert len(with_feet) > len(frames) // 2
    assert all(c.area_cm2 > 0 and c.load_n > 0 and c.side in ("left", "right")
               for f in with_feet for c in f.contacts)  # fmt: skip
    states = {d.state for f in frames for d in f.delivery}
    assert "idle" in states and states & {"under", "on", "over"}


def test_each_alarm_is_followed_by_the_status_with_groups_log_and_markers(run):
    _, pub, _, marker = run
    alarms = pub.of(AlarmMessage)
    statuses = pub.of(StatusMessage)
    assert len(statuses) >= len(alarms)
    last = statuses[-1]
    spine = [g for g in last.groups if g.kind == "spine_pressure"]
    assert len(spine) == len({g.zone for g in spine})  # one group per condition and zone
    assert sum(g.count for g in spine) == sum(
        1 for a in alarms if a.event.action == "raised" and a.event.kind == "spine_pressure"
    )
    comfort = [g for g in last.groups if g.kind == "comfort"]
    assert comfort and comfort[0].priority == "low" and comfort[0].count == 1
    assert [m.kind for m in last.markers] == ["too_much", "label"]
    texts = [e.text for e in last.log]
    assert any(t.startswith("HIGH Pressure on the spine (lower-back spine)") for t in texts)
    assert any("Client said too much" in t and "marked by client" in t for t in texts)
    assert [m.marker.kind for m in pub.of(MarkerMessage)] == ["too_much", "label"]
    assert marker.zone is not None and marker.zone_kpa > 0 and marker.t > 0


def test_markers_go_into_the_recording_and_the_outcome_with_a_comfort_episode(run):
    outcome, _, path, marker = run
    with open_recording(path) as rec:
        notes = rec.annotations()
    assert [(n["kind"], n["who"]) for n in notes] == [("too_much", "client"), ("label", "Mia")]
    assert notes[0]["t"] == marker.t and notes[1]["text"] == "lighter now"
    assert [m.kind for m in outcome.markers] == ["too_much", "label"]
    (comfort,) = [a for a in outcome.alarms if a["kind"] == "comfort"]
    assert comfort["t_start"] == marker.t and comfort["priority"] == "low"
    assert comfort["peak"] is None and comfort["limit"] is None
    assert outcome.frames == 3000 and outcome.error is None


def test_sessions_started_together_take_their_views_on_different_frames_even_after_a_stall():
    """16 sessions of one host, started on the same tick: their views spread over the frames
    of a view period (a session's place in it follows its id), and a stall (a batch of 0.3 s
    of frames at once) keeps each session's place (started again at the stall's last frame,
    all 16 then took their views on the same tick from then on)."""
    from collections import Counter

    views: Counter[int] = Counter()  # frame counter -> sessions that showed it
    after: Counter[int] = Counter()
    for sid in range(1, 17):
        pub = Collect()
        src = open_live_source("sim:spine", speed=0, seed=4, duration_s=3.0, therapist_mass_kg=68)
        session = LiveSession(
            src, publisher=pub, speed=0, analyze=False, view_hz=20.0, session_id=sid
        )
        session.begin()
        frames = list(src.frames())
        batches = [[f] for f in frames[:100]] + [frames[100:131]] + [[f] for f in frames[131:]]
        for batch in batches:
            session.feed(batch)
        session.finish()
        src.close()
        for m in pub.of(FrameMessage):
            (views if m.counter < 100 else after)[m.counter] += 1
    # 16 sessions, a view every 5 frames: 3.2 a frame on average (16 on one frame before)
    assert max(views.values()) <= 4, views
    # each shows the stall's last frame at once (the newest), then its place again
    assert after.pop(130) == 16
    assert max(after.values()) <= 4, after
    assert sum(after.values()) >= 16 * ((len(frames) - 131) // 5)


@pytest.mark.parametrize("late", [False, True])
def test_view_frames_stay_on_their_grid_when_frames_come_two_at_a_time(late):
    """Views at 20 a second on the session's own grid of view times: a late tick (two frames
    at once, the view gets the last) does not shift the ones after it (shifted, the views of a
    host's sessions drifted together onto the same ticks)."""
    pub = Collect()
    src = open_live_source("sim:spine", speed=0, seed=4, duration_s=4.0, therapist_mass_kg=68)
    session = LiveSession(src, publisher=pub, speed=0, analyze=False, view_hz=20.0)
    session.begin()
    frames = list(src.frames())
    batches = [frames[:1]] + (
        [frames[i : i + 2] for i in range(1, len(frames), 2)] if late else [[f] for f in frames[1:]]
    )
    for batch in batches:
        session.feed(batch)
    session.finish()
    src.close()
    times = [m.t for m in pub.of(FrameMessage)]
    # each view at most one frame (10 ms) after its point on the 50 ms grid, none skipped
    assert len(times) == len(frames) // 5
    for k, t in enumerate(times):
        assert 0.05 * k - 1e-6 <= t <= 0.05 * k + 0.0101, (k, t)
