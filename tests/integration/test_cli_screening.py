"""``ashiguard screen``, ``rules``, ``ready`` and ``demo`` through a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ashiguard.domain.screening import parse_screening

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
INTAKES = sorted((EXAMPLES / "intakes").glob("*.json"))
DECISIONS = {
    "cleared": "cleared",
    "modify": "modify",
    "defer": "defer",
    "clearance": "clearance_required",
    "decline": "decline",
}


def test_the_examples_cover_every_decision_and_at_least_ten_intakes():
    assert len(INTAKES) >= 10
    assert {p.stem.split("-")[0] for p in INTAKES} == set(DECISIONS)
    lines = (EXAMPLES / "intakes.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [json.loads(p.read_text()) for p in INTAKES]


@pytest.mark.parametrize("path", INTAKES, ids=lambda p: p.stem)
def test_each_example_intake_gets_the_decision_its_name_says(path):
    from ashiguard.domain.intake import parse_intake
    from ashiguard.domain.screening import screen

    expected = DECISIONS[path.stem.split("-")[0]]
    assert screen(parse_intake(path.read_text())).decision.value == expected


@pytest.mark.parametrize(
    "path", sorted((EXAMPLES / "screenings").glob("*.json")), ids=lambda p: p.stem
)
def test_each_example_screening_is_what_screen_prints_for_its_intake_today(path):
    from ashiguard.domain.intake import parse_intake
    from ashiguard.domain.screening import screen

    intake = parse_intake((EXAMPLES / "intakes" / path.name).read_text())
    assert json.loads(path.read_text()) == screen(intake).to_json()


def test_screen_prints_a_contract_screening_and_exits_0(run_cli):
    r = run_cli("screen", "examples/intakes/decline-osteoporosis.json")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    doc = json.loads(r.stdout)
    assert doc["schema"] == "ashiguard.screening/1"
    assert doc["decision"] == "decline"
    assert parse_screening(doc).client_id == "c-001"


def test_screen_reads_standard_input_with_a_dash(run_cli):
    text = (EXAMPLES / "intakes" / "defer-fever.json").read_text()
    r = run_cli("screen", "-", input=text)
    assert r.returncode == 0
    assert json.loads(r.stdout)["decision"] == "defer"


@pytest.mark.parametrize(
    ("stdin", "args", "message"),
    [
        (
            '{"schema": "ashiguard.intake/1", "date": "2026-11-24", "client": {"id": "x"},'
            ' "vitals": {"systolic_mmhg": 20}}',
            ("-",),
            "vitals.systolic_mmhg: ",
        ),
        ("not json", ("-",), "intake: not valid JSON"),
        (None, ("no-such-file.json",), "no-such-file.json: cannot read"),
    ],
)
def test_screen_refuses_bad_input_with_one_line_and_exit_2(run_cli, stdin, args, message):
    r = run_cli("screen", *args, input=stdin)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith("ashiguard: error: ")
    assert message in r.stderr


def test_screen_text_format_shows_decision_findings_sources_and_restrictions(run_cli):
    r = run_cli("screen", "--format", "text", "examples/intakes/modify-left-hip-replacement.json")
    assert r.returncode == 0
    out = r.stdout
    assert "Screening of client c-104 for 2026-11-24: MODIFY" in out
    assert "- [modify] past-joint-replacement: Hip replacement" in out
    assert "because: procedure hip_replacement (left hip) on 2024-03-11" in out
    assert "source: ashiguard screening policy v1.1" in out
    assert "\nRules: ashiguard-default-v1.1\n" in out
    assert out.rstrip().endswith("Restrictions: avoid gluteal_left")


def test_screen_with_rule_set_default_v1_screens_with_version_1(run_cli):
    intake = json.dumps(
        {
            "schema": "ashiguard.intake/1",
            "date": "2026-11-24",
            "client": {"id": "c-9"},
            "conditions": [{"code": "hypertension", "controlled": True}],
        }
    )
    new = json.loads(run_cli("screen", "-", input=intake).stdout)
    assert (new["decision"], new["rules_version"]) == ("defer", "ashiguard-default-v1.1")
    old = run_cli("screen", "--rule-set", "default-v1", "--format", "text", "-", input=intake)
    assert old.returncode == 0, old.stderr
    assert "Screening of client c-9 for 2026-11-24: CLEARED\nRules: ashiguard-default-v1\n" in (
        old.stdout
    )


def test_an_unknown_rule_set_is_refused_with_one_line_and_exit_2(run_cli):
    r = run_cli("screen", "--rule-set", "default-v9", "examples/intakes/defer-fever.json")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == (
        "ashiguard: error: rule set: 'default-v9' is not shipped; "
        "choose one of default-v1, default-v1.1\n"
    )


def test_batch_screens_every_good_line_and_reports_bad_lines_by_number(run_cli, tmp_path):
    good = (EXAMPLES / "intakes.jsonl").read_text().splitlines()
    lines = [good[0], "{broken", good[1], "", json.dumps({"schema": "ashiguard.intake/1"}), good[2]]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    r = run_cli("screen", "--batch", str(path))
    assert r.returncode == 2
    results = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["client_id"] for x in results] == [
        json.loads(good[i])["client"]["id"] for i in (0, 1, 2)
    ]
    errors = r.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("ashiguard: error: line 2: intake: not valid JSON")
    assert errors[1].startswith("ashiguard: error: line 5: date: required field is missing")


def test_batch_of_the_examples_exits_0_with_one_line_each(run_cli):
    r = run_cli("screen", "--batch", "examples/intakes.jsonl", "--format", "text")
    assert r.returncode == 0
    assert r.stderr == ""
    assert len(r.stdout.splitlines()) == len(INTAKES)


def test_a_clinic_rules_file_tightens_the_screening(run_cli, tmp_path):
    rules = tmp_path / "clinic.toml"
    rules.write_text(
        'schema = "ashiguard.rules/1"\nversion = "clinic-3"\n'
        '[[rule]]\nid = "elevated-bp-today"\ndecision = "defer"\n'
    )
    r = run_cli("screen", "--rules", str(rules), "examples/intakes/modify-elevated-bp.json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["decision"] == "defer"
    assert doc["rules_version"] == "ashiguard-default-v1.1+clinic-3"
    r = run_cli(
        "screen",
        "--rule-set",
        "default-v1",
        "--rules",
        str(rules),
        "examples/intakes/modify-elevated-bp.json",
    )
    assert json.loads(r.stdout)["rules_version"] == "ashiguard-default-v1+clinic-3"


def test_a_broken_clinic_rules_file_is_refused_naming_the_rule_and_field(run_cli, tmp_path):
    rules = tmp_path / "x.toml"
    rules.write_text(
        'schema = "ashiguard.rules/1"\nversion = "1"\n[[rule]]\nid = "foo"\n'
        'decision = "maybe"\nsources = ["policy"]\nreason = "r"\n'
        'when = { symptom = { codes = ["fever"] } }\n'
    )
    r = run_cli("screen", "--rules", str(rules), "examples/intakes/defer-fever.json")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith(
        "ashiguard: error: rules file x.toml: rule 'foo': decision: 'maybe' is not one of"
    )


def test_rules_lists_every_rule_with_decisions_and_sources(run_cli):
    r = run_cli("rules")
    assert r.returncode == 0
    assert r.stdout.startswith("Rule set ashiguard-default-v1.1:")
    assert "\ndvt-history\n  decline: A history of deep vein thrombosis" in r.stdout
    assert "  source: Batavia M. Contraindications for therapeutic massage" in r.stdout
    assert "\nbp-not-measured-today\n  defer: Hypertension and no blood pressure" in r.stdout
    old = run_cli("rules", "--rule-set", "default-v1")
    assert old.stdout.startswith("Rule set ashiguard-default-v1: ")
    assert "bp-not-measured-today" not in old.stdout


def test_ready_says_go_for_the_example_room_and_no_go_with_every_reason(run_cli, tmp_path):
    go = run_cli(
        "ready",
        "--practitioner",
        "examples/practitioner.json",
        "--equipment",
        "examples/equipment.json",
        "--screening",
        "examples/screenings/modify-left-hip-replacement.json",
        "--on",
        "2026-11-24",
        "--format",
        "json",
    )
    assert go.returncode == 0, go.stderr
    assert json.loads(go.stdout)["go"] is True
    nogo = run_cli(
        "ready",
        "--practitioner",
        "examples/practitioner-expired.json",
        "--equipment",
        "examples/equipment-overdue.json",
        "--screening",
        "examples/screenings/decline-osteoporosis.json",
        "--on",
        "2026-11-24",
        "--strict",
    )
    assert nogo.returncode == 1
    assert nogo.stdout.startswith("NO-GO for barefoot work on 2026-11-24")
    assert "[NO] certificate: ashiatsu certificate expired on 2024-04-30" in nogo.stdout
    assert "[NO] bar left rating: bar left: rated 1500 N < 1804 N" in nogo.stdout
    assert "[NO] screening decision: screening decision is 'decline'" in nogo.stdout


def test_ready_refuses_a_bad_file_naming_the_option_and_field(run_cli, tmp_path):
    bad = tmp_path / "e.json"
    bad.write_text('{"schema": "ashiguard.equipment/1", "room": "R", "bars": [{"id": "a"}]}')
    r = run_cli(
        "ready",
        "--practitioner",
        "examples/practitioner.json",
        "--equipment",
        str(bad),
        "--screening",
        "examples/screenings/cleared-healthy-adult.json",
        "--on",
        "2026-11-24",
    )
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith(
        "ashiguard: error: --equipment: bars[0].rated_load_n: required field is missing"
    )


def test_demo_prints_the_decision_of_every_example(run_cli):
    r = run_cli("demo")
    assert r.returncode == 0, r.stderr
    for decision in DECISIONS.values():
        assert decision in r.stdout
    assert "c-001" in r.stdout and "c-115" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("screen", "--format", "xml", "examples/intakes/defer-fever.json"), "--format: expected"),
        (
            (
                "ready",
                "--practitioner",
                "examples/practitioner.json",
                "--equipment",
                "examples/equipment.json",
                "--screening",
                "examples/screenings/cleared-healthy-adult.json",
                "--on",
                "24.11.2026",
            ),
            "--on: expected a date as YYYY-MM-DD",
        ),
    ],
)
def test_bad_options_are_refused_with_one_line_and_exit_2(run_cli, args, message):
    r = run_cli(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("ashiguard: error: ")
    assert message in r.stderr and r.stderr.count("\n") == 1
