"""Live frame sources: replay of a recording, the simulator, Lab Streaming Layer.

``open_source("sim" | "sim:SCENARIO" | "replay:FILE" | "lsl:NAME", **opts)`` builds one; every
source is a :class:`~ashiguard.adapters.sources.base.FrameSource`.
"""

from __future__ import annotations

from typing import Any

from ashiguard.adapters.sources.base import (
    Frame,
    FrameSource,
    Pacer,
    SourceInfo,
    StreamStats,
)
from ashiguard.domain.errors import InputError

__all__ = ["Frame", "FrameSource", "Pacer", "SourceInfo", "StreamStats", "open_source"]

_SPEC_HELP = "sim, sim:SCENARIO, replay:FILE or lsl:NAME"


def open_source(spec: str, **opts: Any) -> FrameSource:
    """Open a frame source from its spec.

    Parameters
    ----------
    spec : str
        ``sim`` (the simulator; ``sim:SCENARIO`` picks a scenario), ``replay:FILE`` (a
        recording) or ``lsl:NAME`` (a Lab Streaming Layer stream of that name).
    **opts : Any
        Passed to the source: ``speed`` (sim, replay), ``loop`` (replay), ``timeout_s`` (lsl),
        simulation fields such as ``duration_s``, ``seed``, ``rate_hz`` (sim).

    Raises
    ------
    InputError
        Unknown spec, missing name/file, or an option the source does not take.
    """
    kind, _, arg = str(spec).partition(":")
    try:
        if kind == "sim":
            from ashiguard.adapters.sources.simulator import SimulatorSource

            if arg:
                opts = {**opts, "scenario": arg}
            return SimulatorSource(**opts)
        if kind == "replay":
            if not arg:
                raise InputError(f"source: {spec!r} needs a file: replay:FILE")
            from ashiguard.adapters.sources.replay import ReplaySource

            return ReplaySource(arg, **opts)
        if kind == "lsl":
            if not arg:
                raise InputError(f"source: {spec!r} needs a stream name: lsl:NAME")
            from ashiguard.adapters.sources.lsl import LslSource

            return LslSource(arg, **opts)
    except TypeError as exc:
        raise InputError(f"source {spec!r}: unsupported option ({exc})") from None
    raise InputError(f"source: {spec!r} is not one of {_SPEC_HELP}")
