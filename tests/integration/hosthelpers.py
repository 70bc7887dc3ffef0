"""Shared by the session-host tests: the spec of a simulated session on a host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ashiguard.services.session_process import SessionSpec


def sim_spec(
    tmp_path: Path, sid: int, scenario: str = "baseline", speed: float = 4.0, **kw: Any
) -> SessionSpec:
    """Session ``sid`` on the simulator's ``scenario`` at ``speed``, recorded in ``tmp_path``."""
    return SessionSpec(
        session_id=sid,
        source=f"sim:{scenario}",
        therapist_mass_kg=68.0,
        client={"height_cm": 172.0, "weight_kg": 74.0},
        screening=None,
        recording_path=tmp_path / f"session-{sid}.h5",
        recordings_dir=tmp_path,
        speed=speed,
        alarm_outlet=False,
        **kw,
    )
