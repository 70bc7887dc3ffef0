"""What a live session tells its viewers: typed messages, serialised once, at the edge.

A live session (:mod:`ashiguard.services.live_session`) publishes these objects to a
:class:`~ashiguard.services.broker.Broker`; the broker's adapter turns each into JSON text once
(:func:`encode`), whether it goes to WebSockets in the same process or into a Redis stream for
other web processes. The ``type`` values (``init``, ``frame``, ``alarm``, ``status``, ``ended``)
are the WebSocket contract (contract section 7); ``marker`` is added.

Vocabulary (docs/TEAM.md): an *alarm* is a condition the engine raised (it has an ``alarm_id``
and a life: raised, acknowledged, cleared); an :class:`AlarmNotice` is one change in an alarm's
life as the monitor reports it; a *live session* is the running pipeline
(source -> alarm engine -> recording -> analysis) of one *treatment session* (the clinic's
record of the visit); a *session host* is the OS process a live session runs in (with others,
on one tick).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ashiguard.domain.alarms import ActiveAlarm

__all__ = [
    "MARKER_KINDS",
    "AlarmGroup",
    "AlarmMessage",
    "AlarmNotice",
    "ContactReading",
    "Encoded",
    "EndedMessage",
    "FrameMessage",
    "InitMessage",
    "LiveMessage",
    "LogEntry",
    "Marker",
    "MarkerMessage",
    "SessionOutcome",
    "StatusMessage",
    "ZoneDelivery",
    "ZoneReading",
    "ZoneTarget",
    "encode",
]

MARKER_KINDS = ("too_much", "technique_change", "label")
"""``too_much``: the client said the pressure is too much; ``technique_change`` and ``label``:
marked by the therapist (``label`` carries free text)."""

Encoded = tuple[str, str]
"""A message as (type, JSON text): what crosses a process or network boundary."""


def _plain(obj: Any) -> dict[str, Any]:
    """The fields of a dataclass of plain values, in field order (what ``asdict`` gives for
    it, without its recursive deep copy: 10-20 times cheaper, and views are encoded at 20 Hz
    per session)."""
    return dict(obj.__dict__)


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
    depth_mm: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The notice as JSON (``acknowledged`` carries only its alarm id; ``depth_mm`` only
        a ``depth_stress`` notice)."""
        if self.action == "acknowledged":
            return {"action": self.action, "alarm_id": self.alarm_id}
        return {k: v for k, v in self.__dict__.items() if v is not None or k == "zone"}


@dataclass(frozen=True)
class ZoneReading:
    """The peak pressure on one zone now, kPa, and that zone's limit, kPa."""

    zone: str
    kpa: float
    limit_kpa: float

    def to_json(self) -> dict[str, Any]:
        return {"zone": self.zone, "kpa": self.kpa, "limit_kpa": self.limit_kpa}


@dataclass(frozen=True)
class ZoneTarget:
    """The planned pressure band of one zone: mean contact pressure ``low_kpa`` to
    ``high_kpa`` (level 0-5 of the session plan, with its technique)."""

    zone: str
    level: int
    technique: str
    low_kpa: float
    high_kpa: float

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class ZoneDelivery:
    """One zone now against its target band: ``under``, ``on`` or ``over`` (``idle``: not
    loaded). ``mean_kpa`` is the mean pressure of the loaded sensels of the zone."""

    zone: str
    mean_kpa: float
    low_kpa: float
    high_kpa: float
    state: Literal["idle", "under", "on", "over"]

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class ContactReading:
    """One contact region on the sensor now (a foot, a heel, a forefoot).

    ``side`` is the side of the client's body its centre lies on (``left``, ``right``; None
    without a body frame); ``area_cm2`` the loaded area, ``load_n`` the force it carries,
    ``peak_kpa`` and ``mean_kpa`` its pressures, ``centre_mm`` its centre in the body frame.
    """

    side: Literal["left", "right"] | None
    area_cm2: float
    load_n: float
    peak_kpa: float
    mean_kpa: float
    centre_mm: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        d = _plain(self)
        d["centre_mm"] = list(self.centre_mm) if self.centre_mm else None
        return d


