"""Fuzzing the intake parser and the screening behind it (issue 16).

Starting from the shipped example intakes, Hypothesis replaces values anywhere in the
document with hostile JSON (huge numbers, NaN/inf, deep nesting, wrong types, control
characters, template and markup text), drops and adds keys, and mangles the JSON text itself.
Every input must end in a parsed, screened intake or one :class:`InputError` with a one-line
message that names a field; never another exception. Budget: ``MAX_EXAMPLES`` per test,
derandomized.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import parse_intake
from ashiguard.domain.screening import parse_screening, screen

MAX_EXAMPLES = 300
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "intakes"
INTAKES = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]

HOSTILE_SCALARS = st.sampled_from(
    [
        None,
        True,
        0,
        -1,
        10**400,
        -(10**30),
        2**63,
        1e308,
        math.inf,
        -math.inf,
        math.nan,
        1e-320,
        "",
        " ",
        "NaN",
        "Infinity",
        "1e999",
        "2026-02-30",
        "0000-00-00",
        "9999-12-31",
        "<script>alert(1)</script>",
        "{{7*7}}",
        "' OR '1'='1",
        "\x00\x1b[31m",
        "line\nbreak",
        "é" * 3000,
    ]
)
json_values = st.recursive(
    HOSTILE_SCALARS | st.text(max_size=20) | st.integers() | st.floats(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def hostile_intakes(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(INTAKES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
    return doc


def parse_or_refuse(data: Any) -> str | None:
    """Parse and screen ``data``; the error message, or None when it was screened."""
    try:
        intake = parse_intake(data)
    except InputError as exc:
        msg = str(exc)
        assert msg and len(msg.splitlines()) == 1, repr(msg)
        assert ": " in msg, f"no field named in {msg!r}"
        return msg
    result = screen(intake)
    payload = result.to_json()
    text = json.dumps(payload, allow_nan=False)  # a screening is always proper JSON
    assert parse_screening(json.loads(text)).decision == result.decision
    json.dumps(intake.to_json(), allow_nan=False)
    return None


@FUZZ
@given(doc=hostile_intakes())
def test_a_hostile_intake_object_is_screened_or_refused_in_one_line(doc):
    parse_or_refuse(doc)


@FUZZ
@given(doc=hostile_intakes(), cut=st.floats(0, 1), flip=st.integers(0, 255))
def test_hostile_intake_text_is_screened_or_refused_in_one_line(doc, cut, flip):
    text = json.dumps(doc, ensure_ascii=False).encode()
    pos = int(cut * (len(text) - 1))
    parse_or_refuse(text)
    parse_or_refuse(text[:pos])
    parse_or_refuse(text[:pos] + bytes([text[pos] ^ (flip or 1)]) + text[pos + 1 :])
    parse_or_refuse(text.decode())


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_is_screened_or_refused_in_one_line(text):
    parse_or_refuse(text)


def test_json_nested_too_deeply_for_the_parser_is_refused_in_one_line():
    msg = parse_or_refuse("[" * 100_000 + "]" * 100_000)
    assert msg is not None and msg.startswith("intake: not valid JSON")
    msg = parse_or_refuse(
        '{"schema": "ashiguard.intake/1", "notes": ' + "[" * 50_000 + "]" * 50_000 + "}"
    )
    assert msg is not None and msg.startswith("intake: not valid JSON")


def test_a_number_with_thousands_of_digits_is_refused_in_one_line():
    doc = json.dumps(INTAKES[0]).replace('"height_cm": 170', '"height_cm": ' + "9" * 5000)
    assert "9" * 5000 in doc
    msg = parse_or_refuse(doc)
    assert msg is not None and msg.startswith("intake: not valid JSON"), msg


def test_an_unknown_field_whose_name_holds_a_line_break_is_named_quoted_on_one_line():
    doc = copy.deepcopy(INTAKES[0])
    doc["client"]["na\nme"] = "x"
    msg = parse_or_refuse(doc)
    assert msg == 'client."na\\nme": unknown field (not in the format; check the spelling)'
    doc = copy.deepcopy(INTAKES[0])
    doc[""] = 1
    assert parse_or_refuse(doc) == '"": unknown field (not in the format; check the spelling)'


def test_the_cli_refuses_hostile_intakes_with_one_line_and_exit_2(tmp_path, run_cli):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    digits = tmp_path / "digits.json"
    digits.write_text(
        json.dumps(INTAKES[0]).replace('"height_cm": 170', '"height_cm": ' + "9" * 5000)
    )
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xfb\xff{}")
    for path in (deep, digits, binary):
        r = run_cli("screen", str(path))
        assert r.returncode == 2, (path.name, r.stderr[-300:])
        assert r.stdout == ""
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("ashiguard: error: ")


FORM_FIELDS = [
    "date",
    "client.birth_date",
    "client.sex",
    "client.height_cm",
    "client.weight_kg",
    "vitals.systolic_mmhg",
    "vitals.diastolic_mmhg",
    "vitals.temperature_c",
    "pregnancy.pregnant",
    "pregnancy.weeks",
    "notes",
    *(
        f"conditions.{i}.{k}"
        for i in range(2)
        for k in ("code", "status", "onset", "controlled", "note")
    ),
    *(f"procedures.0.{k}" for k in ("code", "date", "site")),
    *(f"medications.0.{k}" for k in ("code", "name")),
]
form_text = st.sampled_from(
    [
        "",
        "yes",
        "true",
        "osteoporosis",
        "active",
        "2026-01-01",
        "1e999",
        "nan",
        "-0",
        "9" * 5000,
        "١٢",
        "12,5",
        "<script>",
        "\x00",
        "{{7*7}}",
    ]
) | st.text(max_size=20)


@FUZZ
@given(
    form=st.dictionaries(st.sampled_from(FORM_FIELDS), form_text),
    symptoms=st.lists(form_text, max_size=3),
)
def test_any_intake_form_is_screened_or_refused_in_one_line(form, symptoms):
    from ashiguard.entrypoints.web.forms import form_to_intake

    try:
        payload = form_to_intake(form, symptoms, "c-00001")
    except InputError as exc:
        assert len(str(exc).splitlines()) == 1 and ": " in str(exc)
        return
    parse_or_refuse(payload)
