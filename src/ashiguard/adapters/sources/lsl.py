"""Lab Streaming Layer: an inlet frame source and an outlet publishing any frame source.

Stream format (``ashiguard.lsl/1``): one float32 sample per frame with ``rows * cols + 4``
channels, the pressure grid row by row (kPa, NaN = sensel not reporting), then the left and
right bar force (N, NaN without bars), then the frame counter as two exact float32 values
(``counter = hi * 65536 + lo``). The sample's LSL timestamp is ``t0 + t`` where ``t0`` is the
outlet's :func:`pylsl.local_clock` at start, written in the description. The XML description
(``<desc>``) holds ``schema``, ``rows``, ``cols``, ``pitch_mm``, ``origin_x_mm``,
``origin_y_mm`` (absent without a body frame), ``placement``, ``therapist_mass_kg``,
``client`` (JSON), ``has_bars``, ``t0``, ``units`` (``kPa``, or ``raw`` for uncalibrated
replays) and ``side`` (foot placement only).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ashiguard.adapters.sources.base import Frame, FrameSource, SourceInfo
from ashiguard.domain.errors import InputError

__all__ = ["LSL_SCHEMA", "LSL_TYPE", "LslSource", "load_pylsl", "serve_lsl", "stream_info_for"]

LSL_SCHEMA = "ashiguard.lsl/1"
LSL_TYPE = "Pressure"
_EXTRA_CHANNELS = 4


_configured = False


def load_pylsl() -> Any:
    """pylsl, with liblsl's console log limited to errors unless LSLAPICFG configures it."""
    global _configured
    try:
        import pylsl
    except (ImportError, RuntimeError) as exc:  # liblsl missing: say so, loudly
        raise RuntimeError(f"Lab Streaming Layer unavailable: {exc}") from exc
    if not _configured:
        _configured = True
        if "LSLAPICFG" not in os.environ:
            pylsl.set_config_content("[log]\nlevel = -2\n")
    return pylsl


def stream_info_for(info: SourceInfo, name: str, t0: float) -> Any:
    """The ``pylsl.StreamInfo`` (with its description) that publishes ``info`` as ``name``."""
    pylsl = load_pylsl()
    n = info.rows * info.cols + _EXTRA_CHANNELS
    si = pylsl.StreamInfo(name, LSL_TYPE, n, info.rate_hz, pylsl.cf_float32, f"ashiguard-{name}")
    d = si.desc()
    values: dict[str, Any] = {
        "schema": LSL_SCHEMA,
        "rows": info.rows,
        "cols": info.cols,
        "pitch_mm": repr(float(info.pitch_mm)),
        "placement": info.placement,
        "has_bars": int(info.has_bars),
        "t0": repr(float(t0)),
        "units": str(info.extra.get("units", "kPa")),
        "client": json.dumps(info.client),
    }
    if info.origin_mm is not None:
        values["origin_x_mm"] = repr(float(info.origin_mm[0]))
        values["origin_y_mm"] = repr(float(info.origin_mm[1]))
    if info.side is not None:
        values["side"] = info.side
    if info.therapist_mass_kg is not None:
        values["therapist_mass_kg"] = repr(float(info.therapist_mass_kg))
    for key, value in values.items():
        d.append_child_value(key, str(value))
    return si


def _sample(frame: Frame, n_grid: int) -> np.ndarray:
    out = np.empty(n_grid + _EXTRA_CHANNELS, dtype=np.float32)
    out[:n_grid] = frame.pressure.reshape(-1)
    out[n_grid : n_grid + 2] = np.nan if frame.bars is None else frame.bars
    hi, lo = divmod(int(frame.counter), 65536)
    out[n_grid + 2] = hi
    out[n_grid + 3] = lo
    return out


def _frame(sample: np.ndarray, t: float, rows: int, cols: int) -> Frame:
    """Decode one ``ashiguard.lsl/1`` sample (inverse of :func:`_sample`)."""
    n_grid = rows * cols
    bars = None if np.isnan(sample[n_grid]) else sample[n_grid : n_grid + 2].copy()
    counter = int(sample[n_grid + 2]) * 65536 + int(sample[n_grid + 3])
    return Frame(counter, t, sample[:n_grid].reshape(rows, cols).copy(), bars)


