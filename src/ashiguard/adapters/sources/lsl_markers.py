"""Lab Streaming Layer marker streams: every alarm out, the client's "too much" in.

- :class:`AlarmOutlet` publishes each alarm notice of a live session on the marker stream
  ``ashiguard-alarms`` (type ``Markers``, one string channel, irregular rate): the notice as
  compact JSON (``action``, ``alarm_id``, ``kind``, ``priority``, ``zone``, ``t``, ``value``,
  ``limit``, ``unit``, ``rule``, ``source``) plus ``session_id``, so that other devices (a
  vibrating band, a light) can follow the alarms. Its source id is
  ``ashiguard-alarms-session-N``.
- :class:`MarkerInlet` listens on a marker stream by name (e.g. a hardware button at the head
  of the table publishing ``too_much``) and hands each sample to a callback: a plain kind
  (``too_much``, ``technique_change``) or JSON ``{"kind": ..., "text": ...}``.

Notes
-----
The inlets of a process that are still looking for their stream share one discovery
(:class:`_Discovery`): one LSL query wave of ``WAVE_S`` (1 s) every 2 s for all of them,
instead of one continuous ``resolve_byprop`` each. Every outlet on the network answers every
query, so with one resolver per stream a session host running 16 sessions (16 rooms, each with
its button stream) and 32 alarm outlets on the machine spent about 0.15 of a core on
discovery alone (2026-12-06, `ashiguard bench live`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from ashiguard.adapters.sources.lsl import load_pylsl
from ashiguard.domain.live_messages import AlarmNotice

__all__ = ["ALARM_STREAM", "AlarmOutlet", "MarkerInlet"]

ALARM_STREAM = "ashiguard-alarms"


class AlarmOutlet:
    """The ``ashiguard-alarms`` LSL marker outlet of one live session."""

    def __init__(self, session_id: int, name: str = ALARM_STREAM) -> None:
        pylsl = load_pylsl()
        info = pylsl.StreamInfo(
            name, "Markers", 1, 0.0, pylsl.cf_string, f"{name}-session-{session_id}"
        )
        info.desc().append_child_value("session_id", str(session_id))
        self.session_id = session_id
        self._outlet = pylsl.StreamOutlet(info)
        self.sent = 0

    def push(self, notice: AlarmNotice) -> None:
        """Publish one alarm notice (never raises: an alarm must not stop the session)."""
        try:
            body = {**notice.to_json(), "session_id": self.session_id}
            self._outlet.push_sample([json.dumps(body, separators=(",", ":"))])
            self.sent += 1
        except Exception:  # pragma: no cover - liblsl failing at runtime
            return

    def close(self) -> None:
        del self._outlet


WAVE_S = 1.0
"""How long one shared discovery wave collects the streams that answer, s."""


class _Discovery:
    """The process's one LSL discovery for every marker inlet still looking for its stream.

    While anyone waits, a thread runs a wave (``pylsl.resolve_streams(WAVE_S)``, every stream on
    the network) and pauses ``pause_s`` between waves; each waiter gets the stream of its name
    from the first wave that ends after it asked, or None.
    """

    def __init__(self, pause_s: float = 1.0) -> None:
        self.pause_s = pause_s
        self._cond = threading.Condition()
        self._waiting = 0
        self._round = 0
        self._found: dict[str, Any] = {}
        self._thread: threading.Thread | None = None

    def find(self, name: str, timeout_s: float) -> Any:
        """The StreamInfo of the stream ``name`` (None when no wave found it in time)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._waiting += 1
            try:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="lsl-discovery", daemon=True
                    )
                    self._thread.start()
                asked = self._round
                while self._round == asked:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._cond.wait(left):
                        return None
                return self._found.get(name)
            finally:
                self._waiting -= 1

    def _run(self) -> None:
        pylsl = load_pylsl()
        while True:
            with self._cond:
                if not self._waiting:
                    self._thread = None
                    return
            try:
                infos = pylsl.resolve_streams(WAVE_S)
            except Exception:  # pragma: no cover - liblsl failing at runtime
                infos = []
            with self._cond:
                self._found = {i.name(): i for i in infos}
                self._round += 1
                self._cond.notify_all()
            time.sleep(self.pause_s)


_DISCOVERY = _Discovery()


class MarkerInlet:
    """Hands every sample of the marker stream ``name`` to ``on_marker(kind, text)``.

    The stream is looked for in the background (every ``retry_s``) until it appears, so a
    button switched on mid-session still works. :meth:`close` ends the listener.
    """

    def __init__(
        self, name: str, on_marker: Callable[[str, str], None], retry_s: float = 2.0
    ) -> None:
        self.name = name
        self.on_marker = on_marker
        self.retry_s = retry_s
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lsl-markers-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pylsl = load_pylsl()
        inlet: Any = None
        while not self._stop.is_set():
            if inlet is None:
                info = _DISCOVERY.find(self.name, self.retry_s + WAVE_S)
                if info is None:
                    self._stop.wait(0.2)
                    continue
                inlet = pylsl.StreamInlet(info)
            sample, _ts = inlet.pull_sample(timeout=0.2)
            if sample is None:
                continue
            kind, text = self._parse(str(sample[0]))
            if kind:
                self.received += 1
                self.on_marker(kind, text)

    @staticmethod
    def _parse(raw: str) -> tuple[str, str]:
        raw = raw.strip()
        if raw.startswith("{"):
            try:
                d = json.loads(raw)
            except ValueError:
                return "", ""
            return str(d.get("kind", "")), str(d.get("text", ""))
        return raw, ""

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
