"""What the alarm engine reports: alarm episodes, raise/clear events and the active list.

Kinds, priorities and the ``ashiguard.alerts/1`` fields are those of contract section 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "KINDS",
    "PRIORITIES",
    "ActiveAlarm",
    "AlarmEvent",
    "Alert",
    "MonitorState",
]

KINDS: tuple[str, ...] = (
    "spine_pressure",
    "kidney_pressure",
    "zone_pressure",
    "restricted_zone",
    "unsupported_weight",
    "sudden_shift",
    "uneven_load",
    "sensor_fault",
    "dwell_time",
    "zone_dose",
    "depth_stress",
)
PRIORITIES: tuple[str, ...] = ("high", "medium", "low")
MonitorState = Literal["ok", "alarm", "unknown"]


@dataclass(frozen=True)
class Alert:
    """One alarm episode (contract section 5, ``ashiguard.alerts/1``) with its explanation."""

    kind: str
    priority: str
    t_start: float
    t_end: float
    zone: str | None
    peak: float
    limit: float
    unit: str
    rule: str
    value_seen: float
    t_raised: float
    source: str
    detail: str = ""
    depth_mm: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines object: contract fields first, then the added ones (``depth_mm``
        only on ``depth_stress`` lines)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "priority": self.priority,
            "t_start": round(self.t_start, 4),
            "t_end": round(self.t_end, 4),
            "zone": self.zone,
            "peak": round(self.peak, 3),
            "limit": round(self.limit, 3),
            "unit": self.unit,
            "rule": self.rule,
            "value_seen": round(self.value_seen, 3),
            "t_raised": round(self.t_raised, 4),
            "source": self.source,
            "detail": self.detail,
        }
        if self.depth_mm is not None:
            out["depth_mm"] = self.depth_mm
        return out


@dataclass(frozen=True)
class AlarmEvent:
    """A change the live monitor reports: an alarm ``raised`` or ``cleared``."""

    action: Literal["raised", "cleared"]
    alarm_id: int
    kind: str
    priority: str
    zone: str | None
    t: float
    value: float
    limit: float
    unit: str
    rule: str
    source: str
    depth_mm: float | None = None


@dataclass
class ActiveAlarm:
    """An alarm in the active list (condition present, or high priority and latched)."""

    alarm_id: int
    kind: str
    priority: str
    zone: str | None
    t_start: float
    t_raised: float
    value_seen: float
    peak: float
    limit: float
    unit: str
    rule: str
    source: str
    condition_present: bool = True
    acknowledged: bool = False
    depth_mm: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the live views (``depth_mm`` only on ``depth_stress``)."""
        out: dict[str, Any] = {
            "alarm_id": self.alarm_id,
            "kind": self.kind,
            "priority": self.priority,
            "zone": self.zone,
            "t_start": self.t_start,
            "t_raised": self.t_raised,
            "value_seen": self.value_seen,
            "peak": self.peak,
            "limit": self.limit,
            "unit": self.unit,
            "rule": self.rule,
            "source": self.source,
            "condition_present": self.condition_present,
            "latched": not self.condition_present,
            "acknowledged": self.acknowledged,
        }
        if self.depth_mm is not None:
            out["depth_mm"] = self.depth_mm
        return out
