from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.zone_names import ZONE_SLUGS
from ashiguard.domain.zones import (
    ENDANGERMENT_ZONES,
    ZONES,
    Landmarks,
    ZoneMap,
    zone_index,
)

H = 1750.0


@pytest.fixture(scope="module")
def zm() -> ZoneMap:
    return ZoneMap.from_height(H)


def _sample(zm: ZoneMap, step: float = 2.5):
    xs = np.arange(-0.16 * H, 0.16 * H, step) + step / 3
    ys = np.arange(zm.landmarks.occiput - 20, zm.landmarks.ankle + 20, step) + step / 3
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, zm.labels(gx, gy)


def test_every_contract_zone_is_defined_once_in_contract_order():
    assert ZONES == ZONE_SLUGS
    assert len(set(ZONES)) == len(ZONES) == 23


def test_endangerment_set_is_spine_sacrum_kidneys_neck_and_popliteal():
    assert {
        "spine_cervical",
        "spine_thoracic",
        "spine_lumbar",
        "sacrum",
        "kidney_left",
        "kidney_right",
        "neck",
        "popliteal_left",
        "popliteal_right",
    } == ENDANGERMENT_ZONES


def test_every_zone_has_area_and_its_centroid_lies_inside_it(zm):
    for zone in ZONES:
        assert zm.area_mm2(zone) > 1000.0, zone
        cx, cy = zm.centroid(zone)
        assert zm.zone_at(cx, cy) == zone


def test_sampled_area_of_each_zone_matches_its_computed_area(zm):
    step = 2.5
    _, _, lab = _sample(zm, step)
    for zone in ZONES:
        sampled = (lab == zone_index(zone)).sum() * step * step
        assert sampled == pytest.approx(zm.area_mm2(zone), rel=0.05), zone


def test_left_and_right_zones_mirror_each_other(zm):
    gx, gy, lab = _sample(zm, 7.3)
    mirrored = zm.labels(-gx, gy)
    np.testing.assert_array_equal(lab >= 0, mirrored >= 0)
    for i, j in zip(*np.nonzero(lab >= 0), strict=True):
        a, b = ZONES[lab[i, j]], ZONES[mirrored[i, j]]
        assert a.replace("_left", "_R").replace("_right", "_L") == b.replace("_left", "_L").replace(
            "_right", "_R"
        ) or (a == b and not a.endswith(("_left", "_right")))


def test_left_zones_lie_at_positive_x_the_clients_left(zm):
    for zone in ZONES:
        if zone.endswith("_left"):
            assert zm.centroid(zone)[0] > 0
            assert zm.centroid(zone.replace("_left", "_right"))[0] < 0


def test_labels_are_a_function_so_regions_cannot_overlap(zm):
    _, _, lab = _sample(zm, 5.0)
    # each point gets exactly one label, and the polygon areas add up to the labelled area
    total = sum(zm.area_mm2(z) for z in ZONES)
    assert (lab >= 0).sum() * 25.0 == pytest.approx(total, rel=0.03)


def test_zones_scale_with_height():
    small, tall = ZoneMap.from_height(1500.0), ZoneMap.from_height(2000.0)
    for zone in ZONES:
        sx, sy = small.centroid(zone)
        tx, ty = tall.centroid(zone)
        assert ty == pytest.approx(sy * 2000 / 1500, rel=0.02, abs=2.0), zone
        assert abs(tx) == pytest.approx(abs(sx) * 2000 / 1500, rel=0.05, abs=12.0), zone
        ratio = tall.area_mm2(zone) / small.area_mm2(zone)
        assert ratio == pytest.approx((2000 / 1500) ** 2, rel=0.06), zone


def test_kidney_lies_between_t11_and_l3_lateral_to_the_erector(zm):
    lm = zm.landmarks
    t11, l3 = lm.vertebra_y("T11"), lm.vertebra_y("L3")
    assert lm.vertebra_y("T11") < lm.t12 < l3 < lm.l5s1
    for side in ("left", "right"):
        poly = np.concatenate([np.array(p) for p in zm.polygons(f"kidney_{side}")])
        assert poly[:, 1].min() == pytest.approx(t11)
        assert poly[:, 1].max() == pytest.approx(l3)
        erector_outer = max(abs(p[0]) for p in zm.polygons(f"erector_lumbar_{side}")[0])
        assert np.abs(poly[:, 0]).min() == pytest.approx(erector_outer)
    y_mid = (t11 + l3) / 2
    assert zm.zone_at(zm.erector_outer - 1, y_mid) == "erector_lumbar_left"
    assert zm.zone_at(zm.erector_outer + 1, y_mid) == "kidney_left"
    assert zm.zone_at(-(zm.erector_outer + 1), y_mid) == "kidney_right"


