"""Every Condition in the shared FHIR records is screened, or its reason not to be is in
docs/fhir.md (the tables are read from the docs, so the docs stay the one list)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ashiguard.domain.codes import code_for_snomed
from ashiguard.domain.screening import default_rules

SNOMED = "http://snomed.info/sct"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "fhir.md"
_ROW = re.compile(r"^\| (\d+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$")


def _table_after(heading: str) -> dict[str, tuple[str, str, str]]:
    """SNOMED id -> (name, intake code, reason or rule) of the first table after ``heading``."""
    text = DOCS.read_text(encoding="utf-8")
    assert heading in text, f"docs/fhir.md has no {heading!r}"
    rows: dict[str, tuple[str, str, str]] = {}
    started = False
    for line in text.split(heading, 1)[1].splitlines():
        if line.startswith("|"):
            started = True
            m = _ROW.match(line)
            if m:
                assert m.group(1) not in rows, f"docs/fhir.md lists {m.group(1)} twice"
                rows[m.group(1)] = (m.group(2).strip(), m.group(3).strip(), m.group(4).strip())
        elif started:
            break
    assert rows, f"no table after {heading!r}"
    return rows


def not_screened() -> dict[str, tuple[str, str, str]]:
    return _table_after("Conditions not screened")


def screened() -> dict[str, tuple[str, str, str]]:
    return _table_after("Mapped and screened")


def _codes_in(node: object) -> Iterator[tuple[str, str]]:
    """(predicate kind, code) of every code a ``when`` table names."""
    if isinstance(node, Mapping):
        for kind, body in node.items():
            if isinstance(body, Mapping) and "codes" in body:
                yield from ((kind, c) for c in body["codes"])
            yield from _codes_in(body)
    elif isinstance(node, list):
        for item in node:
            yield from _codes_in(item)


def screened_conditions() -> set[str]:
    """Condition codes a rule of the default rule set names, and the intake's pregnancy."""
    rules = default_rules()
    named = {
        code
        for rule in rules.rules
        for case in rule.cases
        for kind, code in _codes_in(case.when)
        if kind == "condition"
    }
    return named | {"pregnancy"}


def shared_conditions(shared_data: Path) -> dict[str, tuple[str, set[str]]]:
    """SNOMED id -> (display, files) of every Condition coding in the shared FHIR bundles."""
    found: dict[str, tuple[str, set[str]]] = {}
    files = sorted((shared_data / "fhir").rglob("*.json"))
    assert len(files) >= 17
    for path in files:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        for entry in doc.get("entry", []):
            res = entry.get("resource", {})
            if res.get("resourceType") != "Condition":
                continue
            for coding in res["code"]["coding"]:
                assert coding.get("system") == SNOMED, (path.name, coding)
                _display, where = found.setdefault(
                    coding["code"], (coding.get("display", ""), set())
                )
                where.add(path.name.split("_")[0])
    return found


def test_every_condition_in_the_shared_records_is_screened_or_its_reason_is_in_the_docs(
    shared_data,
):
    found = shared_conditions(shared_data)
    assert len(found) >= 50
    rules = screened_conditions()
    listed = not_screened()
    missing = []
    for sid, (display, where) in sorted(found.items()):
        mapped = code_for_snomed(sid)
        if mapped is not None and mapped[0] == "condition" and mapped[1] in rules:
            continue
        if sid not in listed:
            missing.append(f"{sid} {display!r} ({', '.join(sorted(where))})")
    assert not missing, (
        "conditions neither screened nor in docs/fhir.md 'Conditions not screened': "
        + "; ".join(missing)
    )


def test_no_condition_the_docs_list_as_not_screened_is_screened_after_all():
    rules = screened_conditions()
    for sid, (name, intake_code, reason) in not_screened().items():
        mapped = code_for_snomed(sid)
        assert reason, sid
        if mapped is None:
            assert intake_code == "—", f"{sid} {name}: not mapped, the docs say {intake_code}"
            continue
        assert mapped[0] == "condition", sid
        assert intake_code == f"`{mapped[1]}`", f"{sid} {name}: codes.py maps it to {mapped[1]}"
        assert mapped[1] not in rules, f"{sid} {name}: a rule screens {mapped[1]}; update the docs"


def test_every_row_of_the_screened_table_is_mapped_as_it_says_and_a_rule_names_it():
    rules = default_rules()
    ids = {r.id for r in rules.rules}
    for sid, (name, intake_code, rule_text) in screened().items():
        mapped = code_for_snomed(sid)
        assert mapped is not None and mapped[0] == "condition", f"{sid} {name}"
        if mapped[1] == "pregnancy":
            assert intake_code == "intake `pregnancy`"
        else:
            assert intake_code == f"`{mapped[1]}`", f"{sid} {name}"
            assert mapped[1] in screened_conditions(), f"{sid} {name}"
        first_rule = re.split(r"[ ,(]", rule_text, maxsplit=1)[0]
        assert first_rule in ids, f"{sid}: {rule_text}"


@pytest.mark.parametrize(
    ("sid", "code"),
    [
        ("22298006", "myocardial_infarction"),
        ("399211009", "myocardial_infarction"),
        ("230690007", "stroke"),
        ("266257000", "transient_ischemic_attack"),
        ("53741008", "coronary_heart_disease"),
        ("233819005", "angina"),
        ("49436004", "atrial_fibrillation"),
        ("127013003", "chronic_kidney_disease"),
        ("90781000119102", "chronic_kidney_disease"),
    ],
)
def test_the_cardiovascular_and_diabetic_kidney_concepts_map_to_their_intake_codes(sid, code):
    assert code_for_snomed(sid) == ("condition", code)
