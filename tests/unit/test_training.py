"""Training mode: exercises as data, and an attempt's score against one."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.plan import LEVELS, ZonePlan, target_band
from ashiguard.domain.practice import Check, Readiness
from ashiguard.domain.training import (
    ATTEMPT_CSV_COLUMNS,
    SHIPPED_EXERCISES,
    AttemptScorer,
    Exercise,
    PassedAssessment,
    Tolerance,
    TrainingPolicy,
    assessment_checks,
    attempt_row,
    level_band,
    months_before,
    parse_exercise,
    parse_training_policy,
    score_attempt,
    shipped_exercise,
    with_assessments,
)
from ashiguard.domain.zones import ZONES

GOOD = """
schema = "ashiguard.exercise/1"
id = "drill"
zones = ["erector_lumbar_left"]
contact = "heel"
technique = "hold"
duration_s = 10
forbidden_zones = ["spine_lumbar"]
[target]
level = 3
[tolerance]
min_in_band_fraction = 0.8
max_overshoot_kpa_s = 5
max_cv = 0.1
max_onset_s = 2
"""


def _with(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize("name", SHIPPED_EXERCISES)
def test_every_shipped_exercise_is_valid(name: str) -> None:
    ex = shipped_exercise(name)
    assert ex.id == name
    assert ex.low_kpa < ex.high_kpa


def test_a_level_takes_its_band_from_the_planners_table() -> None:
    for level in range(1, 6):
        plan = ZonePlan("gluteal_left", True, "heel_compression", level, 1000.0, 1.0, 0.1, 0, "")
        assert level_band(level) == target_band(plan)
        assert level_band(level)[1] == LEVELS[level].max_kpa
    assert parse_exercise(GOOD).low_kpa == 15.0
    assert parse_exercise(GOOD).high_kpa == 25.0


def test_an_explicit_band_in_kpa_is_taken_as_written() -> None:
    ex = parse_exercise(_with(GOOD, "level = 3", "low_kpa = 12\nhigh_kpa = 18.5"))
    assert (ex.level, ex.low_kpa, ex.high_kpa) == (None, 12.0, 18.5)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("level = 3", "level = 0", "target.level: must be an integer 1-5, got 0"),
        ("level = 3", "level = 3\nlow_kpa = 4", "target: give a level or low_kpa/high_kpa"),
        ("level = 3", "low_kpa = 20\nhigh_kpa = 10", "target.high_kpa: must be above"),
        ('zones = ["erector_lumbar_left"]', 'zones = ["kidney_left"]', "zones: kidney_left is an"),
        ('zones = ["erector_lumbar_left"]', 'zones = ["lumbar"]', "zones: unknown zone 'lumbar'"),
        ('contact = "heel"', 'contact = "toe"', "contact: must be one of heel, forefoot"),
        ('technique = "hold"', 'technique = "kick"', "technique: must be hold or stroke"),
        ("duration_s = 10", "duration_s = 0", "duration_s: must be between 5 and 600"),
        ('["spine_lumbar"]', '["erector_lumbar_left"]', "forbidden_zones: erector_lumbar_left"),
        ("max_cv = 0.1", "max_cv = -1", "tolerance.max_cv: must be between"),
        ("max_cv = 0.1", "max_vc = 0.1", "tolerance.max_vc: unknown key"),
        ('schema = "ashiguard.exercise/1"', 'schema = "x"', "schema: must be"),
        ("[target]", "[target", "TOML: "),
    ],
)
def test_a_bad_exercise_is_refused_with_one_line_naming_the_key(
    old: str, new: str, message: str
) -> None:
    with pytest.raises(InputError) as err:
        parse_exercise(_with(GOOD, old, new))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_an_exercise_survives_its_own_json_with_the_level_kept() -> None:
    ex = parse_exercise(GOOD)
    data = ex.to_json()
    assert data["target"] == {"level": 3, "low_kpa": 15.0, "high_kpa": 25.0}
    data["target"] = {"level": 3}
    assert parse_exercise(data) == ex


# -- scoring on a 2 x 4 sheet: columns 0-1 the lumbar erector, 2-3 the lumbar spine
LABELS = np.array(
    [[ZONES.index("erector_lumbar_left")] * 2 + [ZONES.index("spine_lumbar")] * 2] * 2
)
RATE = 10.0


def _frames(zone_kpa: list[float], spine_kpa: list[float] | None = None) -> np.ndarray:
    p = np.zeros((len(zone_kpa), 2, 4), dtype=np.float32)
    p[:, :, :2] = np.asarray(zone_kpa, dtype=np.float32)[:, None, None]
    if spine_kpa is not None:
        p[:, :, 2:] = np.asarray(spine_kpa, dtype=np.float32)[:, None, None]
    return p


def _score(ex: Exercise, zone_kpa: list[float], spine: list[float] | None = None, chunk: int = 7):
    p = _frames(zone_kpa, spine)
    t = np.arange(len(zone_kpa)) / RATE
    chunks = [(t[i : i + chunk], p[i : i + chunk]) for i in range(0, len(t), chunk)]
    return score_attempt(ex, chunks, LABELS, ZONES)


def test_a_steady_hold_in_the_band_passes_with_nothing_to_report() -> None:
    s = _score(parse_exercise(GOOD), [20.0] * 101)
    assert s.passed and s.reasons == ()
    assert s.in_band_s == pytest.approx(10.0)
    assert s.in_band_fraction == pytest.approx(1.0)
    assert s.overshoot_kpa_s == 0.0
    assert s.cv == pytest.approx(0.0, abs=1e-6)
    assert s.onset_s == 0.0


def test_the_overshoot_is_the_integral_above_the_band_in_kpa_seconds() -> None:
    values = [20.0] * 50 + [30.0] * 20 + [20.0] * 31  # 2 s at 5 kPa over
    s = _score(parse_exercise(GOOD), values)
    assert s.overshoot_kpa_s == pytest.approx(10.0)
    assert s.over_s == pytest.approx(2.0)
    assert not s.passed
    assert any(r.startswith("overshoot 10 kPa·s above the 5 allowed") for r in s.reasons)


def test_steadiness_is_the_coefficient_of_variation_while_in_contact() -> None:
    values = [16.0, 24.0] * 50 + [16.0]  # mean 20, sd 4 (lifts would not count)
    s = _score(parse_exercise(GOOD), values)
    assert s.cv == pytest.approx(0.2, abs=0.01)
    assert any(r.startswith("unsteady: variation 0.20") for r in s.reasons)


def test_onset_is_the_first_entry_into_the_band_and_a_late_one_fails() -> None:
    values = [0.0] * 30 + [10.0] * 5 + [20.0] * 66
    s = _score(parse_exercise(GOOD), values)
    assert s.onset_s == pytest.approx(3.5)
    assert "reached the band at 3.5 s, later than 2 s" in s.reasons


def test_a_loaded_forbidden_zone_fails_the_attempt_however_good_the_rest() -> None:
    spine = [0.0] * 60 + [8.0] * 5 + [0.0] * 36
    s = _score(parse_exercise(GOOD), [20.0] * 101, spine)
    assert not s.passed
    assert [f.zone for f in s.forbidden] == ["spine_lumbar"]
    assert s.forbidden[0].first_t == pytest.approx(6.0)
    assert s.forbidden[0].loaded_s == pytest.approx(0.5)
    assert s.reasons == ("forbidden zone spine_lumbar loaded at 6.0 s (0.5 s, up to 8 kPa)",)


def test_a_hold_counts_time_in_band_over_the_duration_and_a_stroke_over_the_contact() -> None:
    values = ([20.0] * 10 + [0.0] * 10) * 5 + [20.0]  # in contact half the time
    hold = _score(parse_exercise(GOOD), values)
    stroke = _score(parse_exercise(_with(GOOD, '"hold"', '"stroke"')), values)
    assert hold.in_band_fraction == pytest.approx(0.5, abs=0.03)
    assert stroke.in_band_fraction == pytest.approx(1.0)


def test_frames_past_the_duration_and_signal_gaps_are_not_scored() -> None:
    ex = parse_exercise(GOOD)
    scorer = AttemptScorer(ex, LABELS, ZONES)
    scorer.add([0.0, 0.1, 5.0], _frames([20.0] * 3))  # a 4.9 s gap weighs 0.2 s
    scorer.add(np.arange(51, 201) / RATE, _frames([20.0] * 150))
    s = scorer.result()
    assert s.scored_s == pytest.approx(0.3 + 5.0, abs=1e-6)
    assert scorer.done
    assert "the attempt lasted 5.3 s of the exercise's 10 s" in s.reasons


def test_the_score_does_not_depend_on_the_chunking() -> None:
    rng = np.random.default_rng(3)
    values = list(rng.uniform(10, 30, 101))
    a = _score(parse_exercise(GOOD), values, chunk=1)
    b = _score(parse_exercise(GOOD), values, chunk=50)
    assert a.to_json() == b.to_json()


def test_an_exercise_on_zones_off_the_sensor_cannot_be_scored() -> None:
    ex = parse_exercise(_with(GOOD, "erector_lumbar_left", "calf_right"))
    with pytest.raises(InputError, match="zones: calf_right not on the sensor"):
        AttemptScorer(ex, LABELS, ZONES)


def test_the_default_tolerance_is_documented_in_the_exercise_json() -> None:
    ex = parse_exercise(GOOD.split("[tolerance]")[0])
    assert ex.tolerance == Tolerance()
    assert ex.to_json()["tolerance"]["min_in_band_fraction"] == 0.7


# -- the clinic's policy: a passed assessment within N months per skill
def test_an_exercise_assesses_its_contact_and_technique() -> None:
    assert shipped_exercise("lumbar-heel-hold").skill == "heel_hold"
    assert shipped_exercise("thoracic-glide").skill == "whole_foot_stroke"


def test_months_before_clamps_to_the_last_day_of_the_month() -> None:
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 12, 6), 12) == date(2025, 12, 6)
    assert months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)


def test_a_policy_is_read_from_months_and_skills_and_refuses_unknown_skills() -> None:
    assert parse_training_policy("12:heel_hold, whole_foot_stroke") == TrainingPolicy(
        ("heel_hold", "whole_foot_stroke"), 12
    )
    assert parse_training_policy("  ") is None
    with pytest.raises(InputError, match="skills: unknown skill 'toe_hold'"):
        parse_training_policy("6:toe_hold")
    with pytest.raises(InputError, match="training policy: must be MONTHS:SKILL"):
        parse_training_policy("heel_hold")


def test_the_gate_names_each_skill_without_a_recent_pass() -> None:
    policy = TrainingPolicy(("heel_hold", "whole_foot_stroke", "forefoot_stroke"), 12)
    passes = [
        PassedAssessment("heel_hold", "lumbar-heel-hold", date(2026, 1, 10)),
        PassedAssessment("whole_foot_stroke", "thoracic-glide", date(2025, 6, 1)),
    ]
    checks = assessment_checks(policy, passes, date(2026, 12, 6))
    assert [c.ok for c in checks] == [True, False, False]
    assert checks[0].detail == "heel_hold: passed lumbar-heel-hold on 2026-01-10"
    assert checks[1].detail == (
        "whole_foot_stroke: no passed assessment within 12 months "
        "(last passed thoracic-glide on 2025-06-01)"
    )
    assert checks[2].detail == "forefoot_stroke: no passed assessment within 12 months"
    ready = Readiness(True, date(2026, 12, 6), (Check("certificate", True, "ok"),))
    gated = with_assessments(ready, checks)
    assert not gated.go
    assert gated.reasons == (checks[1].detail, checks[2].detail)
    assert with_assessments(ready, checks[:1]).go


def test_an_attempt_row_carries_scores_and_no_person_date_or_file() -> None:
    ex = parse_exercise(GOOD)
    spine = [0.0] * 60 + [8.0] * 5 + [0.0] * 36
    row = attempt_row(3, ex, _score(ex, [20.0] * 101, spine))
    assert tuple(row) == ATTEMPT_CSV_COLUMNS
    assert row["attempt"] == 3 and row["skill"] == "heel_hold" and row["passed"] == "no"
    assert row["forbidden_zones"] == "spine_lumbar" and row["forbidden_s"] == 0.5
    assert not {"client", "practitioner", "date", "started_at", "path", "source"} & set(row)


def test_the_progress_plot_is_a_png_of_every_attempt() -> None:
    from ashiguard.adapters.training_plot import progress_png

    ex = parse_exercise(GOOD)
    png = progress_png([_score(ex, [20.0] * 101), _score(ex, [30.0] * 101)])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_live_view_says_too_light_on_target_too_heavy_and_names_a_forbidden_zone() -> None:
    from rich.console import Console

    from ashiguard.entrypoints.cli.train import _render_attempt

    ex = parse_exercise(GOOD)
    words = []
    for zone_kpa, spine_kpa in ((10.0, 0.0), (20.0, 0.0), (30.0, 8.0)):
        scorer = AttemptScorer(ex, LABELS, ZONES)
        scorer.add([0.0, 0.1], _frames([zone_kpa] * 2, [spine_kpa] * 2))
        console = Console(record=True, width=100, color_system=None)
        console.print(_render_attempt(ex, scorer, 0.1))
        words.append(console.export_text())
    assert "too light" in words[0] and "15-25 kPa" in words[0]
    assert "on target" in words[1] and " 20.0 kPa" in words[1]
    assert "too heavy" in words[2] and "spine_lumbar loaded" in words[2]