@dataclass(frozen=True)
class AlarmGroup:
    """One alarm per condition and zone: every episode of ``kind`` on ``zone`` counted.

    ``state`` is ``active`` (condition present, not acknowledged), ``acknowledged``
    (condition present, acknowledged: silenced), ``latched`` (high priority, condition over,
    waiting for acknowledgement) or ``cleared``; ``alarm_id`` is the current (or last)
    episode's id (acknowledge that); ``first_t``/``last_t`` the stream times of the first and
    the latest episode; ``value``/``limit``/``unit``/``rule``/``source`` those of the latest.
    ``technical`` marks sensor and connection alarms.
    """

    kind: str
    zone: str | None
    priority: str
    count: int
    first_t: float
    last_t: float
    state: Literal["active", "acknowledged", "latched", "cleared"]
    alarm_id: int | None
    value: float | None
    limit: float | None
    unit: str | None
    rule: str | None
    source: str | None
    technical: bool = False
    depth_mm: float | None = None

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class LogEntry:
    """One line of a live session's event log (kept by the session, so a reload keeps it)."""

    t: float | None
    wall: float
    text: str
    kind: str
    priority: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class Marker:
    """A moment marked during a session, with the pressure at that moment.

    ``t`` is the stream time, s; ``who`` the user (or ``client``, ``lsl``, ``terminal``);
    ``zone``/``zone_kpa`` the most loaded zone then and its peak, kPa; ``load_n`` the load on
    the client then, N. Stored in the recording's ``/annotations`` (contract section 4).
    """

    t: float
    kind: Literal["too_much", "technique_change", "label"]
    text: str
    who: str
    wall: float
    zone: str | None = None
    zone_kpa: float | None = None
    load_n: float | None = None

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class InitMessage:
    """What a viewer needs before the first frame: grid, body outline and zones, limits.

    ``scale_kpa`` is the fixed top of the colour scale; ``targets`` the planned band of each
    zone; ``zone_words`` and ``kind_words`` name zones and alarm kinds in the clinic's words
    (the page shows these, never slugs).
    """

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
    scale_kpa: float = 100.0
    recording: bool = False
    started_wall: float = 0.0
    targets: tuple[ZoneTarget, ...] = ()
    zone_words: dict[str, str] = field(default_factory=dict)
    kind_words: dict[str, str] = field(default_factory=dict)
    type: Literal["init"] = "init"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["origin_mm"] = list(self.origin_mm) if self.origin_mm else None
        d["avoid_zones"] = list(self.avoid_zones)
        d["outline"] = [list(p) for p in self.outline] if self.outline else None
        d["targets"] = [z.to_json() for z in self.targets]
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
    contacts: tuple[ContactReading, ...] = ()
    delivery: tuple[ZoneDelivery, ...] = ()
    type: Literal["frame"] = "frame"

    def to_json(self) -> dict[str, Any]:
        d = _plain(self)
        d["hottest"] = [z.to_json() for z in self.hottest]
        d["contacts"] = [c.to_json() for c in self.contacts]
        d["delivery"] = [z.to_json() for z in self.delivery]
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
    """The session's alarm state now: the engine's active list, one :class:`AlarmGroup` per
    condition and zone (cleared ones too, so a fleeting alarm stays visible), the event log
    and the markers; ``tare`` the zeroing now (``LiveZeroing.state()``: state ``zeroing``,
    ``zeroed`` or ``not_zeroed``, the tare in use, the latest refusal, the calibration; None
    for a session that neither zeroes nor calibrates). A viewer that joins late (or reloads
    the page) gets it after ``init``."""

    active: tuple[ActiveAlarm, ...]
    groups: tuple[AlarmGroup, ...] = ()
    log: tuple[LogEntry, ...] = ()
    markers: tuple[Marker, ...] = ()
    tare: dict[str, Any] | None = None
    type: Literal["status"] = "status"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "active": [a.to_json() for a in self.active],
            "groups": [g.to_json() for g in self.groups],
            "log": [e.to_json() for e in self.log],
            "markers": [m.to_json() for m in self.markers],
            "tare": self.tare,
        }


@dataclass(frozen=True)
class MarkerMessage:
    """A marker was set (the client's "too much", a technique change, a label)."""

    marker: Marker
    type: Literal["marker"] = "marker"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "marker": self.marker.to_json()}


@dataclass(frozen=True)
class EndedMessage:
    """The live session is over; ``error`` says why if it did not end normally."""

    error: str | None = None
    frames: int | None = None
    type: Literal["ended"] = "ended"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "error": self.error, "frames": self.frames}


LiveMessage = (
    InitMessage | FrameMessage | AlarmMessage | StatusMessage | MarkerMessage | EndedMessage
)


@dataclass(frozen=True)
class SessionOutcome:
    """What a finished live session leaves for the clinic record.

    ``alarms`` are the offline analysis' alarm episodes (contract section 5 objects),
    ``summary`` its per-zone summary, ``frames`` the frames recorded (``duration_s`` of stream
    time, s), ``dropped`` the frames the source lost (counter gaps), ``overflowed`` the frames
    this system lost because the live session fell behind its source, ``skipped_late`` the
    reordered frames that could not go into the time-ordered recording, ``error`` the reason
    when the session did not end normally (its recording is kept all the same), ``tare`` its
    zeroings (``events``: ``TareEvent.to_json()`` each) and ``calibration`` (None: neither).
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
    markers: tuple[Marker, ...] = ()
    tare: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["alarms"] = list(self.alarms)
        d["markers"] = [m.to_json() for m in self.markers]
        return d


def encode(msg: LiveMessage) -> Encoded:
    """``msg`` as (type, compact JSON text): the one place a live message is serialised."""
    return msg.type, json.dumps(msg.to_json(), separators=(",", ":"))
