"""Planned vs delivered per zone for a recording, and its markers with the pressure then.

:func:`session_delivery` makes the session plan from the stored screening and therapist mass
(:func:`ashiguard.domain.plan.make_plan`, with a comfort ceiling if one is given), reads the
recording in chunks and returns the planned-vs-delivered table
(:mod:`ashiguard.domain.delivery`); :func:`recording_markers` reads the recording's
``/annotations`` (``too_much``, ``technique_change``, ``label``) and adds to each the zone
pressure at that moment. The review page, the report and the comfort ceiling use them.

Notes
-----
Delivery needs contact pressure on the client's back in the body frame: an ``on_client``
sheet with ``origin_mm`` and the client's height. Every other recording (a mat under the
client, a grid under the therapist's foot, insoles, bars only) gets "not applicable" and the
reason; so does a session without a screening or a therapist mass (no plan).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ashiguard.domain.delivery import Delivery, measure_delivery, plan_bands, zone_pressures
from ashiguard.domain.plan import ComfortCap, SessionPlan, make_plan
from ashiguard.domain.zone_names import zone_words

__all__ = [
    "MARKER_WORDS",
    "DeliveryReport",
    "MarkerRow",
    "recording_delivery",
    "recording_markers",
    "session_delivery",
    "zone_labels",
]

MARKER_WORDS = {
    "too_much": "Client said too much",
    "technique_change": "Technique change",
    "label": "Mark",
}
"""Each marker kind in the clinic's words."""

_CHUNK = 2048
_CACHE_SIZE = 16
_cache: OrderedDict[tuple[Any, ...], DeliveryReport] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class DeliveryReport:
    """Planned vs delivered of one recording, or why it cannot be said.

    ``status`` is ``applied`` or ``not_applicable`` (``reason`` says why); ``plan`` the plan
    used (None without a screening or therapist mass).
    """

    status: Literal["applied", "not_applicable"]
    reason: str
    delivery: Delivery | None = None
    plan: SessionPlan | None = None

    @property
    def plan_used(self) -> str:
        """The plan in one line: screening date and rules, therapist mass, comfort ceiling."""
        p = self.plan
        if p is None:
            return "no plan"
        text = (
            f"plan from the screening of {p.date.isoformat()} ({p.decision}, rules "
            f"{p.rules_version or 'not given'}), therapist {p.therapist_mass_kg:g} kg"
        )
        if p.comfort is not None:
            limit = p.comfort.kpa if p.comfort.kpa is not None else min(p.comfort.zones.values())
            text += f", client's comfort ceiling {limit:g} kPa"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "plan_used": self.plan_used,
            "plan": None
            if self.plan is None
            else {
                "date": self.plan.date.isoformat(),
                "decision": self.plan.decision,
                "rules_version": self.plan.rules_version,
                "therapist_mass_kg": self.plan.therapist_mass_kg,
                "comfort_ceiling": None
                if self.plan.comfort is None
                else self.plan.comfort.to_json(),
            },
            "delivery": None if self.delivery is None else self.delivery.to_json(),
        }


@dataclass(frozen=True)
class MarkerRow:
    """A marker with the pressure at that moment.

    ``t`` stream time, s; ``zone`` the zone then (the marker's own, the most loaded one);
    ``kpa`` that zone's pressure in the recording's frame at ``t`` (mean of its loaded sensels,
    kPa; None when the frame has no loaded zone or there is no body frame); ``peak_kpa`` the
    peak the live session stored with the marker; ``load_n`` the load on the client then.
    """

    t: float
    kind: str
    text: str
    who: str
    zone: str | None
    kpa: float | None
    peak_kpa: float | None
    load_n: float | None

    @property
    def words(self) -> str:
        """What happened, in the clinic's words."""
        what = MARKER_WORDS.get(self.kind, self.kind.replace("_", " "))
        return f"{what}: {self.text}" if self.text else what

    @property
    def zone_words(self) -> str:
        return zone_words(self.zone) if self.zone else "no zone loaded"

    @property
    def pressure_words(self) -> str:
        """The pressure then, e.g. ``31 kPa (peak 48 kPa), load 402 N``."""
        parts = []
        if self.kpa is not None:
            parts.append(f"{self.kpa:.0f} kPa")
        if self.peak_kpa is not None:
            peak = f"peak {self.peak_kpa:.0f} kPa"
            parts.append(f"({peak})" if parts else peak)
        text = " ".join(parts) or "not measured"
        if self.load_n is not None:
            text += f", load {self.load_n:.0f} N"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "kind": self.kind,
            "text": self.text,
            "who": self.who,
            "zone": self.zone,
            "kpa": None if self.kpa is None else round(self.kpa, 1),
            "peak_kpa": self.peak_kpa,
            "load_n": self.load_n,
        }


def zone_labels(meta: Any) -> tuple[npt.NDArray[np.int16] | None, str]:
    """Zone index of each sensel of a recording (:class:`RecordingMeta`) and a reason, or
    None and why the frames are not contact pressure on the client's back in the body frame."""
    from ashiguard.domain.zones import Grid, ZoneMap

    placement = meta.placement
    if placement is None:
        what = " and ".join(meta.insoles) + " insoles" if meta.insoles else "bar forces"
        return None, f"no pressure grid ({what} only): pressure on the client is not measured"
    if placement == "foot":
        return None, (
            "grid under the therapist's foot: it measures the foot, not the pressure on the "
            "client's zones"
        )
    if placement == "under_client":
        return None, (
            "mat under the client: it measures the client's own weight plus the transmitted "
            "load, not the contact pressure on the back the plan's bands are written in"
        )
    if placement != "on_client":
        return None, f"sensor placement {placement!r}: not on the client's back"
    height = meta.client.get("height_cm")
    if meta.origin_mm is None or not height:
        missing = "origin_mm" if meta.origin_mm is None else "the client's height"
        return None, f"contact sheet without {missing}: zones cannot be placed on it"
    if not meta.rows or not meta.cols or not meta.pitch_mm:
        return None, "no pressure frames"
    marks = {k: float(v) for k, v in (meta.client.get("landmarks_mm") or {}).items()}
    zmap = ZoneMap.from_height(float(height) * 10.0, **marks)
    grid = Grid(int(meta.rows), int(meta.cols), float(meta.pitch_mm), origin_mm=meta.origin_mm)
    return zmap.rasterize(grid).labels, "contact sheet on the client with a zone map"


