"""Laws of the frame counter bookkeeping and of the simulation's chunking."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ashiguard.adapters.sources import Frame, FrameSource, SourceInfo
from ashiguard.domain.simulation import Simulation, SimulationConfig

INFO = SourceInfo(rows=2, cols=2, pitch_mm=10.0, origin_mm=None, placement="other", rate_hz=10)


class Counters(FrameSource):
    def __init__(self, counters: list[int]) -> None:
        super().__init__(INFO)
        self.counters = counters

    def _produce(self) -> Iterator[Frame]:
        for i, c in enumerate(self.counters):
            yield Frame(c, i * 0.1, np.zeros((2, 2)))


@settings(deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=60, unique=True))
def test_dropped_frames_are_the_counters_never_delivered_between_first_and_last(counters):
    src = Counters(counters)
    assert len(list(src.frames())) == len(counters)
    first = counters[0]
    delivered = {c for c in counters if c >= first}
    expected_dropped = (max(counters) - first + 1) - len(delivered)
    assert src.stats.dropped == expected_dropped
    late = sum(1 for i, c in enumerate(counters) if i and c <= max(counters[:i]))
    assert src.stats.reordered == late


@settings(deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=40))
def test_strictly_increasing_counters_drop_exactly_the_gaps(steps):
    counters = list(np.cumsum(steps))
    src = Counters([int(c) for c in counters])
    list(src.frames())
    assert src.stats.dropped == sum(s - 1 for s in steps[1:])
    assert src.stats.reordered == 0


_SIM = Simulation(SimulationConfig(duration_s=8.0, scenario="faults", seed=7))
_REF = np.concatenate([c.pressure for c in _SIM.chunks(800)])


@settings(max_examples=6, deadline=None)
@given(st.integers(7, 400))
def test_simulated_frames_do_not_depend_on_the_chunk_size(chunk):
    got = np.concatenate([c.pressure for c in _SIM.chunks(chunk)])
    assert np.array_equal(got, _REF, equal_nan=True)
