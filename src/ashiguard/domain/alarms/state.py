"""The alarm state machine: condition delays, raising, clearing, latching, acknowledgement.

Notes
-----
- A condition must hold for its delay (default ``condition_delay_s`` = 0.1 s) before its alarm
  is raised; the episode's ``t_start`` is the first frame over the limit (the onset),
  ``t_raised`` the time the alarm was actually raised.
- High-priority alarms latch: they stay in the active list after the condition ends until
  acknowledged.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ashiguard.domain.alarms.alerts import ActiveAlarm, AlarmEvent, Alert
from ashiguard.domain.alarms.arrays import F64, BoolA
from ashiguard.domain.alarms.conditions import Channel, DiscreteFault

__all__ = ["AlarmStateMachine"]

_FLOAT_EPS = 1e-9


class AlarmStateMachine:
    """Per-channel episodes over time, and the alarms they raise, clear and latch.

    Parameters
    ----------
    channels : sequence of Channel
        The conditions watched.
    on, off : ndarray [channels]
        Raise when a value is over ``on``; clear when it falls below ``off``.
    delays : sequence of float, s
        How long each condition must hold before its alarm is raised.
    first_fault : int
        Index of the first sensor-fault channel.

    Attributes
    ----------
    alerts : list of Alert
        The closed episodes, in the order they closed.
    events : list of AlarmEvent
        Every raise and clear, in order.
    active : dict of int to ActiveAlarm
        Alarms whose condition is present, and latched high-priority ones.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        on: F64,
        off: F64,
        delays: Sequence[float],
        first_fault: int,
    ) -> None:
        self._channels = channels
        self._on = on
        self._off = off
        self._delays = delays
        self._first_fault = first_fault
        nch = len(channels)
        self._hyst = np.zeros(nch, dtype=bool)
        self._run_start = np.full(nch, np.nan)
        self._raised = np.zeros(nch, dtype=bool)
        self._peak = np.full(nch, -np.inf)
        self._value_seen = np.zeros(nch)
        self._t_raised = np.zeros(nch)
        self._alarm_id = np.zeros(nch, dtype=np.int64)
        self._next_id = 1
        self.alerts: list[Alert] = []
        self.events: list[AlarmEvent] = []
        self.active: dict[int, ActiveAlarm] = {}
        self._discrete_fault_until = -math.inf

    def discrete_fault(self, fault: DiscreteFault) -> None:
        """Record a fault of one moment: an episode, raised and cleared at once."""
        t0, t1, rule, value = fault.t0, fault.t1, fault.rule, fault.value
        limit, unit, detail = fault.limit, fault.unit, fault.detail
        self.alerts.append(
            Alert(
                "sensor_fault",
                "medium",
                t0,
                t1,
                None,
                value,
                limit,
                unit,
                rule,
                value,
                t1,
                "default",
                detail,
            )
        )
        aid = self._new_id()
        ev = AlarmEvent(
            "raised", aid, "sensor_fault", "medium", None, t1, value, limit, unit, rule, "default"
        )
        self.events.append(ev)
        self.events.append(replace(ev, action="cleared"))
        self._discrete_fault_until = max(self._discrete_fault_until, t1)

    def raise_standing(
        self, kind: str, priority: str, t: float, rule: str, source: str
    ) -> AlarmEvent:
        """Raise an alarm that no frame clears (a technical one, e.g. the recording stopped):
        it stays in the active list until the session ends; acknowledging silences it."""
        aid = self._new_id()
        self.active[aid] = ActiveAlarm(
            aid, kind, priority, None, t, t, 0.0, 0.0, 0.0, "", rule, source
        )
        ev = AlarmEvent("raised", aid, kind, priority, None, t, 0.0, 0.0, "", rule, source)
        self.events.append(ev)
        return ev

    def clear_standing(self, alarm_id: int, t: float) -> AlarmEvent | None:
        """End a standing alarm whose cause is gone (the sheet zeroed after a refused
        zeroing); None when it is not an active standing alarm."""
        a = self.active.get(alarm_id)
        if a is None or a.rule.split(":")[0] not in ("tare",):
            return None
        del self.active[alarm_id]
        ev = AlarmEvent(
            "cleared", alarm_id, a.kind, a.priority, None, t, 0.0, 0.0, "", a.rule, a.source
        )
        self.events.append(ev)
        return ev

    def run(self, t: F64, v: F64) -> None:
        """Advance every channel over a chunk: frame times ``t [n]``, values ``v [n, channels]``."""
        on, off = self._on, self._off
        n = t.shape[0]
        if n == 1:  # the live path: the same decisions without the accumulations
            v0 = v[0]
            with np.errstate(invalid="ignore"):
                up1 = v0 > on
                decisive1 = up1 | (v0 < off)  # == up | (~(v >= off) & ~isnan(v))
            state1 = np.where(decisive1, up1, self._hyst)
            edges1 = state1 != self._hyst
            busy1 = np.flatnonzero(edges1 | state1 | ~np.isnan(self._run_start))
            for ci in busy1.tolist():
                self._channel_step(ci, t, v[:, ci], state1[ci : ci + 1], edges1[ci : ci + 1])
            self._hyst = state1
            return
        hyst = self._hyst
        with np.errstate(invalid="ignore"):
            up = v > on
            down = ~(v >= off) & ~np.isnan(v)
        # only a channel with a decision against its current state can change within the
        # chunk; every other one keeps its state (most channels, most of the time)
        mix = np.flatnonzero(np.where(hyst, down.any(axis=0), up.any(axis=0)))
        last_state = hyst.copy()
        moving: dict[int, tuple[BoolA, BoolA]] = {}
        if mix.size:
            upm = up[:, mix]
            decisive = upm | down[:, mix]
            idx = np.where(decisive, np.arange(n)[:, None], -1)
            last = np.maximum.accumulate(idx, axis=0)
            cols = np.arange(mix.size)
            state = np.where(last >= 0, upm[np.maximum(last, 0), cols], hyst[mix][None, :])
            prev = np.vstack([hyst[mix][None, :], state[:-1]])
            edges = state != prev
            last_state[mix] = state[-1]
            moving = {int(c): (state[:, j], edges[:, j]) for j, c in enumerate(mix.tolist())}
        open_run = ~np.isnan(self._run_start)
        busy = np.flatnonzero(open_run | hyst | last_state)
        busy = np.union1d(busy, mix)
        no_edge = np.zeros(n, dtype=bool)
        for c in busy.tolist():
            st_edge = moving.get(c)
            if st_edge is None:  # a steady channel: its state all along, no edge
                st_edge = (np.full(n, hyst[c]), no_edge)
            self._channel_step(c, t, v[:, c], *st_edge)
        self._hyst = last_state

    def _channel_step(self, c: int, t: F64, v: F64, st: BoolA, edge: BoolA) -> None:
        n = t.shape[0]
        bounds = [0, *np.flatnonzero(edge).tolist(), n]
        for a, b in itertools.pairwise(bounds):
            if a == b:
                continue
            if not st[a]:
                if edge[a]:
                    self._end_run(c, float(t[a]))
                continue
            if edge[a] or np.isnan(self._run_start[c]):
                self._run_start[c] = t[a]
                self._peak[c] = -np.inf
            if not self._raised[c]:
                due = self._run_start[c] + self._delays[c] - _FLOAT_EPS
                k = a + int(np.searchsorted(t[a:b], due, side="left"))
                if k < b:
                    self._peak[c] = max(self._peak[c], _segmax(v[a : k + 1]))
                    self._raise(c, float(t[k]), float(self._peak[c]), float(self._run_start[c]))
                    a = k + 1
            self._peak[c] = max(self._peak[c], _segmax(v[a:b]))
            if self._raised[c]:
                alarm = self.active.get(int(self._alarm_id[c]))
                if alarm is not None:
                    alarm.peak = float(self._peak[c])

    def _new_id(self) -> int:
        aid = self._next_id
        self._next_id += 1
        return aid

    def _raise(self, c: int, t_raise: float, value: float, t_start: float) -> None:
        ch = self._channels[c]
        self._raised[c] = True
        self._t_raised[c] = t_raise
        self._value_seen[c] = value
        self._peak[c] = value
        aid = self._new_id()
        self._alarm_id[c] = aid
        self.active[aid] = ActiveAlarm(
            aid,
            ch.kind,
            ch.priority,
            ch.zone,
            t_start,
            t_raise,
            value,
            value,
            ch.on,
            ch.unit,
            ch.rule,
            ch.source,
            depth_mm=ch.depth_mm,
        )
        self.events.append(
            AlarmEvent(
                "raised",
                aid,
                ch.kind,
                ch.priority,
                ch.zone,
                t_raise,
                value,
                ch.on,
                ch.unit,
                ch.rule,
                ch.source,
                ch.depth_mm,
            )
        )

    def _end_run(self, c: int, t_end: float) -> None:
        ch = self._channels[c]
        if self._raised[c]:
            aid = int(self._alarm_id[c])
            self.alerts.append(
                Alert(
                    ch.kind,
                    ch.priority,
                    float(self._run_start[c]),
                    t_end,
                    ch.zone,
                    float(self._peak[c]),
                    ch.on,
                    ch.unit,
                    ch.rule,
                    float(self._value_seen[c]),
                    float(self._t_raised[c]),
                    ch.source,
                    depth_mm=ch.depth_mm,
                )
            )
            self.events.append(
                AlarmEvent(
                    "cleared",
                    aid,
                    ch.kind,
                    ch.priority,
                    ch.zone,
                    t_end,
                    float(self._peak[c]),
                    ch.on,
                    ch.unit,
                    ch.rule,
                    ch.source,
                    ch.depth_mm,
                )
            )
            alarm = self.active.get(aid)
            if alarm is not None:
                if ch.priority == "high" and not alarm.acknowledged:
                    alarm.condition_present = False  # latched until acknowledged
                else:
                    del self.active[aid]
        self._raised[c] = False
        self._run_start[c] = np.nan
        self._peak[c] = -np.inf

    def close_open_episodes(self, t_end: float) -> None:
        """End every episode still running at ``t_end``."""
        for c in np.flatnonzero(~np.isnan(self._run_start)):
            self._end_run(int(c), t_end)

    def sorted_alerts(self) -> list[Alert]:
        """The closed episodes so far, ordered by ``t_start``."""
        return sorted(self.alerts, key=lambda a: (a.t_start, a.kind, a.zone or "", a.rule))

    def acknowledge(self, alarm_id: int) -> bool:
        """Acknowledge an alarm: a latched one leaves the list, an active one is marked.

        Returns False when no such alarm is in the active list.
        """
        alarm = self.active.get(alarm_id)
        if alarm is None:
            return False
        if alarm.condition_present:
            alarm.acknowledged = True
        else:
            del self.active[alarm_id]
        return True

    def fault_active(self, now_t: float) -> bool:
        """Whether a sensor fault is active at ``now_t`` (the last frame time)."""
        if self._discrete_fault_until >= now_t:
            return True
        return bool(self._raised[self._first_fault :].any())


def _segmax(x: F64) -> float:
    """Largest non-NaN value (-inf for an empty or all-NaN segment)."""
    return float(np.fmax.reduce(x, initial=-np.inf)) if x.size else -math.inf
