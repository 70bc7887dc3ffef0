"""The simulated students of training mode: the good one passes, the poor one fails, and why."""

from __future__ import annotations

import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.simulation import SCENARIOS, Simulation, SimulationConfig
from ashiguard.domain.training import AttemptScore, score_attempt, shipped_exercise
from ashiguard.domain.zones import ZONES


def _student(scenario: str, seed: int) -> tuple[Simulation, AttemptScore]:
    sim = Simulation(SimulationConfig(duration_s=34.0, scenario=scenario, seed=seed))
    chunks = ((c.times, c.pressure) for c in sim.chunks(100))
    return sim, score_attempt(shipped_exercise("lumbar-heel-hold"), chunks, sim.labels, ZONES)


def test_both_students_are_listed_among_the_scenarios() -> None:
    assert {"good_student", "poor_student"} <= set(SCENARIOS)


@pytest.mark.parametrize("seed", [1, 7])
def test_the_good_student_passes_the_lumbar_heel_hold(seed: int) -> None:
    sim, s = _student("good_student", seed)
    assert s.passed, s.reasons
    assert s.in_band_fraction > 0.9
    assert s.forbidden == ()
    assert sim.attempt_truth is not None and sim.attempt_truth["expected"] == "pass"
    assert sim.truth == ()  # no alarm is injected


@pytest.mark.parametrize("seed", [1, 7])
def test_the_poor_student_fails_for_the_reasons_the_truth_names(seed: int) -> None:
    sim, s = _student("poor_student", seed)
    assert not s.passed
    joined = " | ".join(s.reasons)
    for reason in ("forbidden zone spine_lumbar", "time in band", "overshoot", "unsteady"):
        assert reason in joined
    truth = sim.attempt_truth
    assert truth is not None and truth["expected"] == "fail"
    slip = truth["slips"][0]
    assert slip["t_start"] <= s.forbidden[0].first_t <= slip["t_end"]
    assert sim.truth == ()


def test_a_longer_session_repeats_the_attempt_every_34_s_and_cuts_the_last() -> None:
    sim = Simulation(SimulationConfig(duration_s=80.0, scenario="good_student", seed=2))
    assert sim.attempt_truth is not None
    assert sim.attempt_truth["attempts_t"] == [0.0, 34.0, 68.0]  # the last one cut short


@pytest.mark.parametrize("height_cm", [170.0, 200.0])
def test_the_students_score_apart_on_clients_of_170_cm_and_taller(height_cm: float) -> None:
    ex = shipped_exercise("lumbar-heel-hold")
    verdicts = []
    for scenario in ("good_student", "poor_student"):
        sim = Simulation(
            SimulationConfig(duration_s=31.0, scenario=scenario, client_height_cm=height_cm)
        )
        chunks = ((c.times, c.pressure) for c in sim.chunks(100))
        verdicts.append(score_attempt(ex, chunks, sim.labels, ZONES).passed)
    assert verdicts == [True, False]


def test_a_client_too_small_for_a_heel_on_the_lumbar_erector_is_refused_naming_the_height() -> None:
    with pytest.raises(InputError, match="client_height_cm: erector_lumbar_left is too narrow"):
        Simulation(SimulationConfig(duration_s=31.0, scenario="good_student", client_height_cm=150))
