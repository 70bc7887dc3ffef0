"""Set up the "where the load goes" accounting for a mat under the client (``analyze``).

The body is placed on the mat from the recording's stored ``origin_mm`` (a mat registered
before) or else registered on the client-alone frames of the first seconds; the therapist's
load per zone is then the change of each zone's force against that baseline
(:class:`ashiguard.domain.zone_load.ZoneLoad`). Anything that prevents it (no height, a body
that cannot be registered, non-square sensels, pressure not in kPa) makes the section
``not_applicable`` with the reason; nothing is guessed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ashiguard.domain.errors import InputError
from ashiguard.domain.zone_load import ZoneLoad, client_alone_baseline

__all__ = ["BASELINE_WINDOW_S", "MIN_QUALITY", "plan_zone_load"]

BASELINE_WINDOW_S = 10.0
"""The client-alone frames are looked for in the first this many seconds, s."""

MIN_QUALITY = 0.5
"""Registrations below this quality are not used (docs/registration.md)."""


def _off(reason: str) -> tuple[None, dict[str, Any]]:
    return None, {"status": "not_applicable", "reason": reason}


def plan_zone_load(rec: Any) -> tuple[ZoneLoad | None, dict[str, Any]]:
    """A :class:`ZoneLoad` for an open ``under_client`` recording, or None and why not.

    Parameters
    ----------
    rec : RecordingReader
        An open recording (:func:`ashiguard.adapters.recording.open_recording`).

    Returns
    -------
    zone_load : ZoneLoad or None
    info : dict
        ``status`` (``applied`` / ``not_applicable``), ``reason``, and when applied the
        placement source, the registration's quality and reasons, and the baseline frames.
    """
    from ashiguard.domain.registration import register
    from ashiguard.domain.zones import ZONES, Grid, ZoneMap

    meta = rec.meta
    if meta.placement != "under_client" or meta.rows is None or not meta.frames:
        return _off("not a mat under the client")
    if meta.units not in (None, "kPa"):
        return _off(f"pressure in {meta.units} units, not kPa")
    pitch = float(meta.pitch_mm)
    if meta.row_pitch_mm is not None and abs(float(meta.row_pitch_mm) - pitch) > 1e-6:
        return _off("non-square sensels: the zone map is placed on square grids only")
    height = meta.client.get("height_cm")
    if not height:
        return _off("client height_cm missing: the body cannot be registered")
    height_mm = float(height) * 10.0
    times = np.asarray(rec.times(), dtype=np.float64)  # times only: 2.9 MB for an hour
    n = int(np.searchsorted(times, times[0] + BASELINE_WINDOW_S, side="right")) or 1
    head = np.asarray(rec.read(0, n)[1], dtype=np.float32)
    area = pitch * pitch
    baseline, quiet = client_alone_baseline(head, area)
    info: dict[str, Any] = {"status": "applied", "baseline_frames": quiet}
    if meta.origin_mm is not None:
        marks = {k: float(v) for k, v in (meta.client.get("landmarks_mm") or {}).items()}
        zmap = ZoneMap.from_height(height_mm, **marks)
        grid = Grid(int(meta.rows), int(meta.cols), pitch, origin_mm=tuple(meta.origin_mm))
        info["placement"] = "recording origin_mm"
    else:
        try:
            reg = register(baseline, pitch, height_mm)
        except InputError as exc:
            return _off(f"registration failed: {exc}")
        if reg.quality < MIN_QUALITY:
            return _off(
                f"registration quality {reg.quality:.2f} < {MIN_QUALITY}: " + "; ".join(reg.reasons)
            )
        zmap, grid = reg.zone_map(), reg.grid()
        info.update(
            placement="registration",
            registration={
                "head_end": reg.head_end,
                "midline_col": round(reg.midline_col, 3),
                "c7_row": round(reg.c7_row, 3),
                "quality": round(reg.quality, 3),
                "reasons": list(reg.reasons),
                "grid": reg.to_json()["grid"],
            },
        )
    labels = zmap.rasterize(grid).labels
    info["reason"] = (
        "therapist's load transmitted through the body: change of each zone's force against "
        "the client-alone frames (not contact pressure on the back)"
    )
    return ZoneLoad(labels, ZONES, baseline, area), info
