"""A practitioner's standing per skill, the criteria of a score and the clinic's words for
skills, zones and reasons (domain/training.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ashiguard.domain.training import (
    PassedAssessment,
    TrainingPolicy,
    months_after,
    plain_words,
    score_attempt,
    score_criteria,
    shipped_exercise,
    skill_standing,
    skill_words,
)
from ashiguard.domain.zones import ZONES

POLICY = TrainingPolicy(("heel_hold",), 12)
ON = date(2026, 12, 6)


def _pass(day: date, skill: str = "heel_hold") -> PassedAssessment:
    return PassedAssessment(skill, "lumbar-heel-hold", day)


def test_a_required_pass_is_passed_then_expiring_then_expired_as_the_months_run_out() -> None:
    passes = [_pass(date(2026, 1, 20))]
    st = skill_standing("heel_hold", passes, [], POLICY, ON)
    assert (st.state, st.valid_until, st.required) == ("passed", date(2027, 1, 20), True)
    assert skill_standing("heel_hold", passes, [], POLICY, date(2027, 1, 1)).state == "expiring"
    assert skill_standing("heel_hold", passes, [], POLICY, date(2027, 1, 20)).state == "expiring"
    assert skill_standing("heel_hold", passes, [], POLICY, date(2027, 1, 21)).state == "expired"


def test_a_skill_the_policy_does_not_ask_for_never_expires() -> None:
    st = skill_standing("heel_stroke", [_pass(date(2010, 1, 1), "heel_stroke")], [], POLICY, ON)
    assert (st.state, st.valid_until, st.required) == ("passed", None, False)


def test_failed_attempts_count_since_the_last_pass_and_without_one_the_skill_is_failed() -> None:
    fails = [date(2026, 3, 1), date(2026, 6, 1), date(2026, 7, 1)]
    st = skill_standing("heel_hold", [_pass(date(2026, 5, 1))], fails, POLICY, ON)
    assert (st.state, st.failed, st.last_passed) == ("passed", 2, date(2026, 5, 1))
    st = skill_standing("heel_hold", [], fails, POLICY, ON)
    assert (st.state, st.failed) == ("failed", 3)
    assert skill_standing("heel_hold", [], [], POLICY, ON).state == "not_attempted"


def test_attempts_after_the_day_and_other_skills_do_not_count() -> None:
    later = [_pass(date(2027, 1, 1)), _pass(date(2026, 1, 1), "forefoot_hold")]
    assert skill_standing("heel_hold", later, [date(2027, 2, 1)], POLICY, ON).state == (
        "not_attempted"
    )


def test_months_after_clamps_to_the_last_day_of_the_month() -> None:
    assert months_after(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert months_after(date(2026, 12, 6), 12) == date(2027, 12, 6)


def _score(kpa: float, seconds: float = 30.0):
    labels = np.full((2, 4), ZONES.index("erector_lumbar_left"))
    n = int(seconds * 10) + 1
    t = np.arange(n) / 10.0
    p = np.full((n, 2, 4), kpa, dtype=np.float32)
    return score_attempt(shipped_exercise("lumbar-heel-hold"), [(t, p)], labels, ZONES)


@pytest.mark.parametrize(
    ("kpa", "seconds", "failed"),
    [
        (20.0, 30.0, set()),
        (
            40.0,
            30.0,
            {"Time in the target band", "Too heavy (overshoot)", "Reached the band in time"},
        ),
        (20.0, 12.0, {"Full length", "Time in the target band"}),
    ],
)
def test_the_criteria_fail_exactly_where_the_score_gives_a_reason(kpa, seconds, failed) -> None:
    ex = shipped_exercise("lumbar-heel-hold")
    score = _score(kpa, seconds)
    criteria = score_criteria(ex, score)
    assert len(criteria) == 6
    assert {c.name for c in criteria if not c.ok} == failed
    assert len(failed) == len(score.reasons)
    assert score.passed is all(c.ok for c in criteria)


def test_pages_and_reports_name_skills_zones_and_reasons_in_words() -> None:
    assert skill_words("whole_foot_stroke") == "whole-foot stroke"
    text = plain_words(
        "heel_hold: no passed assessment (last passed lumbar-heel-hold on 2026-01-01); "
        "forbidden zone spine_lumbar loaded at 16.0 s"
    )
    assert text == (
        "heel hold: no passed assessment (last passed lumbar-heel-hold on 2026-01-01); "
        "forbidden zone lower-back spine loaded at 16.0 s"
    )
    assert plain_words("my_heel_hold_drill") == "my_heel_hold_drill"  # not a whole name
