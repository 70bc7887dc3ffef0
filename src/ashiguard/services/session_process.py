"""What a clinic live session is started from: its spec, its checked source, the source opened.

A :class:`SessionSpec` (read once from the clinic record; picklable and JSON) is all a session
host (:mod:`ashiguard.services.session_host`) needs to run the session, on this machine or on
an ``ashiguard worker``; :func:`check_source` validates a clinic source and
:func:`open_live_source` opens it the same way for the CLI and the clinic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ashiguard.domain.errors import InputError

__all__ = [
    "SessionSpec",
    "check_source",
    "open_live_source",
    "source_choices",
]


@dataclass(frozen=True)
class SessionSpec:
    """Everything a session host needs to run a session (read once from the clinic record;
    picklable).

    ``source`` is a checked spec (:func:`check_source`); ``client`` holds ``height_cm`` and
    ``weight_kg``; ``screening`` the stored screening (its restrictions tighten the limits);
    ``speed`` paces simulator and replay sources (1 = real time); ``duration_s`` ends the
    session by itself after that much stream time; ``scale_kpa`` tops the viewers' colour
    scale; ``marker_stream`` names an LSL marker stream whose samples become markers (the
    client's button); ``alarm_outlet`` publishes every alarm on the LSL stream
    ``ashiguard-alarms``; ``tare_first_s`` zeroes the sheet on the first seconds of the
    stream; ``calibration`` is a calibration file (``{"name", "text"}``) for a raw-count
    source (its text travels with the spec: a worker needs no copy of the file).
    """

    session_id: int
    source: str
    therapist_mass_kg: float | None
    client: dict[str, float]
    screening: dict[str, Any] | None
    recording_path: Path
    recordings_dir: Path
    speed: float = 1.0
    duration_s: float | None = None
    sim_options: dict[str, Any] = field(default_factory=dict)
    scale_kpa: float = 100.0
    marker_stream: str | None = None
    alarm_outlet: bool = True
    tare_first_s: float | None = None
    calibration: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "source": self.source,
            "therapist_mass_kg": self.therapist_mass_kg,
            "client": self.client,
            "screening": self.screening,
            "recording_path": str(self.recording_path),
            "recordings_dir": str(self.recordings_dir),
            "speed": self.speed,
            "duration_s": self.duration_s,
            "sim_options": self.sim_options,
            "scale_kpa": self.scale_kpa,
            "marker_stream": self.marker_stream,
            "alarm_outlet": self.alarm_outlet,
            "tare_first_s": self.tare_first_s,
            "calibration": self.calibration,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SessionSpec:
        return cls(
            session_id=int(d["session_id"]),
            source=str(d["source"]),
            therapist_mass_kg=d.get("therapist_mass_kg"),
            client=dict(d.get("client") or {}),
            screening=d.get("screening"),
            recording_path=Path(d["recording_path"]),
            recordings_dir=Path(d["recordings_dir"]),
            speed=float(d.get("speed", 1.0)),
            duration_s=d.get("duration_s"),
            sim_options=dict(d.get("sim_options") or {}),
            scale_kpa=float(d.get("scale_kpa", 100.0)),
            marker_stream=d.get("marker_stream"),
            alarm_outlet=bool(d.get("alarm_outlet", True)),
            tare_first_s=None if d.get("tare_first_s") is None else float(d["tare_first_s"]),
            calibration=dict(d["calibration"]) if d.get("calibration") else None,
        )


def _scenarios() -> dict[str, str]:
    from ashiguard.domain.simulation import SCENARIOS

    return dict(SCENARIOS)


def source_choices(recordings_dir: Path) -> list[tuple[str, str]]:
    """(value, label) of the frame sources a clinic session can use."""
    scenarios = _scenarios()
    order = ["mixed", "baseline"] + [k for k in scenarios if k not in ("mixed", "baseline")]
    out = [(f"sim:{k}", f"Simulator: {scenarios[k]}") for k in order]
    if recordings_dir.is_dir():
        for p in sorted(recordings_dir.glob("*.h5"))[-20:]:
            out.append((f"replay:{p.name}", f"Replay {p.name}"))
    return out


def check_source(spec: str, recordings_dir: Path) -> str:
    """Validate a clinic source: ``sim[:SCENARIO]``, ``replay:FILE`` (a recording in the data
    directory, by name), ``lsl:NAME``; returns it stripped (one-line error otherwise)."""
    spec = spec.strip()
    if spec == "sim" or (spec.startswith("sim:") and spec[4:] in _scenarios()):
        return spec
    if spec.startswith("replay:"):
        name = spec[7:]
        path = recordings_dir / name
        if not name or "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
            raise InputError(f"source: no recording {name!r} in the data directory")
        return spec
    if spec.startswith("lsl:") and 0 < len(spec[4:]) <= 100:
        return spec
    raise InputError(
        f"source: must be sim, sim:SCENARIO, replay:FILE or lsl:NAME, got {spec[:40]!r}"
    )


def open_live_source(
    spec: str,
    *,
    speed: float = 1.0,
    seed: int = 1,
    duration_s: float | None = None,
    therapist_mass_kg: float | None = None,
    client: dict[str, float] | None = None,
    recordings_dir: Path | None = None,
    timeout_s: float | None = None,
    sim_options: dict[str, Any] | None = None,
    tare_first_s: float | None = None,
) -> Any:
    """Open the frame source of a live session, the same way for the CLI and the clinic.

    A simulated session is simulated one second longer than ``duration_s`` (so that a
    recording is never cut short) or for an hour when it has no set length; ``replay:NAME``
    names a recording in ``recordings_dir`` when one is given, else a path. With
    ``tare_first_s`` the simulated therapist waits for the zeroing: the sheet stays unloaded
    for ``tare_first_s + 1`` s (unless ``sim_options`` say ``unloaded_s``).
    """
    from ashiguard.adapters.sources import open_source

    kind, _, arg = spec.partition(":")
    if kind == "sim":
        c = client or {}
        opts: dict[str, Any] = {
            "speed": speed,
            "seed": seed,
            "duration_s": (duration_s + 1.0) if duration_s else 3600.0,
        }
        if therapist_mass_kg:
            opts["therapist_mass_kg"] = float(therapist_mass_kg)
        if c.get("height_cm"):
            opts["client_height_cm"] = float(c["height_cm"])
        if c.get("weight_kg"):
            opts["client_weight_kg"] = float(c["weight_kg"])
        if tare_first_s:
            opts["unloaded_s"] = float(tare_first_s) + 1.0
        opts.update(sim_options or {})
        return open_source(spec if arg else "sim:mixed", **opts)
    if kind == "replay":
        path = recordings_dir / arg if recordings_dir is not None else Path(arg)
        return open_source(f"replay:{path}", speed=speed)
    if kind == "lsl" and timeout_s is not None:
        return open_source(spec, timeout_s=timeout_s)
    return open_source(spec)
