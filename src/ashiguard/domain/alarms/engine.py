"""The alarm engine: layout, features, conditions and state machine, chunk after chunk.

One code path serves the live monitor (chunks of one frame) and the offline analyzer (chunks
of hundreds of frames): :meth:`AlarmEngine.process` takes a chunk ``[n, rows, cols]`` of
pressure frames (kPa) with their times (s), computes every condition for all frames at once
with array kernels, and runs a small per-channel state machine only at the edges. All state is
carried from chunk to chunk, so the alarms of a recording do not depend on how it is chunked.

Notes
-----
The monitor state is ``unknown`` while any sensor fault is active or before the first frame,
never ``ok``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ashiguard.domain.alarms.alerts import ActiveAlarm, AlarmEvent, Alert, MonitorState
from ashiguard.domain.alarms.arrays import F32, F64, BoolA
from ashiguard.domain.alarms.conditions import Channel, Conditions, check_frame_times
from ashiguard.domain.alarms.config import AlarmConfig
from ashiguard.domain.alarms.features import ChunkFeatures, FeatureExtractor
from ashiguard.domain.alarms.layout import SensorLayout, ZoneGrid
from ashiguard.domain.alarms.state import AlarmStateMachine
from ashiguard.domain.alarms.tissue import DepthTargets
from ashiguard.domain.errors import InputError

__all__ = ["AlarmEngine"]

G = 9.80665  # m/s^2, standard gravity


class AlarmEngine:
    """Run every alarm condition on chunks of frames, carrying state between chunks.

    Parameters
    ----------
    layout : SensorLayout
        The grid and its zone labels; ``None`` when there is no grid (insoles or bars only).
    config : AlarmConfig
        Limits (already tightened by the screening) and alarm behaviour.
    therapist_mass_kg : float, kg
        The therapist's body mass; the load limits are shares of its weight.
    client_mass_kg : float or None, kg
        Subtracted from an ``under_client`` mat's total to get the therapist's load.
    load_source : str or None
        ``mat`` (sum kPa x sensel area), ``mat_minus_client``, ``feet`` (insole forces),
        ``bars`` (weight minus bar forces), or None when no load can be measured.
    symmetry_source : str or None
        ``mat`` (client's left/right halves by body-frame x), ``feet`` or None.
    """

    def __init__(
        self,
        layout: SensorLayout | None,
        config: AlarmConfig,
        therapist_mass_kg: float,
        *,
        client_mass_kg: float | None = None,
        load_source: str | None = "mat",
        symmetry_source: str | None = None,
    ) -> None:
        if not therapist_mass_kg > 0:
            raise InputError(f"therapist_mass_kg: must be positive, got {therapist_mass_kg!r}")
        self.layout = layout
        self.config = config
        self.weight_n = float(therapist_mass_kg) * G
        self.client_weight_n = None if client_mass_kg is None else float(client_mass_kg) * G
        self.load_source = load_source
        self.symmetry_source = symmetry_source
        self._grid = ZoneGrid.of(layout)
        self._depth = DepthTargets.of(layout, self._grid, config)
        self._conditions = Conditions(
            self._grid.zone_names,
            config,
            self.weight_n,
            load_source=load_source,
            symmetry_source=symmetry_source,
            has_grid=layout is not None,
            depth_zones=self._depth.zones,
            depths_mm=self._depth.depths_mm,
            sensel_area_mm2=0.0 if layout is None else layout.sensel_area_mm2,
        )
        self._features = FeatureExtractor(
            layout,
            self._grid,
            config,
            self.weight_n,
            client_weight_n=self.client_weight_n,
            load_source=load_source,
            symmetry_source=symmetry_source,
            zone_threshold=self._conditions.zone_threshold,
            saturation_on=self._conditions.saturation_on,
            depth=self._depth,
        )
        self._alarms = AlarmStateMachine(
            self._conditions.channels,
            self._conditions.on,
            self._conditions.off,
            self._conditions.delays,
            self._conditions.first_fault,
        )
        self._last_t: float | None = None
        self._signal_lost = False

    @property
    def channels(self) -> Sequence[Channel]:
        """The conditions this engine watches (one per zone and kind, load, faults)."""
        return self._conditions.channels

    @property
    def zone_names(self) -> tuple[str, ...]:
        """The zones judged, in the order of the per-zone columns of :class:`ChunkFeatures`
        (empty when the layout has no zones)."""
        return self._grid.zone_names

    @property
    def alerts(self) -> list[Alert]:
        """The closed episodes so far, in the order they closed (see :meth:`sorted_alerts`)."""
        return self._alarms.alerts

    @property
    def events(self) -> list[AlarmEvent]:
        """Every alarm raised and cleared so far, in order."""
        return self._alarms.events

    @property
    def active(self) -> dict[int, ActiveAlarm]:
        """The active list by alarm id: conditions present, and latched high-priority alarms."""
        return self._alarms.active

    @property
    def depth_zones(self) -> tuple[str, ...]:
        """The zones whose ``depth_stress`` is judged, in the order of
        :attr:`ChunkFeatures.depth_kpa`'s columns."""
        return self._depth.zones

    @property
    def depths_mm(self) -> tuple[float, ...]:
        """The depth judged under each of :attr:`depth_zones`, mm."""
        return self._depth.depths_mm

    def zone_dose_kpa_s(self) -> dict[str, float]:
        """The current ``zone_dose`` value of every zone judged, kPa*s."""
        return {
            z: float(d) for z, d in zip(self.zone_names, self._conditions.zone_dose, strict=True)
        }

    @property
    def never_reported(self) -> int:
        """Sensels that have not reported a value since the start (outside the outline)."""
        return self._features.never_reported

    def features(
        self,
        times: F64,
        pressure: F32 | None,
        *,
        bars_n: F64 | None = None,
        feet_n: F64 | None = None,
        exact_all: bool = False,
        contact_counts: bool = False,
    ) -> tuple[ChunkFeatures, F64]:
        """Compute the per-frame measurements and the fault values of a chunk.

        See :meth:`FeatureExtractor.features
        <ashiguard.domain.alarms.features.FeatureExtractor.features>`.
        """
        return self._features.features(
            times,
            pressure,
            bars_n=bars_n,
            feet_n=feet_n,
            exact_all=exact_all,
            contact_counts=contact_counts,
        )

    def exact_zone_peaks(self, frame: npt.ArrayLike) -> F32:
        """The exact 2x2 neighbourhood peak per zone of one frame ``[rows, cols]`` (kPa), in
        :attr:`zone_names` order: what :meth:`process` reports for it with ``exact_all``.

        A live view asks for it on the frames it shows, so the engine need not compute the
        exact peak of every zone in every frame (the alarms do not depend on it).
        """
        return self._features.exact_zone_peaks(np.asarray(frame, dtype=np.float32))

    # ------------------------------------------------------------ processing
    def process(
        self,
        times: npt.ArrayLike,
        pressure: npt.ArrayLike | None = None,
        *,
        bars_n: npt.ArrayLike | None = None,
        feet_n: npt.ArrayLike | None = None,
        exact_all: bool = False,
        contact_counts: bool = False,
    ) -> ChunkFeatures:
        """Feed a chunk of frames; new episodes land in ``alerts``, changes in ``events``.

        Parameters
        ----------
        times : array [n], s
            Frame times; a frame not later than the previous one is a ``sensor_fault``
            (time going backwards) and is dropped.
        pressure : array [n, rows, cols] or None, kPa
            The frames (NaN = sensel not reporting).
        bars_n : array [n, 2] or None, N
            Left and right bar forces at the frame times.
        feet_n : array [n, 2] or None, N
            Left and right insole forces at the frame times.
        exact_all, contact_counts : bool
            See :meth:`features`.
        """
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        keep = self._time_order(t)
        sel = None if keep.all() else keep
        t = t[keep]
        p = _take(pressure, sel, np.float32)
        if p is not None and self.layout is not None:
            p = p.reshape(-1, self.layout.rows, self.layout.cols)
        feats, faults = self.features(
            t,
            p,
            bars_n=_take(bars_n, sel, np.float64),
            feet_n=_take(feet_n, sel, np.float64),
            exact_all=exact_all,
            contact_counts=contact_counts,
        )
        if t.size:
            self._alarms.run(t, self._conditions.values(feats, faults))
            self._last_t = float(t[-1])
        return feats

    def _time_order(self, t: F64) -> BoolA:
        """Frames later than every earlier one; report gaps and backwards time as faults."""
        keep, faults = check_frame_times(t, self._last_t, self.config.max_frame_gap_s)
        for fault in faults:
            self._alarms.discrete_fault(fault)
        return keep

    # ------------------------------------------------------------ live API
    def finish(self, t_end: float | None = None) -> list[Alert]:
        """Close every open episode at ``t_end`` (default: the last frame time).

        Returns all episodes, ordered by ``t_start`` (ties by kind and zone).
        """
        te = self._last_t if t_end is None else t_end
        if te is not None:
            self._alarms.close_open_episodes(float(te))
        return self.sorted_alerts()

    def sorted_alerts(self) -> list[Alert]:
        """The closed episodes so far, ordered by ``t_start``."""
        return self._alarms.sorted_alerts()

    def acknowledge(self, alarm_id: int) -> bool:
        """Acknowledge an alarm: a latched one leaves the list, an active one is marked.

        Returns False when no such alarm is in the active list.
        """
        return self._alarms.acknowledge(alarm_id)

    def raise_standing(
        self, kind: str, priority: str, t: float, rule: str, source: str
    ) -> AlarmEvent:
        """Raise an alarm no frame clears (technical: the recording stopped); it stays active
        until the session ends and can be acknowledged (silenced)."""
        return self._alarms.raise_standing(kind, priority, t, rule, source)

    def clear_standing(self, alarm_id: int, t: float) -> AlarmEvent | None:
        """End a standing alarm whose cause is gone (``tare:`` rules only: a refused zeroing
        once the sheet is zeroed); None when there is no such active alarm."""
        return self._alarms.clear_standing(alarm_id, t)

    def note_silence(self, now_t: float) -> bool:
        """Live watchdog: True (signal lost) when no frame came for ``max_frame_gap_s``.

        ``now_t`` is on the frames' time axis. While the signal is lost the state is unknown.
        """
        self._signal_lost = self._last_t is None or now_t - self._last_t > (
            self.config.max_frame_gap_s
        )
        return self._signal_lost

    def faulty(self) -> bool:
        """Whether the data cannot be trusted right now (a fault active, or no data yet)."""
        if self._last_t is None or self._signal_lost:
            return True
        return self._alarms.fault_active(self._last_t)

    def state(self) -> MonitorState:
        """``alarm`` if a clinical alarm is active or latched, else ``unknown`` while the data
        cannot be trusted, else ``ok``."""
        if any(a.kind != "sensor_fault" for a in self.active.values()):
            return "alarm"
        if self.faulty():
            return "unknown"
        return "ok"


def _take(a: npt.ArrayLike | None, sel: BoolA | None, dtype: type[Any]) -> Any:
    if a is None:
        return None
    arr = np.asarray(a, dtype=dtype)
    return arr if sel is None else arr[sel]
