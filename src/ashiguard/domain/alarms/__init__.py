"""Alarms: conditions, priorities, delays, hysteresis, latching and monitor state.

The package re-exports the public names; each module holds one concern:

- :mod:`~ashiguard.domain.alarms.config`: limits and alarm behaviour with their sources, and a
  clinic's limits file;
- :mod:`~ashiguard.domain.alarms.layout`: the sensor grid, its zone labels and sensel groups;
- :mod:`~ashiguard.domain.alarms.features`: per-frame measurements of a chunk;
- :mod:`~ashiguard.domain.alarms.conditions`: the condition channels and their values;
- :mod:`~ashiguard.domain.alarms.state`: the alarm state machine (delays, latching,
  acknowledgement);
- :mod:`~ashiguard.domain.alarms.alerts`: episodes, events and the active list it reports;
- :mod:`~ashiguard.domain.alarms.kernel`: the compiled per-frame passes (numba) behind the
  features, the tissue load and the session summary;
- :mod:`~ashiguard.domain.alarms.engine`: :class:`AlarmEngine`, which ties them together.

Notes
-----
Safety assumptions (see docs/monitor.md for the sources of the limits):

- A zone's pressure is the peak of the 2 x 2 neighbourhood mean over the sensels of that zone
  (a "pure" box: all four sensels in the zone), never one noisy sensel. A zone too narrow for
  a pure box on a coarse grid falls back to its single sensels.
- A condition must hold for ``condition_delay_s`` (default 0.1 s) before an alarm is raised;
  the episode's ``t_start`` is the first frame over the limit (the onset), ``t_raised`` the
  time the alarm was actually raised. An alarm clears when the value falls below
  ``limit * (1 - hysteresis)``, so noise around the limit does not chatter.
- High-priority alarms latch: they stay in the active list after the condition ends until
  acknowledged. The monitor state is ``unknown`` while any sensor fault is active or before
  the first frame, never ``ok``.
"""

from __future__ import annotations

from ashiguard.domain.alarms.alerts import (
    KINDS,
    PRIORITIES,
    ActiveAlarm,
    AlarmEvent,
    Alert,
    MonitorState,
)
from ashiguard.domain.alarms.config import DEFAULT_ZONE_LIMITS_KPA, AlarmConfig, parse_alarm_config
from ashiguard.domain.alarms.engine import AlarmEngine
from ashiguard.domain.alarms.features import ChunkFeatures
from ashiguard.domain.alarms.kernel import zone_summary_pass
from ashiguard.domain.alarms.layout import SensorLayout

__all__ = [
    "DEFAULT_ZONE_LIMITS_KPA",
    "KINDS",
    "PRIORITIES",
    "ActiveAlarm",
    "AlarmConfig",
    "AlarmEngine",
    "AlarmEvent",
    "Alert",
    "ChunkFeatures",
    "MonitorState",
    "SensorLayout",
    "parse_alarm_config",
    "zone_summary_pass",
]
