"""Header variants of every real vendor export (issue 14), generated with Hypothesis: the
same data must come out whatever the column or header-line order, extra columns and header
lines, missing optional columns, CRLF line ends, a UTF-8 BOM or decimal commas.

Decimal commas are generated for the formats whose cells are separated by tabs or blanks
(Moticon, pliance, pedar, the Tekscan header); in comma-separated exports (XSENSOR, Tekscan
frames) a decimal comma cannot be told from a separator, so those variants are not made.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ashiguard.adapters.importers import import_file

VARIANTS = settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

_cache: dict[str, tuple[str, object]] = {}


def _text(shared_data: Path, name: str) -> str:
    return (shared_data / name).read_bytes().decode("utf-8-sig")


def _reference(shared_data: Path, name: str):
    if name not in _cache:
        _cache[name] = (_text(shared_data, name), import_file(shared_data / name))
    return _cache[name]


def _import(text: str, name: str, *, bom: bool, crlf: bool):
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / Path(name).name
        p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        return import_file(p)


def _same_data(a, b) -> None:
    if a.pressure is not None:
        np.testing.assert_array_equal(a.pressure, b.pressure)
        np.testing.assert_array_equal(a.time, b.time)
    assert a.pitch_mm == b.pitch_mm
    assert a.units == b.units
    assert set(a.insoles) == set(b.insoles)
    for side, ins in a.insoles.items():
        np.testing.assert_array_equal(ins.pressure, b.insoles[side].pressure)
        np.testing.assert_array_equal(ins.time, b.insoles[side].time)
        assert ins.sensor_ids == b.insoles[side].sensor_ids


_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")

# ------------------------------------------------------------------ Moticon: columns by name

_OPTIONAL = re.compile(r"(left|right) (acceleration|angular|total force|center of pressure|steps)")


@VARIANTS
@given(
    seed=st.integers(0, 2**32 - 1),
    drop=st.booleans(),
    extras=st.lists(
        st.tuples(
            st.sampled_from(["note", "COP velocity[mm/s]", "total force[N]", "marker"]),
            st.booleans(),
        ),
        max_size=3,
        unique_by=lambda x: x[0],
    ),
    bom=st.booleans(),
    crlf=st.booleans(),
    comma=st.booleans(),
)
def test_moticon_header_variants_give_the_same_insoles(
    shared_data, seed, drop, extras, bom, crlf, comma
):
    name = "moticon/230927_102114.txt"
    text, ref = _reference(shared_data, name)
    lines = text.split("\n")
    k = next(i for i, line in enumerate(lines) if line.startswith("# time"))
    names = lines[k][2:].split("\t")
    rows = [line.split("\t") for line in lines[k + 1 :] if line.strip()]
    keep = [j for j, n in enumerate(names) if not (drop and _OPTIONAL.match(n))]
    rng = np.random.default_rng(seed)
    order = [int(j) for j in rng.permutation(keep)]
    new_names = [names[j] for j in order] + [n for n, _ in extras]
    new_rows = []
    for i, r in enumerate(rows):
        cells = [r[j] for j in order]
        cells += [
            (f"mark {i}" if i % 97 == 0 else "") if text_col else "1.25" for _, text_col in extras
        ]
        new_rows.append("\t".join(cells))
    body = "\n".join([*lines[:k], "# " + "\t".join(new_names), *new_rows]) + "\n"
    if comma:
        body = "\n".join(
            line if line.startswith("#") else _DECIMAL.sub(",", line) for line in body.split("\n")
        )
    got = _import(body, name, bom=bom, crlf=crlf)
    _same_data(ref, got)
    text_cols = {n for n, t in extras if t}
    assert {a["column"] for a in got.annotations} == text_cols
    numeric = [n.split("[")[0] for n, t in extras if not t]
    if numeric:
        assert set(numeric) <= set(got.aux["extras"].columns)


# ------------------------------------------------------------------ novel: blank-separated

NOVEL = ["vendor-exports/pliance_test.asc", "vendor-exports/pedar_example.asc"]


@pytest.mark.parametrize("name", NOVEL)
@VARIANTS
@given(
    extra_line=st.sampled_from(["", "operator: A. N. Other", "comment:\tleft foot first"]),
    bom=st.booleans(),
    crlf=st.booleans(),
    comma=st.booleans(),
)
def test_novel_header_variants_give_the_same_data(shared_data, name, extra_line, bom, crlf, comma):
    text, ref = _reference(shared_data, name)
    lines = text.split("\n")
    if extra_line:
        lines.insert(2, extra_line)
    body = "\n".join(lines)
    if comma:
        body = _DECIMAL.sub(",", body)
    _same_data(ref, _import(body, name, bom=bom, crlf=crlf))


# ------------------------------------------------------------------ Tekscan: header by key

TEKSCAN = ["vendor-exports/fscan_testL.asf", "vendor-exports/iscan_test.csv"]
_KEY_LINE = re.compile(r"[A-Z][A-Z0-9_]* \S")


@pytest.mark.parametrize("name", TEKSCAN)
@VARIANTS
@given(
    seed=st.integers(0, 2**32 - 1),
    unknown=st.booleans(),
    bom=st.booleans(),
    crlf=st.booleans(),
    comma=st.booleans(),
)
def test_tekscan_header_lines_in_any_order_give_the_same_frames(
    shared_data, name, seed, unknown, bom, crlf, comma
):
    text, ref = _reference(shared_data, name)
    lines = text.replace("\r\n", "\n").split("\n")
    end = next(i for i, line in enumerate(lines) if line.startswith("ASCII_DATA"))
    movable = [
        i
        for i in range(1, end)
        if _KEY_LINE.match(lines[i]) and not lines[i - 1].startswith("COMMENTS")
    ]
    rng = np.random.default_rng(seed)
    moved = [lines[i] for i in rng.permutation(movable)]
    if comma:
        moved = [_DECIMAL.sub(",", m) if m.startswith("SECONDS_PER_FRAME") else m for m in moved]
    for i, line in zip(movable, moved, strict=True):
        lines[i] = line
    if unknown:
        lines.insert(1, "VENDOR_EXTRA_FIELD 12 units")
    _same_data(ref, _import("\n".join(lines), name, bom=bom, crlf=crlf))


# ------------------------------------------------------------------ XSENSOR and PoPu


@VARIANTS
@given(
    unknown=st.sampled_from(["", "Operator:,A. N. Other", "Software:,X4 2022"]),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_xsensor_header_variants_give_the_same_frames(shared_data, unknown, bom, crlf):
    name = "vendor-exports/xsensor_data.csv"
    text, ref = _reference(shared_data, name)
    lines = text.replace("\r\n", "\n").split("\n")
    if unknown:
        lines.insert(2, unknown)
    _same_data(ref, _import("\n".join(lines), name, bom=bom, crlf=crlf))


@pytest.mark.parametrize("name", ["popu/tactilus/prone1_0.json", "popu/sensomatt/prone1_0.json"])
@VARIANTS
@given(seed=st.integers(0, 2**32 - 1), extra=st.booleans(), bom=st.booleans(), crlf=st.booleans())
def test_popu_keys_in_any_order_and_unknown_keys_give_the_same_frames(
    shared_data, name, seed, extra, bom, crlf
):
    text, ref = _reference(shared_data, name)
    doc = json.loads(text)
    keys = list(doc)
    order = [keys[int(i)] for i in np.random.default_rng(seed).permutation(len(keys))]
    shuffled = {k: doc[k] for k in order}
    if extra:
        shuffled["operator_note"] = "unknown key, ignored"
    _same_data(ref, _import(json.dumps(shuffled, indent=1), name, bom=bom, crlf=crlf))