def recording_delivery(recording_path: str | Path, plan: SessionPlan) -> DeliveryReport:
    """Planned vs delivered of a recording against ``plan`` (one chunked pass)."""
    from ashiguard.adapters.recording import open_recording
    from ashiguard.domain.zones import ZONES

    with open_recording(recording_path) as rec:
        labels, why = zone_labels(rec.meta)
        if labels is None:
            return DeliveryReport("not_applicable", why, None, plan)
        if not rec.meta.frames:
            return DeliveryReport("not_applicable", "the recording has no frames", None, plan)
        delivery = measure_delivery(rec.iter_chunks(_CHUNK), labels, ZONES, plan_bands(plan))
    reason = "planned vs delivered per zone"
    if not plan.barefoot_work:
        reason = f"the plan allows no barefoot work (screening decision {plan.decision})"
    return DeliveryReport("applied", reason, delivery, plan)


def _key(path: Path, *parts: Any) -> tuple[Any, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), st.st_mtime_ns, st.st_size, *parts)


def session_delivery(
    recording_path: str | Path,
    screening: Mapping[str, Any] | None,
    therapist_mass_kg: float | None,
    comfort: ComfortCap | float | None = None,
) -> DeliveryReport:
    """Planned vs delivered of a recording, with the plan made from a stored screening
    (contract section 3 dict) and the therapist's mass, kg (the recording's when None).

    Results are kept for the last few (recording, plan) pairs while the file is unchanged,
    so the review page and its plots do not read an hour-long recording twice.
    """
    from ashiguard.adapters.recording import open_recording
    from ashiguard.domain.screening import parse_screening

    path = Path(recording_path)
    with open_recording(path) as rec:
        if therapist_mass_kg is None:
            therapist_mass_kg = rec.meta.therapist_mass_kg
        labels, why = zone_labels(rec.meta)
        if labels is None:  # the sensor says nothing per zone, plan or not
            return DeliveryReport("not_applicable", why)
    if not screening:
        return DeliveryReport("not_applicable", "no screening: no plan to compare with")
    if not therapist_mass_kg:
        return DeliveryReport("not_applicable", "therapist's mass unknown: no plan")
    cap = comfort.to_json() if isinstance(comfort, ComfortCap) else comfort
    key = _key(path, json.dumps(dict(screening), sort_keys=True, default=str),
               float(therapist_mass_kg), json.dumps(cap, sort_keys=True))  # fmt: skip
    with _cache_lock:
        if key is not None and key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    plan = make_plan(parse_screening(dict(screening)), float(therapist_mass_kg), comfort=comfort)
    result = recording_delivery(path, plan)
    if key is not None:
        with _cache_lock:
            _cache[key] = result
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return result


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def recording_markers(
    recording_path: str | Path | None, stored: Sequence[Mapping[str, Any]] = ()
) -> list[MarkerRow]:
    """The markers of a recording's ``/annotations`` (or ``stored`` marker objects when the
    recording has none or is gone), in time order, each with the zone pressure at its moment.

    The zone is the marker's own when that zone is loaded in the frame at ``t`` (the last frame
    at or before it), else the zone with the highest pressure then.
    """
    from ashiguard.adapters.recording import open_recording
    from ashiguard.domain.zones import ZONES

    notes: list[Mapping[str, Any]] = []
    rows: list[MarkerRow] = []
    if recording_path is not None and Path(recording_path).is_file():
        with open_recording(recording_path) as rec:
            notes = [n for n in rec.annotations() if isinstance(n, Mapping) and "t" in n]
            if not notes:
                notes = list(stored)
            labels, _ = zone_labels(rec.meta)
            times = rec.times() if labels is not None and rec.meta.frames else None
            for n in notes:
                pressures: dict[str, float] = {}
                t = _number(n.get("t"))
                if t is None:
                    continue
                if times is not None and labels is not None and times.size:
                    i = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, times.size - 1))
                    pressures = zone_pressures(rec.read(i, i + 1)[1][0], labels, ZONES)
                rows.append(_marker_row(n, t, pressures))
    else:
        for n in stored:
            t = _number(n.get("t"))
            if t is not None:
                rows.append(_marker_row(n, t, {}))
    return sorted(rows, key=lambda r: r.t)


def _marker_row(n: Mapping[str, Any], t: float, pressures: Mapping[str, float]) -> MarkerRow:
    zone = n.get("zone") if isinstance(n.get("zone"), str) else None
    kpa = None
    if zone in pressures:
        kpa = pressures[str(zone)]
    elif pressures:
        zone, kpa = max(pressures.items(), key=lambda kv: kv[1])
    kind = str(n.get("kind") or "label")
    if kind not in MARKER_WORDS:
        kind = "label"  # a free annotation: shown with its text
    return MarkerRow(
        t=t,
        kind=kind,
        text=str(n.get("text") or ""),
        who=str(n.get("who") or ""),
        zone=zone,
        kpa=kpa,
        peak_kpa=_number(n.get("zone_kpa")),
        load_n=_number(n.get("load_n")),
    )
