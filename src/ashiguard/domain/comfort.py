"""A client's comfort ceiling from the "too much" markers of their recent visits.

When a client says "too much" during a session, the marker records the moment; the zone
pressure then (the mean of the loaded sensels of the zone under the foot, kPa: the quantity
the plan's bands are written in, :mod:`ashiguard.domain.delivery`) is a pressure this client
found too much. :func:`comfort_ceiling` proposes, for the next plan, the lowest such pressure
over the client's last :data:`LAST_VISITS` visits less :data:`MARGIN`; the planner
(:func:`ashiguard.domain.plan.make_plan`) takes it as one more cap on every zone's mean contact
pressure, so it only ever lowers levels and bands, never raises anything beyond the screening.

Notes
-----
Choices (project assumptions, argued in docs/zones-and-mechanics.md):

- Lowest, not a mean: one "too much" is enough to say that pressure is not welcome.
- One ceiling for the whole body, not per zone: pressure-pain sensitivity differs far more
  between people than between sessions of one person (Liew et al. 2021: 70 % of the variance
  of lumbar pressure-pain thresholds between subjects, 1.5 % between sessions; Balaguier,
  Madeleine & Vuillerme 2016, *PLoS One* 11:e0160866: inter-session ICC 0.85-0.99 over 14 low
  back sites), and the zone a marker names is the most loaded one at that moment, a good guess
  but not the client's word. The zone is kept and shown.
- The last 5 visits: recent enough to follow a client whose tolerance changes (a ceiling
  lapses after 5 visits without "too much"), long enough to remember a bad day.
- 10 % margin: the marked pressure was already too much, so the ceiling sits below it, by
  about the between-session variation of pressure-pain measures (Mailloux et al. 2021,
  *PLoS One* 16:e0245278).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ashiguard.domain.errors import InputError
from ashiguard.domain.plan import ComfortCap
from ashiguard.domain.zone_names import zone_words

__all__ = [
    "LAST_VISITS",
    "MARGIN",
    "ComfortCeiling",
    "TooMuch",
    "comfort_ceiling",
]

LAST_VISITS = 5
"""How many of the client's most recent visits (treatment sessions) are looked at."""

MARGIN = 0.10
"""The ceiling is the lowest "too much" zone pressure less this share."""


@dataclass(frozen=True)
class TooMuch:
    """One "too much" marker with the pressure at that moment.

    ``kpa`` is the zone pressure then (mean of the zone's loaded sensels, kPa; from the
    recording), or the stored peak of the most loaded zone when the recording is gone
    (``measured`` False); ``t`` the stream time in the session, s; ``on`` the visit's date.
    """

    on: date
    t: float
    zone: str | None
    kpa: float
    measured: bool = True
    session_id: int | None = None


@dataclass(frozen=True)
class ComfortCeiling:
    """The proposed comfort ceiling and where it came from.

    ``kpa`` the ceiling (mean contact pressure, kPa); ``lowest`` the marker it rests on;
    ``markers`` how many "too much" markers with a pressure the last ``visits`` visits held
    (``looked_at`` visits were looked at, at most :data:`LAST_VISITS`).
    """

    kpa: float
    lowest: TooMuch
    markers: int
    visits: int
    looked_at: int
    margin: float

    @property
    def source(self) -> str:
        """Where it came from, in the clinic's words."""
        n = self.markers
        where = zone_words(self.lowest.zone) if self.lowest.zone else "the most loaded zone"
        what = "" if self.lowest.measured else " (stored peak; recording unavailable)"
        return (
            f"{n} 'too much' marker{'s' if n != 1 else ''} in the last {self.looked_at} "
            f"visit{'s' if self.looked_at != 1 else ''}, lowest at {self.lowest.kpa:.0f} kPa "
            f"on the {where} on {self.lowest.on.isoformat()}{what}; ceiling "
            f"{self.margin:.0%} below it"
        )

    def cap(self) -> ComfortCap:
        """The ceiling as the planner takes it."""
        return ComfortCap(kpa=self.kpa, source=self.source)

    def to_json(self) -> dict[str, Any]:
        return {
            "kpa": round(self.kpa, 1),
            "source": self.source,
            "markers": self.markers,
            "visits": self.visits,
            "looked_at": self.looked_at,
            "margin": self.margin,
            "lowest": {
                "on": self.lowest.on.isoformat(),
                "t": self.lowest.t,
                "zone": self.lowest.zone,
                "kpa": round(self.lowest.kpa, 1),
                "measured": self.lowest.measured,
                "session_id": self.lowest.session_id,
            },
        }


def comfort_ceiling(
    visits: Sequence[Sequence[TooMuch]],
    last_visits: int = LAST_VISITS,
    margin: float = MARGIN,
) -> ComfortCeiling | None:
    """The comfort ceiling of a client, or None when their recent visits hold no "too much".

    Parameters
    ----------
    visits : sequence of sequences of TooMuch
        The "too much" markers of each visit, most recent visit first (a visit without
        markers is an empty sequence: it still counts as a visit).
    last_visits : int
        How many of the most recent visits count.
    margin : float
        Share (0-0.9) taken off the lowest marked pressure.

    Notes
    -----
    Safety: the result is a proposal for the planner, which only lowers caps with it; it can
    never raise a zone's level or pressure beyond what the screening allows.
    """
    if isinstance(last_visits, bool) or not isinstance(last_visits, int) or last_visits < 1:
        raise InputError(f"last_visits: must be an integer >= 1, got {last_visits!r}")
    if not (isinstance(margin, int | float) and math.isfinite(margin) and 0 <= margin <= 0.9):
        raise InputError(f"margin: must be a share between 0 and 0.9, got {margin!r}")
    recent = list(visits)[:last_visits]
    marks = [m for v in recent for m in v if math.isfinite(m.kpa) and m.kpa > 0]
    if not marks:
        return None
    lowest = min(marks, key=lambda m: (m.kpa, -m.on.toordinal()))
    return ComfortCeiling(
        kpa=lowest.kpa * (1.0 - margin),
        lowest=lowest,
        markers=len(marks),
        visits=sum(1 for v in recent if any(m in marks for m in v)),
        looked_at=len(recent),
        margin=float(margin),
    )
