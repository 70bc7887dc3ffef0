"""What the live view shows beyond the engine: contacts, delivery against the plan, alarm book.

Pure computations on frames and alarm notices, used by the live session for its viewers:

- :func:`find_contacts`: the contact regions on a sensor sheet (each foot, heel or forefoot),
  their area, load, pressures and the side of the body they are on;
- :class:`DeliveryMeter`: each planned zone's mean loaded pressure against its target band;
- :class:`AlarmBook`: one alarm group per condition and zone (count, first and last time, state),
  the event log and the markers, kept by the session so that a page reload loses nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ashiguard.domain.alarms import ActiveAlarm, SensorLayout
from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import (
    MARKER_KINDS,
    AlarmGroup,
    AlarmNotice,
    ContactReading,
    LogEntry,
    Marker,
    ZoneDelivery,
    ZoneTarget,
)

__all__ = [
    "CONTACT_KPA",
    "KIND_WORDS",
    "MIN_CONTACT_SENSELS",
    "RECORDING_FAULT_WORDS",
    "TECHNICAL_KINDS",
    "AlarmBook",
    "DeliveryMeter",
    "check_marker",
    "find_contacts",
]

CONTACT_KPA = 2.0
"""A sensel reading above this, kPa, is in contact (below: noise of thin-film sheets)."""

MIN_CONTACT_SENSELS = 4
"""A contact region smaller than this many sensels is noise, not a foot."""

TECHNICAL_KINDS = frozenset({"sensor_fault", "connection_lost"})
"""Alarm kinds about the equipment rather than the client."""

KIND_WORDS: dict[str, str] = {
    "spine_pressure": "Pressure on the spine",
    "kidney_pressure": "Pressure on the kidney area",
    "zone_pressure": "Pressure over the limit",
    "restricted_zone": "Contact where the screening said to avoid",
    "unsupported_weight": "Too much of the therapist's weight on the client",
    "sudden_shift": "Sudden shift of weight",
    "uneven_load": "Uneven load left and right",
    "sensor_fault": "Sensor problem: readings not trusted",
    "dwell_time": "Pressure held too long",
    "zone_dose": "Too much pressure over time",
    "depth_stress": "Deep pressure over the limit",
    "comfort": "Client said too much",
    "connection_lost": "Connection lost",
}
"""Each alarm kind in the clinic's words (the live page, the log, the terminal)."""


RECORDING_FAULT_WORDS: dict[str, str] = {
    "recording:disk_full": "Recording stopped: the disk is full",
    "recording:failed": "Recording stopped: it could not be written",
    "tare:refused": "Not zeroed: the sheet was loaded while zeroing",
}
"""The technical ``sensor_fault`` alarms about the recording (by rule), in the clinic's words:
the live view and the alarms go on, the session is no longer recorded."""


def check_marker(kind: str, text: str) -> str:
    """Validate a marker's kind and text; returns the text stripped (one-line error)."""
    if kind not in MARKER_KINDS:
        raise InputError(f"kind: must be one of {', '.join(MARKER_KINDS)}, got {kind!r}")
    text = str(text).strip()
    if len(text) > 200:
        raise InputError("text: at most 200 characters")
    if kind == "label" and not text:
        raise InputError("text: a label needs its text")
    return text


_STRUCTURE = np.ones((3, 3), dtype=bool)  # 8-connected regions