def serve_lsl(
    source: FrameSource,
    name: str,
    *,
    wait_for_consumer_s: float | None = None,
    stop: threading.Event | None = None,
    linger_s: float = 1.0,
) -> int:
    """Publish every frame of ``source`` on an LSL outlet named ``name``; return the count.

    Parameters
    ----------
    source : FrameSource
        Paced by itself (a replay at ``speed=1`` publishes in real time).
    name : str
        LSL stream name (resolve it with ``lsl:NAME``).
    wait_for_consumer_s : float, optional
        Wait up to this many seconds for an inlet before the first frame (frames pushed
        before any inlet connects are not delivered by LSL).
    stop : threading.Event, optional
        Set it to end publishing early.
    linger_s : float
        After the last frame, keep the outlet open this long (s) while inlets are connected,
        so they receive the tail of the stream before it closes.
    """
    pylsl = load_pylsl()
    if not name:
        raise InputError("lsl: stream name must not be empty")
    t0 = pylsl.local_clock()
    outlet = pylsl.StreamOutlet(stream_info_for(source.info, name, t0), 0, 360)
    try:
        if wait_for_consumer_s is not None and not outlet.wait_for_consumers(wait_for_consumer_s):
            raise InputError(f"lsl:{name}: no consumer connected within {wait_for_consumer_s} s")
        n_grid = source.info.rows * source.info.cols
        count = 0
        for frame in source.frames():
            outlet.push_chunk(_sample(frame, n_grid)[None, :], t0 + frame.t)
            count += 1
            if stop is not None and stop.is_set():
                break
        end = time.monotonic() + linger_s
        while time.monotonic() < end and outlet.have_consumers():
            time.sleep(0.05)
        return count
    finally:
        del outlet


def _desc_values(full: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    child = full.desc().first_child()
    while not child.empty():
        out[child.name()] = child.child_value()
        child = child.next_sibling()
    return out


class LslSource(FrameSource):
    """Frames from an ``ashiguard.lsl/1`` stream resolved by name.

    Parameters
    ----------
    name : str
        LSL stream name.
    timeout_s : float
        How long to look for the stream, s.
    idle_timeout_s : float
        The stream ends when no sample has arrived for this long, s.

    Notes
    -----
    Counters travel inside the samples, so frames LSL loses or reorders show in
    :attr:`stats`. Times are ``LSL timestamp - t0`` of the outlet (clock-synchronised).
    """

    def __init__(self, name: str, timeout_s: float = 5.0, idle_timeout_s: float = 5.0) -> None:
        pylsl = load_pylsl()
        self.stream_name = name
        self.idle_timeout_s = float(idle_timeout_s)
        found = pylsl.resolve_byprop("name", name, 1, float(timeout_s))
        if not found:
            raise InputError(f"lsl:{name}: no stream of that name found within {timeout_s:g} s")
        self._lost = pylsl.util.LostError
        self._timeout = pylsl.util.TimeoutError
        self._inlet = pylsl.StreamInlet(
            found[0], 360, 0, False, pylsl.proc_clocksync, as_numpy=True
        )
        full = self._inlet.info(float(timeout_s))
        desc = _desc_values(full)
        if desc.get("schema") != LSL_SCHEMA:
            raise InputError(
                f"lsl:{name}: not an {LSL_SCHEMA} stream (its description has no schema)"
            )
        try:
            rows, cols = int(desc["rows"]), int(desc["cols"])
            pitch = float(desc["pitch_mm"])
            self._t0 = float(desc["t0"])
            origin = (
                (float(desc["origin_x_mm"]), float(desc["origin_y_mm"]))
                if "origin_x_mm" in desc
                else None
            )
            mass = float(desc["therapist_mass_kg"]) if "therapist_mass_kg" in desc else None
            client = json.loads(desc.get("client", "{}"))
        except (KeyError, ValueError) as exc:
            raise InputError(f"lsl:{name}: bad stream description ({exc})") from None
        if full.channel_count() != rows * cols + _EXTRA_CHANNELS:
            raise InputError(
                f"lsl:{name}: {full.channel_count()} channels, expected "
                f"{rows}*{cols}+{_EXTRA_CHANNELS}"
            )
        rate = full.nominal_srate()
        info = SourceInfo(
            rows=rows,
            cols=cols,
            pitch_mm=pitch,
            origin_mm=origin,
            placement=desc.get("placement", "on_client"),
            rate_hz=rate if rate > 0 and math.isfinite(rate) else 100.0,
            therapist_mass_kg=mass,
            client=client if isinstance(client, dict) else {},
            has_bars=desc.get("has_bars") == "1",
            name=f"lsl:{name}",
            side=desc.get("side"),
            extra={"units": desc.get("units", "kPa")},
        )
        super().__init__(info)

    def _produce(self) -> Iterator[Frame]:
        inlet = self._inlet
        inlet.open_stream(self.idle_timeout_s)
        rows, cols = self.info.rows, self.info.cols
        last = time.monotonic()
        while not self._stop.is_set():
            try:
                data, stamps = inlet.pull_chunk(timeout=0.1, max_samples=256)
            except (self._lost, self._timeout):
                return  # the outlet went away: the stream has ended
            if data is None or len(stamps) == 0:
                if time.monotonic() - last > self.idle_timeout_s:
                    return
                continue
            last = time.monotonic()
            arr = np.asarray(data, dtype=np.float32)
            for i in range(arr.shape[0]):
                yield _frame(arr[i], float(stamps[i]) - self._t0, rows, cols)

    def close(self) -> None:
        """Close the inlet."""
        inlet = getattr(self, "_inlet", None)
        if inlet is not None:
            inlet.close_stream()
