"""Rules as data: parsing, refusing bad rules files, and clinic files that only tighten."""

from __future__ import annotations

from typing import Any

import pytest

from ashiguard.adapters.rules_file import load_rules
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import parse_intake
from ashiguard.domain.screening import (
    DEFAULT_RULE_SET,
    RULE_SETS,
    Decision,
    default_rules,
    parse_rules,
    screen,
)

HEAD = (
    'schema = "ashiguard.rules/1"\nversion = "clinic-7"\n[sources]\nclinic = "Clinic board 2026"\n'
)


def intake(**fields: Any):
    doc = {"schema": "ashiguard.intake/1", "date": "2026-11-24", "client": {"id": "x"}}
    doc.update(fields)
    return parse_intake(doc)


def clinic(text: str):
    return parse_rules(HEAD + text, "clinic.toml", base=default_rules())


def test_the_default_rules_load_from_the_package_with_a_version():
    rules = default_rules()
    assert rules.version == "ashiguard-default-v1.1"
    assert len(rules.rules) == 40
    assert rules.rule("kidney-stones").strictest is Decision.DECLINE


def test_version_1_of_the_default_rules_stays_loadable_by_name():
    v1 = default_rules("default-v1")
    assert v1.version == "ashiguard-default-v1"
    assert len(v1.rules) == 36
    assert RULE_SETS == ("default-v1", "default-v1.1")
    assert DEFAULT_RULE_SET == "default-v1.1"
    assert default_rules() is default_rules(DEFAULT_RULE_SET)


def test_a_rule_set_that_is_not_shipped_is_refused_naming_the_choices():
    with pytest.raises(
        InputError,
        match=r"^rule set: 'default-v2' is not shipped; choose one of default-v1, default-v1.1$",
    ):
        default_rules("default-v2")


def test_version_1_still_flags_the_codes_policy_1_1_added_as_unknown():
    for code in ("stroke", "atrial_fibrillation"):
        v1 = screen(intake(conditions=[{"code": code}]), default_rules("default-v1"))
        assert [f.rule for f in v1.findings] == ["unknown-code"]
        assert v1.decision is Decision.CLEARANCE_REQUIRED
    # in version 1.1 atrial fibrillation is a known code with no rule of its own
    assert screen(intake(conditions=[{"code": "atrial_fibrillation"}])).findings == ()


def test_a_rules_file_names_the_contract_codes_it_was_written_for():
    body = (
        '[[rule]]\nid = "x"\nsources = ["clinic"]\ndecision = "defer"\nreason = "r"\n'
        'when = { symptom = { codes = ["fever"] } }\n'
    )
    own = parse_rules('contract_codes = "1"\n' + HEAD + body, "own.toml")
    assert "stroke" not in own.known_codes["condition"]
    assert "stroke" in parse_rules(HEAD + body, "own.toml").known_codes["condition"]
    with pytest.raises(
        InputError,
        match=r"^rules file own.toml: contract_codes: expected one of '1', '1.1', got '2'$",
    ):
        parse_rules('contract_codes = "2"\n' + HEAD + body, "own.toml")


def test_a_clinic_file_may_not_choose_its_contract_codes():
    with pytest.raises(
        InputError,
        match=r"clinic.toml: contract_codes: a clinic file screens with the codes of the rule set",
    ):
        parse_rules(
            'contract_codes = "1.1"\n' + HEAD, "clinic.toml", base=default_rules("default-v1")
        )


def test_a_clinic_file_extends_the_rule_set_it_is_given():
    rules = parse_rules(HEAD, "clinic.toml", base=default_rules("default-v1"))
    assert rules.version == "ashiguard-default-v1+clinic-7"
    assert "stroke" not in rules.known_codes["condition"]