def find_contacts(
    pressure: npt.ArrayLike, layout: SensorLayout, origin_x_mm: float | None, most: int = 2
) -> tuple[ContactReading, ...]:
    """The ``most`` largest contact regions of one frame (by load), largest first.

    Parameters
    ----------
    pressure : array [rows, cols], kPa
        One frame (NaN: no reading).
    layout : SensorLayout
        The grid (pitch, body-frame x of each column when known).
    origin_x_mm : float or None, mm
        Body-frame x of column 0 (None: no body frame, ``side`` and ``centre_mm`` are None).
    most : int
        How many regions to report.
    """
    frame = np.asarray(pressure)
    if frame.dtype != np.float32:
        frame = frame.astype(np.float64)
    mask = frame > np.float64(CONTACT_KPA)  # NaN (no reading) is never in contact
    in_rows = np.flatnonzero(mask.any(axis=1))
    if not in_rows.size:
        return ()
    # label only the box around the contact (most of a frame is unloaded): the regions,
    # their raster order and every value are those of the whole frame
    in_cols = np.flatnonzero(mask.any(axis=0))
    r0, c0 = int(in_rows[0]), int(in_cols[0])
    box_all = (slice(r0, int(in_rows[-1]) + 1), slice(c0, int(in_cols[-1]) + 1))
    mask = mask[box_all]
    p = frame[box_all].astype(np.float64)
    labels, n = ndimage.label(mask, structure=_STRUCTURE)
    flat_labels = labels.ravel()
    counts = np.bincount(flat_labels, minlength=n + 1)[1:]
    # the sums ``ndimage.sum_labels`` gives (it is this bincount), without its checks
    sums = np.bincount(flat_labels, weights=p.ravel(), minlength=n + 1)[1:]
    keep = [i for i in np.argsort(sums)[::-1] if counts[i] >= MIN_CONTACT_SENSELS][:most]
    if not keep:
        return ()
    boxes = ndimage.find_objects(labels)  # each region's bounding box: work there only
    area_mm2 = layout.sensel_area_mm2
    row_pitch = layout.row_pitch_mm or layout.pitch_mm
    out = []
    for i in keep:
        box = boxes[i]
        assert box is not None  # every label up to n has a region
        region = labels[box] == (i + 1)
        vals = p[box][region]  # row-major, as over the whole frame
        rows, cols = np.nonzero(region)
        rows = rows + (box[0].start + r0)
        cols = cols + (box[1].start + c0)
        weights = vals / vals.sum()
        side: Literal["left", "right"] | None = None
        centre: tuple[float, float] | None = None
        if origin_x_mm is not None and layout.x_mm is not None:
            cx = float(np.dot(weights, layout.x_mm[cols]))
            cy = float(np.dot(weights, rows)) * row_pitch
            centre = (round(cx, 1), round(cy, 1))
            side = "left" if cx > 0 else "right"  # +x is the client's left (contract 1)
        out.append(
            ContactReading(
                side=side,
                area_cm2=round(float(counts[i]) * area_mm2 / 100.0, 1),
                load_n=round(float(sums[i]) * area_mm2 * 1e-3, 1),  # kPa * mm^2 = 1e-3 N
                peak_kpa=round(float(vals.max()), 1),
                mean_kpa=round(float(vals.mean()), 1),
                centre_mm=centre,
            )
        )
    return tuple(out)


class DeliveryMeter:
    """Each target zone's mean loaded pressure now against its band.

    A zone is ``idle`` when fewer than :data:`MIN_CONTACT_SENSELS` of its sensels are in
    contact; otherwise ``under``, ``on`` or ``over`` its band (mean of the loaded sensels).
    """

    def __init__(self, layout: SensorLayout, targets: Sequence[ZoneTarget]) -> None:
        self.targets = tuple(targets)
        self._cells: list[npt.NDArray[np.intp]] = []
        labels = layout.labels
        for tg in self.targets:
            if labels is None or tg.zone not in layout.zone_names:
                self._cells.append(np.zeros(0, dtype=np.intp))
                continue
            zi = layout.zone_names.index(tg.zone)
            self._cells.append(np.flatnonzero(labels.ravel() == zi))

    def measure(self, pressure: npt.ArrayLike) -> tuple[ZoneDelivery, ...]:
        # NaN (no reading) is never above the contact level: it counts as not loaded
        flat = np.asarray(pressure, dtype=np.float64).ravel()
        out = []
        for tg, cells in zip(self.targets, self._cells, strict=True):
            vals = flat[cells]
            loaded = vals[vals > CONTACT_KPA]
            if loaded.size < MIN_CONTACT_SENSELS:
                out.append(ZoneDelivery(tg.zone, 0.0, tg.low_kpa, tg.high_kpa, "idle"))
                continue
            mean = float(loaded.mean())
            state: Literal["idle", "under", "on", "over"] = (
                "under" if mean < tg.low_kpa else "over" if mean > tg.high_kpa else "on"
            )
            out.append(ZoneDelivery(tg.zone, round(mean, 1), tg.low_kpa, tg.high_kpa, state))
        return tuple(out)