def test_erector_spans_about_2_to_7_cm_from_the_midline_at_175_cm(zm):
    assert zm.spine_half == pytest.approx(20.0, abs=2.0)
    assert zm.erector_outer == pytest.approx(70.0, abs=3.0)


def test_midline_points_are_spine_or_sacrum_down_to_the_coccyx(zm):
    lm = zm.landmarks
    assert zm.zone_at(0, -50) == "spine_cervical"
    assert zm.zone_at(0, lm.t12 / 2) == "spine_thoracic"
    assert zm.zone_at(0, (lm.t12 + lm.l5s1) / 2) == "spine_lumbar"
    assert zm.zone_at(0, (lm.l5s1 + lm.coccyx) / 2) == "sacrum"
    assert zm.zone_at(0, lm.popliteal) is None  # between the legs


def test_points_outside_the_body_belong_to_no_zone(zm):
    assert zm.zone_at(0, zm.landmarks.occiput - 1) is None
    assert zm.zone_at(0, zm.landmarks.ankle + 1) is None
    assert zm.zone_at(400, 300) is None
    assert zm.zone_at(-400, 300) is None


def test_popliteal_band_surrounds_the_knee_crease(zm):
    y = zm.landmarks.popliteal
    assert zm.zone_at(60, y) == "popliteal_left"
    assert zm.zone_at(-60, y) == "popliteal_right"
    assert zm.zone_at(60, y - 0.05 * H) == "hamstring_left"
    assert zm.zone_at(60, y + 0.05 * H) == "calf_left"


def test_measured_landmarks_move_the_zones():
    moved = ZoneMap.from_height(H, t12=320.0)
    assert moved.landmarks.t12 == 320.0
    assert moved.zone_at(0, 300) == "spine_thoracic"
    assert ZoneMap.from_height(H).zone_at(0, 300) == "spine_lumbar"


def test_landmarks_out_of_order_are_refused_naming_the_landmark():
    with pytest.raises(InputError, match=r"landmarks\.coccyx: .* must lie below l5s1"):
        Landmarks.from_height(H, coccyx=400.0)


def test_implausible_height_is_refused():
    with pytest.raises(InputError, match=r"landmarks\.height_mm"):
        ZoneMap.from_height(120.0)
    with pytest.raises(InputError, match="height_mm"):
        Landmarks.from_height("tall")  # type: ignore[arg-type]


def test_unknown_landmark_and_zone_are_refused(zm):
    with pytest.raises(InputError, match=r"landmarks\.navel: unknown landmark"):
        Landmarks.from_height(H, navel=500.0)
    with pytest.raises(InputError, match="zone: unknown zone 'belly'"):
        zm.centroid("belly")


def test_vertebral_levels_are_interpolated_between_landmarks(zm):
    lm = zm.landmarks
    assert lm.vertebra_y("C7") == 0.0
    assert lm.vertebra_y("T12") == pytest.approx(lm.t12)
    assert lm.vertebra_y("S1") == pytest.approx(lm.l5s1)
    levels = ["C7", *(f"T{i}" for i in range(1, 13)), *(f"L{i}" for i in range(1, 6)), "S1"]
    ys = [lm.vertebra_y(v) for v in levels]
    assert ys == sorted(ys)
    with pytest.raises(InputError, match="level: unknown vertebral level 'T13'"):
        lm.vertebra_y("T13")


def test_json_lists_every_zone_with_polygons_centroid_and_area(zm):
    doc = zm.to_json()
    assert doc["schema"] == "ashiguard.zones/1"
    assert [z["zone"] for z in doc["zones"]] == list(ZONES)
    neck = next(z for z in doc["zones"] if z["zone"] == "neck")
    assert len(neck["polygons_mm"]) == 2
    assert all(len(z["polygons_mm"][0]) >= 4 for z in doc["zones"])


def test_kidney_footprint_spans_2_5_to_9_5_cm_and_reaches_under_the_erector(zm):
    y = (zm.landmarks.vertebra_y("T11") + zm.landmarks.vertebra_y("L3")) / 2
    xs = np.array([20.0, 30.0, 60.0, 90.0, 100.0, -60.0])
    np.testing.assert_array_equal(
        zm.kidney_footprint(xs, np.full(xs.shape, y)), [False, True, True, True, False, True]
    )
    assert zm.zone_at(60.0, y) == "erector_lumbar_left"  # the surface zone is the muscle
    assert not zm.kidney_footprint(60.0, zm.landmarks.vertebra_y("T10"))
    assert not zm.kidney_footprint(60.0, zm.landmarks.vertebra_y("L4"))