def test_a_clinic_file_adds_a_rule_and_the_version_names_both_sets():
    rules = clinic(
        '[[rule]]\nid = "epilepsy"\nsources = ["clinic"]\ndecision = "clearance_required"\n'
        'reason = "Seizure risk prone."\nwhen = { condition = { codes = ["epilepsy"] } }\n'
    )
    assert rules.version == "ashiguard-default-v1.1+clinic-7"
    s = screen(intake(conditions=[{"code": "epilepsy"}]), rules)
    assert [f.rule for f in s.findings] == ["epilepsy"]
    assert s.findings[0].sources == ("Clinic board 2026",)
    # the code named by a clinic rule is no longer "unknown"; in the default set it is
    assert screen(intake(conditions=[{"code": "epilepsy"}])).findings[0].rule == "unknown-code"


def test_a_clinic_file_may_tighten_a_default_rule_by_id():
    rules = clinic(
        '[[rule]]\nid = "antiplatelet"\ndecision = "modify"\nmax_pressure_kpa = 80\n'
        'avoid_zones = ["kidney_*"]\n'
    )
    s = screen(intake(medications=[{"code": "antiplatelet"}]), rules)
    assert s.restrictions.max_pressure_kpa == 80
    assert s.restrictions.avoid_zones == {"kidney_left", "kidney_right"}
    assert s.findings[0].reason.startswith("Antiplatelet")  # inherited


def test_a_clinic_file_may_raise_the_decision_of_one_case_of_a_multi_case_rule():
    rules = clinic(
        '[[rule]]\nid = "kidney-stones"\n[[rule.case]]\n[[rule.case]]\ndecision = "decline"\n'
    )
    s = screen(intake(conditions=[{"code": "kidney_stones", "status": "history"}]), rules)
    assert s.decision is Decision.DECLINE
    assert s.restrictions.avoid_zones == {"kidney_left", "kidney_right"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[rule]]\nid = "osteoporosis"\ndecision = "modify"\n',
            r"rule 'osteoporosis': override\.decision: 'modify' is less restrictive than "
            r"'decline'",
        ),
        (
            '[[rule]]\nid = "antiplatelet"\nmax_pressure_kpa = 150\n',
            r"rule 'antiplatelet': override\.restrictions: .* is looser than",
        ),
        (
            '[[rule]]\nid = "varicose-veins"\navoid_zones = ["calf_*"]\n',
            r"rule 'varicose-veins': override\.restrictions: ",
        ),
        (
            '[[rule]]\nid = "recent-spinal-surgery"\n'
            'when = { procedure = { codes = ["spinal_fusion"], within_months = 6 } }\n',
            r"rule 'recent-spinal-surgery': override\.when: an override may not change",
        ),
        (
            '[[rule]]\nid = "kidney-stones"\ndecision = "decline"\n',
            r"rule 'kidney-stones': case: the rule being overridden has 2 case\(s\)",
        ),
    ],
)
def test_a_clinic_file_that_loosens_a_rule_is_refused_with_the_rule_id(text, message):
    with pytest.raises(InputError, match=r"^rules file clinic\.toml: " + message):
        clinic(text)