@dataclass
class _Group:
    kind: str
    zone: str | None
    priority: str
    count: int = 0
    first_t: float = 0.0
    last_t: float = 0.0
    alarm_id: int | None = None
    value: float | None = None
    limit: float | None = None
    unit: str | None = None
    rule: str | None = None
    source: str | None = None
    depth_mm: float | None = None
    ids: set[int] = field(default_factory=set)


class AlarmBook:
    """One group per alarm condition and zone, the event log and the markers of a session.

    Parameters
    ----------
    log_size : int
        Log lines kept (the oldest go first).
    """

    def __init__(self, log_size: int = 300) -> None:
        self._groups: dict[tuple[str, str | None], _Group] = {}
        self._log: deque[LogEntry] = deque(maxlen=log_size)
        self.markers: list[Marker] = []

    def note(self, notice: AlarmNotice, wall: float, words: str) -> None:
        """Count a notice into its group and log it (``words``: the log line)."""
        if notice.action in ("raised", "signal_lost") and notice.kind is not None:
            key = (notice.kind, notice.zone)
            g = self._groups.get(key)
            if g is None:
                g = _Group(notice.kind, notice.zone, notice.priority or "low")
                g.first_t = notice.t or 0.0
                self._groups[key] = g
            g.count += 1
            g.last_t = notice.t if notice.t is not None else g.last_t
            g.priority = notice.priority or g.priority
            g.alarm_id = notice.alarm_id
            g.value, g.limit, g.unit = notice.value, notice.limit, notice.unit
            g.rule, g.source, g.depth_mm = notice.rule, notice.source, notice.depth_mm
            if notice.alarm_id is not None:
                g.ids.add(notice.alarm_id)
        self._log.append(
            LogEntry(notice.t, wall, words, notice.kind or notice.action, notice.priority)
        )

    def mark(self, marker: Marker, words: str) -> None:
        """Keep a marker and log it; a client's "too much" also counts as a ``comfort`` alarm."""
        self.markers.append(marker)
        if marker.kind == "too_much":
            key = ("comfort", marker.zone)
            g = self._groups.setdefault(
                key, _Group("comfort", marker.zone, "low", first_t=marker.t)
            )
            g.count += 1
            g.last_t = marker.t
            g.value, g.unit = marker.zone_kpa, "kPa" if marker.zone_kpa is not None else None
            g.rule, g.source = "comfort:too_much", f"marked by {marker.who}"
        self._log.append(LogEntry(marker.t, marker.wall, words, marker.kind, None))

    def log_line(self, t: float | None, wall: float, text: str, kind: str) -> None:
        self._log.append(LogEntry(t, wall, text, kind, None))

    def groups(self, active: Iterable[ActiveAlarm]) -> tuple[AlarmGroup, ...]:
        """The groups with their state from the engine's active list (most urgent first)."""
        by_id = {a.alarm_id: a for a in active}
        out = []
        for g in self._groups.values():
            state: Literal["active", "acknowledged", "latched", "cleared"] = "cleared"
            current = g.alarm_id
            for i in sorted(g.ids, reverse=True):
                a = by_id.get(i)
                if a is None:
                    continue
                current = i
                if not a.condition_present:
                    state = "latched" if not a.acknowledged else "cleared"
                else:
                    state = "acknowledged" if a.acknowledged else "active"
                break
            out.append(
                AlarmGroup(
                    kind=g.kind,
                    zone=g.zone,
                    priority=g.priority,
                    count=g.count,
                    first_t=round(g.first_t, 3),
                    last_t=round(g.last_t, 3),
                    state=state,
                    alarm_id=current,
                    value=g.value,
                    limit=g.limit,
                    unit=g.unit,
                    rule=g.rule,
                    source=g.source,
                    technical=g.kind in TECHNICAL_KINDS,
                    depth_mm=g.depth_mm,
                )
            )
        rank = {"active": 0, "latched": 1, "acknowledged": 2, "cleared": 3}
        prio = {"high": 0, "medium": 1, "low": 2}
        out.sort(key=lambda g: (rank[g.state], prio.get(g.priority, 3), -g.last_t))
        return tuple(out)

    def log(self) -> tuple[LogEntry, ...]:
        return tuple(self._log)

    def marker_list(self) -> tuple[Marker, ...]:
        return tuple(replace(m) for m in self.markers)
