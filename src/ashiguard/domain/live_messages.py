"""What a live session tells its viewers: typed messages, serialised once, at the edge.

A live session (:mod:`ashiguard.services.live_session`) publishes these objects to a
:class:`~ashiguard.services.broker.Broker`; the broker's adapter turns each into JSON text once
(:func:`encode`), whether it goes to WebSockets in the same process or into a Redis stream for
other web processes. The ``type`` values (``init``, ``frame``, ``alarm``, ``status``, ``ended``)
are the WebSocket contract (contract section 7).

Vocabulary (docs/TEAM.md): an *alarm* is a condition the engine raised (it has an ``alarm_id``
and a life: raised, acknowledged, cleared); an :class:`AlarmNotice` is one change in an alarm's
life as the monitor reports it; a *live session* is the running pipeline
(source -> alarm engine -> recording -> analysis) of one *treatment session* (the clinic's
record of the visit); a *session process* is the OS process a live session runs in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ashiguard.domain.alarms import ActiveAlarm

__all__ = [
    "AlarmMessage",
    "AlarmNotice",
    "Encoded",
    "EndedMessage",
    "FrameMessage",
    "InitMessage",
    "LiveMessage",
    "SessionOutcome",
    "StatusMessage",
    "ZoneReading",
    "encode",
]

Encoded = tuple[str, str]
"""A message as (type, JSON text): what crosses a process or network boundary."""


@dataclass(frozen=True)
class AlarmNotice:
    """One change in an alarm's life: ``raised``, ``cleared``, ``acknowledged`` or
    ``signal_lost`` (no frame for longer than the limit: the view cannot be trusted)."""

    action: Literal["raised", "cleared", "acknowledged", "signal_lost"]
    alarm_id: int | None = None
    kind: str | None = None
    priority: str | None = None
    zone: str | None = None
    t: float | None = None
    value: float | None = None
    limit: float | None = None
    unit: str | None = None
    rule: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The notice as JSON (``acknowledged`` carries only its alarm id)."""
        if self.action == "acknowledged":
            return {"action": self.action, "alarm_id": self.alarm_id}
        return {k: v for k, v in asdict(self).items() if v is not None or k == "zone"}


@dataclass(frozen=True)
class ZoneReading:
    """The peak pressure on one zone now, kPa, and that zone's limit, kPa."""

    zone: str
    kpa: float
    limit_kpa: float

    def to_json(self) -> dict[str, Any]:
        return {"zone": self.zone, "kpa": self.kpa, "limit_kpa": self.limit_kpa}


@dataclass(frozen=True)
class InitMessage:
    """What a viewer needs before the first frame: grid, body outline and zones, limits."""

    session_id: int
    rows: int
    cols: int
    pitch_mm: float
    origin_mm: tuple[float, float] | None
    placement: str
    rate_hz: float
    view_hz: float
    therapist_weight_n: float
    allowed_share: float
    avoid_zones: tuple[str, ...]
    source: str
    outline: tuple[tuple[float, float], ...] | None = None
    zones: dict[str, list[list[list[float]]]] = field(default_factory=dict)
    type: Literal["init"] = "init"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["origin_mm"] = list(self.origin_mm) if self.origin_mm else None
        d["avoid_zones"] = list(self.avoid_zones)
        d["outline"] = [list(p) for p in self.outline] if self.outline else None
        return d


@dataclass(frozen=True)
class FrameMessage:
    """A view frame: the grid quantised to uint8 (base64, 255 = no reading) with its scale."""

    counter: int
    t: float
    q: str
    scale_kpa: float
    peak_kpa: float
    load_n: float | None
    share: float | None
    allowed_share: float
    state: str
    hottest: tuple[ZoneReading, ...]
    frames_dropped: int
    sent: float
    seq: int = 0
    type: Literal["frame"] = "frame"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["hottest"] = [z.to_json() for z in self.hottest]
        return d


@dataclass(frozen=True)
class AlarmMessage:
    """An alarm notice with the active list after it; ``frame_wall`` is when the frame that
    caused it was due (epoch s, paced sources only), ``sent`` when it was published."""

    event: AlarmNotice
    active: tuple[ActiveAlarm, ...]
    sent: float
    frame_wall: float | None = None
    type: Literal["alarm"] = "alarm"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "event": self.event.to_json(),
            "active": [a.to_json() for a in self.active],
            "sent": self.sent,
            "frame_wall": self.frame_wall,
        }


@dataclass(frozen=True)
class StatusMessage:
    """The active alarms now (what a viewer that joins late is given after ``init``)."""

    active: tuple[ActiveAlarm, ...]
    type: Literal["status"] = "status"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "active": [a.to_json() for a in self.active]}


@dataclass(frozen=True)
class EndedMessage:
    """The live session is over; ``error`` says why if it did not end normally."""

    error: str | None = None
    frames: int | None = None
    type: Literal["ended"] = "ended"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "error": self.error, "frames": self.frames}


LiveMessage = InitMessage | FrameMessage | AlarmMessage | StatusMessage | EndedMessage


@dataclass(frozen=True)
class SessionOutcome:
    """What a finished live session leaves for the clinic record.

    ``alarms`` are the offline analysis' alarm episodes (contract section 5 objects),
    ``summary`` its per-zone summary, ``frames`` the frames recorded (``duration_s`` of stream
    time, s), ``dropped`` the frames the source lost (counter gaps), ``overflowed`` the frames
    this system lost because the live session fell behind its source, ``skipped_late`` the
    reordered frames that could not go into the time-ordered recording, ``error`` the reason
    when the session did not end normally (its recording is kept all the same).
    """

    frames: int = 0
    duration_s: float = 0.0
    alarms: tuple[dict[str, Any], ...] = ()
    summary: dict[str, Any] | None = None
    skipped_late: int = 0
    dropped: int = 0
    overflowed: int = 0
    recording_bytes: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["alarms"] = list(self.alarms)
        return d


def encode(msg: LiveMessage) -> Encoded:
    """``msg`` as (type, compact JSON text): the one place a live message is serialised."""
    return msg.type, json.dumps(msg.to_json(), separators=(",", ":"))
