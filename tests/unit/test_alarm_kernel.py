"""The compiled per-frame passes of the alarm engine against plain numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.alarms.kernel import (
    ROWS_PER_BLOCK,
    Runs,
    box_peaks_pass,
    chunk_pass,
    chunk_pass_py,
    tissue_pass,
    tissue_pass_py,
)
from ashiguard.domain.alarms.layout import ZoneGroups

ROWS, COLS = 24, 10
SAT = np.float32(500.0)
CONTACT = np.float32(5.0)


def _grid(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zone labels (3 zones over part of the grid) and the body order by (zone, side)."""
    labels = np.full((ROWS, COLS), -1)
    labels[2:9, 1:9] = 0
    labels[9:15, 0:5] = 1
    labels[9:15, 5:10] = 2
    labels[15:20, 3:7] = 0
    side = np.where(np.arange(COLS) < COLS // 2, 0, 1)[None, :].repeat(ROWS, 0).reshape(-1)
    flat = labels.reshape(-1)
    key = np.where(flat >= 0, flat * 2 + side, -1)
    order = np.flatnonzero(key >= 0)
    order = order[np.argsort(key[order], kind="stable")]
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, np.diff(sk) != 0])
    return labels, order.astype(np.int64), starts.astype(np.int64), sk[starts]


def _frames(rng: np.random.Generator, n: int) -> np.ndarray:
    p = np.zeros((n, ROWS * COLS), dtype=np.float32)
    for f in range(n):  # a few loaded patches, some frames empty, noise, NaN, saturation
        if f % 5 == 4:
            continue
        r0 = int(rng.integers(0, ROWS - 4))
        p[f].reshape(ROWS, COLS)[r0 : r0 + 4, 2:7] = rng.uniform(-2, 120, (4, 5))
        if f % 7 == 0:
            p[f, int(rng.integers(0, ROWS * COLS))] = np.nan
        if f % 11 == 0:
            p[f, int(rng.integers(0, ROWS * COLS))] = 900.0
    return p