GOOD_RULE = 'sources = ["clinic"]\nreason = "r"\nwhen = { symptom = { codes = ["fever"] } }\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[rule]]\nid = "foo"\ndecision = "maybe"\n' + GOOD_RULE,
            r"rule 'foo': decision: 'maybe' is not one of cleared, modify, defer, "
            r"clearance_required, decline$",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "modify"\navoid_zones = ["elbow"]\n' + GOOD_RULE,
            r"rule 'foo': avoid_zones: 'elbow' is not a contract zone slug$",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "modify"\nmax_load_fraction = 1.5\n' + GOOD_RULE,
            r"rule 'foo': max_load_fraction: expected a number from 0 to 1, got 1.5$",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "defer"\nreason = "r"\nsources = ["nowhere"]\n'
            'when = { symptom = { codes = ["fever"] } }\n',
            r"rule 'foo': sources: 'nowhere' is not in the \[sources\] table$",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "defer"\nsources = ["clinic"]\nreason = "r"\n'
            'when = { sympton = { codes = ["fever"] } }\n',
            r"rule 'foo': when\.sympton: unknown predicate",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "defer"\nsources = ["clinic"]\nreason = "r"\n'
            'when = { any = [{ procedure = { codes = ["x"], within_weks = 6 } }] }\n',
            r"rule 'foo': when\.any\[0\]\.procedure\.within_weks: unknown key",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "defer"\nsources = ["clinic"]\nreason = "r"\n'
            "when = { bp = { at_least = [160] } }\n",
            r"rule 'foo': when\.bp\.at_least: expected \[systolic, diastolic\]",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "defer"\nsources = ["clinic"]\nreason = "r"\n'
            'when = { condition = { codes = ["x"], status = ["gone"] } }\n',
            r"rule 'foo': when\.condition\.status: expected a list of active, history",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "cleared"\nmax_pressure_kpa = 90\n' + GOOD_RULE,
            r"rule 'foo': decision: a 'cleared' case cannot carry restrictions$",
        ),
        (
            '[[rule]]\nid = "foo"\ndecision = "defer"\nsources = ["clinic"]\nreason = "r"\n',
            r"rule 'foo': when: required field is missing$",
        ),
        (
            '[[rule]]\nid = "Foo Bar"\n',
            r"rule\[0\]\.id: expected a lower-case id",
        ),
        ("[[rule]\n", r"not valid TOML: "),
        (
            '[[rule]]\nid = "foo"\ndecision = "defer"\nreason = "r"\nsources = ["clinic"]\n'
            'when = { symptom = { codes = ["fever"] } }\nmax_pressure = 90\n',
            r"rule 'foo': max_pressure: unknown key; allowed: id, sources, case",
        ),
    ],
)
def test_a_rules_file_with_an_error_is_refused_naming_the_rule_and_the_field(text, message):
    with pytest.raises(InputError, match=r"^rules file clinic\.toml: " + message):
        clinic(text)


def test_a_rules_file_without_schema_or_version_is_refused():
    with pytest.raises(InputError, match=r"^rules file x\.toml: schema: expected"):
        parse_rules('version = "1"\n', "x.toml")
    with pytest.raises(InputError, match=r"^rules file x\.toml: version: expected a non-empty"):
        parse_rules('schema = "ashiguard.rules/1"\n', "x.toml")
    with pytest.raises(InputError, match=r"^rules file x\.toml: verison: unknown key; allowed"):
        parse_rules('schema = "ashiguard.rules/1"\nverison = "2"\n', "x.toml")


def test_the_same_rule_id_twice_in_one_file_is_refused():
    rule = '[[rule]]\nid = "foo"\ndecision = "defer"\n' + GOOD_RULE
    with pytest.raises(InputError, match=r"rule 'foo': the same id appears twice"):
        clinic(rule + rule)


def test_load_rules_reads_a_clinic_file_from_disk(tmp_path):
    path = tmp_path / "my-clinic.toml"
    path.write_text(HEAD + '[[rule]]\nid = "antiplatelet"\nmax_pressure_kpa = 60\n')
    rules = load_rules(path)
    assert rules.rule("antiplatelet").cases[0].restrictions.max_pressure_kpa == 60


def test_load_rules_refuses_a_missing_file_naming_it(tmp_path):
    with pytest.raises(InputError, match=r"^rules file nope\.toml: cannot read: "):
        load_rules(tmp_path / "nope.toml")


def test_the_clinic_file_example_in_the_docs_parses_and_tightens_nothing_away():
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "screening.md"
    (block,) = re.findall(r"```toml\n(.*?)```", docs.read_text(encoding="utf-8"), re.DOTALL)
    rules = parse_rules(block, "docs-example.toml", base=default_rules())
    assert rules.version == "ashiguard-default-v1.1+clinic-north-2026-11"
    assert rules.rule("epilepsy").cases[0].decision is Decision.CLEARANCE_REQUIRED
    assert rules.rule("recent-joint-replacement").cases == (
        default_rules().rule("recent-joint-replacement").cases
    )
