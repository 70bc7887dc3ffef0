"""Physician clearance: what a clearance covers, and the decision the gate then applies."""

from __future__ import annotations

from datetime import date, timedelta

from ashiguard.domain.clearance import (
    Clearance,
    clearance_required_rules,
    clearance_state,
    facts_shown,
)
from ashiguard.domain.intake import parse_intake
from ashiguard.domain.screening import Decision, Restrictions, Screening, screen

ON = date(2026, 11, 24)


def _screen(**parts) -> Screening:
    return screen(
        parse_intake(
            {
                "schema": "ashiguard.intake/1",
                "date": ON.isoformat(),
                "client": {"id": "c-1", "birth_date": "1970-01-01"},
                **parts,
            }
        )
    )


def _anticoagulant(**more) -> Screening:
    return _screen(medications=[{"code": "anticoagulant", "name": "apixaban"}], **more)


def _clearance(*rules, on=ON, until=None, ident=1) -> Clearance:
    return Clearance(ident, frozenset(rules), on, until, "Dr Jane Roe")


def test_the_rules_needing_clearance_are_those_of_clearance_required_findings():
    sc = _anticoagulant(conditions=[{"code": "varicose_veins", "status": "active"}])
    assert sc.decision is Decision.CLEARANCE_REQUIRED
    assert clearance_required_rules(sc) == ("anticoagulant",)


def test_a_clearance_naming_every_needed_rule_makes_the_gate_see_cleared_or_modify():
    sc = _anticoagulant()
    state = clearance_state(sc, [_clearance("anticoagulant")], ON)
    assert state.cleared_by_physician and state.missing == ()
    assert state.effective is Decision.CLEARED
    assert state.screening.decision is Decision.CLEARED
    assert sc.decision is Decision.CLEARANCE_REQUIRED  # the screening itself is untouched
    assert state.covered["anticoagulant"].physician == "Dr Jane Roe"


def test_restrictions_of_the_screening_stay_and_make_the_effective_decision_modify():
    sc = _anticoagulant(conditions=[{"code": "varicose_veins", "status": "active"}])
    state = clearance_state(sc, [_clearance("anticoagulant")], ON)
    assert state.effective is Decision.MODIFY
    assert state.screening.restrictions == sc.restrictions
    assert not state.screening.restrictions.empty


def test_a_clearance_required_finding_with_its_own_restrictions_keeps_them():
    sc = _screen(procedures=[{"code": "spinal_fusion", "date": "2024-06-15"}])
    state = clearance_state(sc, [_clearance("past-spinal-surgery")], ON)
    assert state.effective is Decision.MODIFY
    assert "spine_lumbar" in state.screening.restrictions.avoid_zones


def test_a_clearance_never_loosens_a_decline():
    sc = _screen(
        medications=[{"code": "anticoagulant"}],
        conditions=[{"code": "osteoporosis", "status": "active"}],
    )
    assert sc.decision is Decision.DECLINE
    state = clearance_state(sc, [_clearance(*clearance_required_rules(sc))], ON)
    assert state.missing == ()
    assert state.effective is Decision.DECLINE


def test_one_rule_left_uncovered_keeps_the_screening_decision():
    sc = _anticoagulant(conditions=[{"code": "fibromyalgia", "status": "active"}])
    assert set(clearance_required_rules(sc)) == {"anticoagulant", "unknown-code"}
    state = clearance_state(sc, [_clearance("anticoagulant")], ON)
    assert state.missing == ("unknown-code",)
    assert not state.cleared_by_physician
    assert state.effective is Decision.CLEARANCE_REQUIRED


def test_clearances_from_different_physicians_together_cover_every_rule():
    sc = _anticoagulant(conditions=[{"code": "fibromyalgia", "status": "active"}])
    shown = {k: frozenset(v) for k, v in facts_shown(sc, ["unknown-code"]).items()}
    surgeon = Clearance(2, frozenset({"unknown-code"}), ON, None, "Dr Moe", shown)
    state = clearance_state(sc, [_clearance("anticoagulant"), surgeon], ON)
    assert state.cleared_by_physician
    assert state.covered["unknown-code"].ident == 2


def test_an_expired_or_future_clearance_does_not_count():
    sc = _anticoagulant()
    expired = _clearance("anticoagulant", on=ON - timedelta(days=30), until=ON - timedelta(days=1))
    future = _clearance("anticoagulant", on=ON + timedelta(days=1))
    for c in (expired, future):
        assert clearance_state(sc, [c], ON).effective is Decision.CLEARANCE_REQUIRED
    last_day = _clearance("anticoagulant", on=ON - timedelta(days=30), until=ON)
    assert clearance_state(sc, [last_day], ON).effective is Decision.CLEARED


def test_a_screening_that_needs_no_clearance_is_left_as_it_is():
    sc = _screen()
    state = clearance_state(sc, [_clearance("anticoagulant")], ON)
    assert state.needed == () and not state.cleared_by_physician
    assert state.effective is sc.decision
    assert Restrictions() == sc.restrictions


def test_an_unknown_code_clearance_covers_only_the_codes_the_physician_was_shown():
    shown = _screen(conditions=[{"code": "fibromyalgia", "status": "active"}])
    kept = facts_shown(shown, ["unknown-code"])
    assert kept == {"unknown-code": ["unknown condition code 'fibromyalgia'"]}
    letter = Clearance(
        1,
        frozenset({"unknown-code"}),
        ON,
        None,
        "Dr Roe",
        {"unknown-code": frozenset(kept["unknown-code"])},
    )
    assert clearance_state(shown, [letter], ON).cleared_by_physician
    other = _screen(conditions=[{"code": "lupus_thing", "status": "active"}])
    assert clearance_state(other, [letter], ON).missing == ("unknown-code",)
    both = _screen(
        conditions=[
            {"code": "fibromyalgia", "status": "active"},
            {"code": "lupus_thing", "status": "active"},
        ]
    )
    assert not clearance_state(both, [letter], ON).cleared_by_physician
    assert facts_shown(_anticoagulant(), ["anticoagulant"]) == {}  # covered by rule id
