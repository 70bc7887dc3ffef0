"""Bench part ``screen``: intakes screened per second, JSON decoding and validation included."""

from __future__ import annotations

import json
import random
import time
from datetime import date, timedelta
from typing import Any

from ashiguard.bench import BenchResult
from ashiguard.domain.codes import CONDITION_CODES, MEDICATION_CODES, PROCEDURE_CODES, SYMPTOM_CODES

__all__ = ["GOAL_INTAKES_PER_S", "make_intakes", "run"]

GOAL_INTAKES_PER_S = 5000.0
_DAY = date(2026, 11, 24)
_REPEATS = 3


def _ago(rng: random.Random, max_days: int) -> str:
    return (_DAY - timedelta(days=rng.randrange(0, max_days))).isoformat()


def _intake(rng: random.Random, n: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "ashiguard.intake/1",
        "date": _DAY.isoformat(),
        "client": {
            "id": f"b-{n:05d}",
            "birth_date": _ago(rng, 365 * 80),
            "sex": rng.choice(["female", "male"]),
            "height_cm": rng.uniform(150, 200),
            "weight_kg": rng.uniform(45, 130),
        },
        "vitals": {
            "systolic_mmhg": rng.randrange(100, 190),
            "diastolic_mmhg": rng.randrange(60, 99),
            "temperature_c": round(rng.uniform(36.0, 38.6), 1),
        },
        "conditions": [
            {
                "code": rng.choice(CONDITION_CODES),
                "status": rng.choice(["active", "history", "resolved"]),
                "onset": _ago(rng, 3650),
                "controlled": rng.choice([True, False, None]),
            }
            for _ in range(rng.randrange(0, 4))
        ],
        "procedures": [
            {
                "code": rng.choice(PROCEDURE_CODES),
                "date": _ago(rng, 1500),
                "site": rng.choice(["left", "right", "L4-L5", None]),
            }
            for _ in range(rng.randrange(0, 3))
        ],
        "medications": [{"code": c} for c in rng.sample(MEDICATION_CODES, rng.randrange(0, 3))],
        "pregnancy": {"pregnant": rng.random() < 0.05},
        "symptoms": rng.sample(SYMPTOM_CODES, rng.choice([0, 0, 0, 1, 2])),
    }
    if rng.random() < 0.03:
        doc["conditions"].append({"code": "gout", "status": "active"})
    return doc


def make_intakes(n: int, seed: int = 3) -> list[str]:
    """``n`` varied, valid intakes as JSON lines (fixed seed: the same every run)."""
    rng = random.Random(seed)
    return [json.dumps(_intake(rng, i)) for i in range(n)]


def run(quick: bool) -> list[BenchResult]:
    """Screen 10,000 intakes (1,000 with ``quick``) from JSON text, one thread.

    Notes
    -----
    The value is the rate in CPU time of this single-threaded process (the goal is "on one
    core"), so that other work on a shared machine does not count against it; the wall-clock
    rate of the same runs is printed in the detail.
    """
    from ashiguard.domain.intake import parse_intake
    from ashiguard.domain.screening import default_rules, screen

    n = 1000 if quick else 10000
    lines = make_intakes(n)
    rules = default_rules()
    screen(parse_intake(lines[0]), rules)  # warm up: rules compiled once
    walls, cpus = [], []
    decisions: dict[str, int] = {}
    for _ in range(_REPEATS):
        decisions = {}
        wall, cpu = time.perf_counter(), time.process_time()
        for line in lines:
            d = screen(parse_intake(line), rules).decision.value
            decisions[d] = decisions.get(d, 0) + 1
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    mix = ", ".join(f"{k} {v}" for k, v in sorted(decisions.items()))
    return [
        BenchResult(
            "screen_intakes_per_s",
            n / min(cpus),
            "1/s",
            GOAL_INTAKES_PER_S,
            "higher",
            f"{n} varied intakes from JSON, validation included, one thread; CPU time on one "
            f"core, best of {_REPEATS} runs (wall clock {n / min(walls):.0f}/s on this machine "
            f"now); decisions: {mix}",
        )
    ]