def _run(fn, p, order, starts, gkey, weights):  # type: ignore[no-untyped-def]
    n, ng = p.shape[0], starts.size
    runs = Runs.of(order, starts, COLS)
    out = {
        "pick": np.arange(n) % 4 == 0,
        "sums": np.empty(n),
        "nan": np.empty(n, dtype=bool),
        "lo": np.zeros(n),
        "hi": np.zeros(n),
        "bmax": np.empty(n, dtype=np.float32),
        "gsum": np.empty((n, ng)),
        "zmax": np.full((n, 3), np.nan, dtype=np.float32),
        "zsum": np.zeros((n, 3), dtype=np.float32),
        "zcnt": np.zeros((n, 3), dtype=np.float32),
        "side": np.empty((n, 3)),
        "depth": np.empty((n, weights.shape[1])),
    }
    fn(
        p, COLS, runs.pos, runs.length, runs.row, runs.k, runs.bounds,
        (gkey // 2).astype(np.int64), (gkey % 2).astype(np.int64),
        CONTACT, SAT, weights, out["pick"], out["sums"], out["nan"], out["lo"], out["hi"],
        out["bmax"], out["gsum"], out["zmax"], out["zsum"], out["zcnt"], out["side"],
        out["depth"],
    )  # fmt: skip
    return out


@pytest.mark.parametrize("fn", [chunk_pass, chunk_pass_py], ids=["compiled", "python"])
def test_chunk_pass_matches_a_plain_numpy_reference(fn) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    _, order, starts, gkey = _grid(rng)
    p = _frames(rng, 40)
    weights = rng.uniform(0, 1e-3, (order.size, 4))
    out = _run(fn, p, order, starts, gkey, weights)
    q = np.nan_to_num(p, nan=0.0)
    np.testing.assert_array_equal(out["nan"], np.isnan(p).any(axis=1))
    np.testing.assert_allclose(out["sums"], np.where(q >= SAT, 0, q).sum(1), rtol=1e-5)
    pick = out["pick"]
    np.testing.assert_array_equal(out["lo"][pick], q[pick].min(1))
    np.testing.assert_array_equal(out["hi"][pick], q[pick].max(1))
    g = q[:, order]
    np.testing.assert_array_equal(out["bmax"], g.max(1))
    np.testing.assert_allclose(out["depth"], np.maximum(g, 0) @ weights, rtol=1e-9, atol=1e-9)
    zone = (gkey // 2)[np.searchsorted(starts, np.arange(order.size), "right") - 1]
    for z in range(3):
        gz = g[:, zone == z]
        np.testing.assert_array_equal(out["zmax"][:, z], gz.max(1))
        np.testing.assert_array_equal(out["zcnt"][:, z], (gz > CONTACT).sum(1))
        expect = np.where(gz >= SAT, 0, gz).sum(1)
        np.testing.assert_allclose(out["zsum"][:, z], expect, rtol=1e-5, atol=1e-3)
    left = (gkey % 2 == 0)[np.searchsorted(starts, np.arange(order.size), "right") - 1]
    gs = np.where(g >= SAT, 0, g)
    np.testing.assert_allclose(out["side"][:, 0], gs[:, left].sum(1), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(out["side"][:, 1], gs[:, ~left].sum(1), rtol=1e-5, atol=1e-3)


def test_a_frame_loaded_in_one_block_only_reads_the_same_as_a_full_sweep() -> None:
    rng = np.random.default_rng(5)
    _, order, starts, gkey = _grid(rng)
    p = np.zeros((2, ROWS * COLS), dtype=np.float32)
    # frame 0: load in one block of rows; frame 1: a lone negative reading (noise) elsewhere
    p[0].reshape(ROWS, COLS)[ROWS_PER_BLOCK * 2, 3] = 42.0
    p[1].reshape(ROWS, COLS)[3, 2] = -1.5
    out = _run(chunk_pass, p, order, starts, gkey, np.zeros((order.size, 0)))
    assert out["hi"][0] == 42.0 and out["lo"][0] == 0.0
    np.testing.assert_array_equal(out["zmax"][1], [0.0, 0.0, 0.0])  # max over zeros and -1.5
    assert out["sums"][1] == pytest.approx(-1.5)


def test_compiled_tissue_pass_is_identical_to_its_python_code() -> None:
    rng = np.random.default_rng(8)
    n, nz = 300, 4
    times = np.cumsum(rng.uniform(0.005, 0.02, n))
    zsum = rng.uniform(0, 400, (n, nz)).astype(np.float32)
    zsum[rng.random((n, nz)) < 0.3] = 0.0
    zraw = rng.uniform(0, 60, (n, nz)).astype(np.float32)
    zraw[:, 3] = np.nan
    dt = np.r_[0.0, np.diff(times)]
    decay = np.exp(-dt / 30.0)
    results = []
    for fn in (tissue_pass, tissue_pass_py):
        carried = [np.full(nz, -np.inf), np.full(nz, -np.inf), np.zeros(nz)]
        dwell, dose = np.empty((n, nz)), np.empty((n, nz))
        fn(times, 0.225, 20.0, 0.5, CONTACT, zsum, zraw, dt, decay, *carried, dwell, dose)
        results.append((dwell, dose, *carried))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


def test_box_peaks_equal_numpys_two_by_two_sums_bit_for_bit() -> None:
    rng = np.random.default_rng(2)
    labels, *_ = _grid(rng)
    p = rng.uniform(0, 80, (6, ROWS, COLS)).astype(np.float32)
    tl, tr, bl, br = labels[:-1, :-1], labels[:-1, 1:], labels[1:, :-1], labels[1:, 1:]
    pure = (tl == tr) & (tl == bl) & (tl == br) & (tl >= 0)
    boxes = ZoneGroups.of(np.where(pure, tl, -1).reshape(-1).astype(np.int64))
    out = np.full((6, 3), -np.inf, dtype=np.float32)
    empty = np.zeros(0, dtype=np.int64)
    box_peaks_pass(p.reshape(6, -1), COLS, boxes.order, boxes.starts, boxes.zones, empty,
                   empty, empty, out)  # fmt: skip
    rs = p[:, :-1, :] + p[:, 1:, :]
    box = (rs[:, :, :-1] + rs[:, :, 1:]).reshape(6, -1)
    for z in range(3):
        np.testing.assert_array_equal(
            out[:, z], box[:, pure.reshape(-1) & (tl.reshape(-1) == z)].max(1)
        )
