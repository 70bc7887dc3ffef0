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
"""

from __future__ import annotations

import json
import threading
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
                found = pylsl.resolve_byprop("name", self.name, 1, self.retry_s)
                if not found:
                    continue
                inlet = pylsl.StreamInlet(found[0])
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
