"""What the live view shows beyond the engine: contacts, delivery, the alarm book, markers."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.alarms import ActiveAlarm, SensorLayout
from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import AlarmNotice, Marker, ZoneTarget
from ashiguard.domain.live_view import AlarmBook, DeliveryMeter, check_marker, find_contacts
from ashiguard.domain.zone_names import ZONE_SLUGS, zone_words

PITCH = 10.0


def _layout(labels=None):
    x = -235.0 + PITCH * np.arange(48)  # column 0 on the client's right, +x to the left
    return SensorLayout(rows=40, cols=48, pitch_mm=PITCH, labels=labels, x_mm=x)


def test_two_feet_are_found_with_their_side_area_and_load():
    p = np.zeros((40, 48), dtype=np.float32)
    p[10:20, 30:36] = 40.0  # 60 sensels on the client's left (x > 0)
    p[12:16, 5:10] = 80.0  # 20 sensels on the right, more pressure, less load
    p[30, 40] = 500.0  # one hot sensel: noise, not a foot
    p[0, 0] = np.nan
    left, right = find_contacts(p, _layout(), origin_x_mm=-235.0)
    assert left.side == "left" and right.side == "right"
    assert left.area_cm2 == 60.0 and right.area_cm2 == 20.0  # 10 x 10 mm sensels
    assert left.load_n == pytest.approx(60 * 40.0 * 100 * 1e-3)  # 240 N
    assert right.load_n == pytest.approx(20 * 80.0 * 100 * 1e-3)  # 160 N, second by load
    assert left.peak_kpa == 40.0 and right.mean_kpa == 80.0
    assert left.centre_mm[0] > 0 > right.centre_mm[0]


def test_without_a_body_frame_contacts_have_no_side():
    p = np.zeros((40, 48), dtype=np.float32)
    p[1:4, 1:4] = 10.0
    (c,) = find_contacts(p, _layout(), origin_x_mm=None)
    assert c.side is None and c.centre_mm is None and c.area_cm2 == 9.0
    assert find_contacts(np.zeros((40, 48)), _layout(), None) == ()


def _contacts_over_the_whole_frame(p, layout, origin_x_mm, most=2):
    """The reference: regions labelled over the whole frame (as before the crop)."""
    from scipy import ndimage

    from ashiguard.domain.live_view import CONTACT_KPA, MIN_CONTACT_SENSELS

    p = np.nan_to_num(np.asarray(p, dtype=np.float64), nan=0.0)
    labels, n = ndimage.label(p > CONTACT_KPA, structure=np.ones((3, 3), dtype=bool))
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    sums = np.bincount(labels.ravel(), weights=p.ravel(), minlength=n + 1)[1:]
    keep = [i for i in np.argsort(sums)[::-1] if counts[i] >= MIN_CONTACT_SENSELS][:most]
    out = []
    for i in keep:
        rows, cols = np.nonzero(labels == i + 1)
        vals = p[rows, cols]
        w = vals / vals.sum()
        cx = float(np.dot(w, layout.x_mm[cols]))
        cy = float(np.dot(w, rows)) * layout.pitch_mm
        out.append(
            (
                round(float(sums[i]) * layout.sensel_area_mm2 * 1e-3, 1),
                round(cx, 1),
                round(cy, 1),
                round(float(vals.max()), 1),
                round(float(vals.mean()), 1),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(40))
def test_contacts_found_in_the_box_around_them_are_those_of_the_whole_frame(seed):
    rng = np.random.default_rng(seed)
    p = np.zeros((40, 48), dtype=np.float32)
    for _ in range(rng.integers(0, 5)):
        r, c = rng.integers(0, 40), rng.integers(0, 48)
        h, w = rng.integers(1, 12), rng.integers(1, 10)
        p[r : r + h, c : c + w] = rng.uniform(0.5, 90.0, size=p[r : r + h, c : c + w].shape)
    p[rng.random(p.shape) < 0.02] = np.nan
    got = find_contacts(p, _layout(), origin_x_mm=-235.0, most=3)
    want = _contacts_over_the_whole_frame(p, _layout(), -235.0, most=3)
    assert [(c.load_n, *c.centre_mm, c.peak_kpa, c.mean_kpa) for c in got] == want


def test_delivery_tells_under_on_over_and_idle_per_target_zone():
    labels = np.full((40, 48), -1, dtype=np.int16)
    zi = {z: ZONE_SLUGS.index(z) for z in ("erector_lumbar_left", "gluteal_left", "calf_left")}
    labels[0:10, 0:10] = zi["erector_lumbar_left"]
    labels[10:20, 0:10] = zi["gluteal_left"]
    labels[20:30, 0:10] = zi["calf_left"]
    targets = [
        ZoneTarget("erector_lumbar_left", 5, "whole_foot_glide", 40.0, 60.0),
        ZoneTarget("gluteal_left", 5, "heel_compression", 40.0, 60.0),
        ZoneTarget("calf_left", 3, "forefoot_glide", 15.0, 25.0),
        ZoneTarget("hamstring_left", 4, "whole_foot_glide", 25.0, 40.0),
    ]
    meter = DeliveryMeter(_layout(labels), targets)
    p = np.zeros((40, 48), dtype=np.float32)
    p[0:10, 0:5] = 50.0  # half the erector zone loaded at 50: its loaded mean is on target
    p[10:20, 0:10] = 20.0  # gluteal under
    p[20:30, 0:10] = 30.0  # calf over
    got = {d.zone: d for d in meter.measure(p)}
    assert got["erector_lumbar_left"].state == "on" and got["erector_lumbar_left"].mean_kpa == 50
    assert got["gluteal_left"].state == "under"
    assert got["calf_left"].state == "over"
    assert got["hamstring_left"].state == "idle"  # not on this grid


def _notice(action, alarm_id, t, kind="spine_pressure", zone="spine_lumbar", prio="high"):
    return AlarmNotice(
        action=action,
        alarm_id=alarm_id,
        kind=kind,
        priority=prio,
        zone=zone,
        t=t,
        value=150.0,
        limit=120.0,
        unit="kPa",
        rule=f"{kind}:{zone}",
        source="default",
    )


def _active(alarm_id, present=True, acked=False):
    return ActiveAlarm(
        alarm_id, "spine_pressure", "high", "spine_lumbar", 0.0, 0.1, 150.0, 150.0, 120.0,
        "kPa", "spine_pressure:spine_lumbar", "default", present, acked,
    )  # fmt: skip


def test_the_alarm_book_keeps_one_group_per_condition_and_zone_with_its_state():
    book = AlarmBook()
    book.note(_notice("raised", 1, 1.0), 100.0, "raised 1")
    book.note(_notice("cleared", 1, 2.0), 101.0, "cleared 1")
    book.note(_notice("raised", 2, 5.0), 104.0, "raised 2")
    book.note(_notice("raised", 3, 6.0, kind="sensor_fault", zone=None, prio="medium"), 105, "f")
    (g, fault) = book.groups([_active(2)])
    assert (g.count, g.first_t, g.last_t, g.state, g.alarm_id) == (2, 1.0, 5.0, "active", 2)
    assert fault.kind == "sensor_fault" and fault.technical and fault.state == "cleared"
    assert book.groups([_active(2, acked=True)])[0].state == "acknowledged"
    assert book.groups([_active(2, present=False)])[0].state == "latched"
    assert book.groups([])[0].state == "cleared"  # a fleeting alarm stays in the history
    assert [e.text for e in book.log()] == ["raised 1", "cleared 1", "raised 2", "f"]


def test_a_client_too_much_marker_counts_as_a_comfort_alarm_and_is_kept():
    book = AlarmBook()
    m = Marker(12.5, "too_much", "", "client", 1000.0, "erector_lumbar_left", 48.0, 300.0)
    book.mark(m, "Client said too much")
    book.mark(Marker(13.0, "technique_change", "", "mia", 1001.0), "Technique change")
    (g,) = book.groups([])
    assert (g.kind, g.priority, g.zone, g.count, g.value) == (
        "comfort", "low", "erector_lumbar_left", 1, 48.0,
    )  # fmt: skip
    assert [x.kind for x in book.marker_list()] == ["too_much", "technique_change"]


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("ouch", "", "kind: must be one of too_much, technique_change, label"),
        ("label", "  ", "text: a label needs its text"),
        ("label", "x" * 201, "text: at most 200 characters"),
    ],
)
def test_markers_are_checked_with_one_line_naming_the_field(kind, text, message):
    with pytest.raises(InputError, match=message):
        check_marker(kind, text)
    assert check_marker("label", "  deep work ") == "deep work"


def test_zones_have_clinic_words():
    assert zone_words("kidney_left") == "left kidney area"
    assert zone_words(None) == "the body"
    assert all(" " in zone_words(z) or z in ("neck",) for z in ZONE_SLUGS)
