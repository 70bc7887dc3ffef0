"""Live zeroing: a frame source whose first seconds (nothing on the sensor) become the tare.

``TaredSource(inner, first_s)`` reads the inner source's first ``first_s`` seconds when it is
built (the "zeroing, keep the sensor unloaded" step of a mat system's start), computes each
sensel's offset with :class:`ashiguard.domain.zeroing.LiveTare` and then streams the remaining
frames with the offsets subtracted. The offsets and the window go into ``info.extra``, so a
recording of the stream keeps them as ``/mat`` attrs (``tare_window_s``, ``tare_offsets``,
``tare_units``, ``tare_frames``), like an import with ``--tare-window``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ashiguard.adapters.sources.base import Frame, FrameSource
from ashiguard.domain.errors import InputError
from ashiguard.domain.zeroing import LiveTare, Tare, apply_tare

__all__ = ["TaredSource"]


class TaredSource(FrameSource):
    """``inner`` with its first ``first_s`` seconds taken as the tare (see module).

    Raises
    ------
    InputError
        The window was loaded (a sensel changed by more than ``max_change``), or the stream
        ended before ``first_s`` seconds.
    """

    def __init__(self, inner: FrameSource, first_s: float, *, max_change: float = 20.0) -> None:
        raw = str(inner.info.extra.get("units", "kPa")) == "raw"
        live = LiveTare(first_s, max_change=max_change, max_offset=None if raw else 20.0)
        self._inner = inner
        self._frames = inner.frames()
        tare: Tare | None = None
        first: Frame | None = None
        for frame in self._frames:
            tare = live.add(frame.t, frame.pressure)
            if tare is not None:
                first = frame
                break
        if tare is None or first is None:
            raise InputError(f"--tare-first: the stream ended before {first_s:g} s")
        self.tare = tare
        self._first = first
        extra = {
            **inner.info.extra,
            "tare_window_s": list(tare.window_s),
            "tare_offsets": tare.offsets.tolist(),
            "tare_units": str(inner.info.extra.get("units", "kPa")),
            "tare_frames": tare.frames,
        }
        super().__init__(dataclasses.replace(inner.info, extra=extra))

    def _produce(self) -> Iterator[Frame]:
        yield self._tared(self._first)
        for frame in self._frames:
            yield self._tared(frame)

    def _tared(self, frame: Frame) -> Frame:
        return Frame(
            frame.counter, frame.t, apply_tare(frame.pressure, self.tare.offsets), frame.bars
        )

    def close(self) -> None:
        """Close the inner source."""
        self._inner.close()
