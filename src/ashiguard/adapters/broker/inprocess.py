"""The embedded broker: live messages fanned out to the viewers of this one process."""

from __future__ import annotations

import asyncio
import threading

from ashiguard.adapters.broker.fanout import FanOut, Subscriber, deliver_batch
from ashiguard.domain.live_messages import Encoded, LiveMessage, encode

__all__ = ["InProcessBroker"]


class InProcessBroker:
    """Publisher/subscriber inside one process (``ashiguard serve`` without ``--broker``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fanouts: dict[int, FanOut] = {}

    def fanout(self, session_id: int) -> FanOut:
        with self._lock:
            return self._fanouts.setdefault(session_id, FanOut())

    def publish(self, session_id: int, msg: LiveMessage, view: bool = False) -> None:
        fan = self.fanout(session_id)
        encoded = encode(msg)  # once, on the publishing thread, not on the event loop
        if not view:
            fan.remember(msg.type, encoded)
        fan.deliver(encoded, view)

    def publish_batch(self, items: list[tuple[int, Encoded, bool]]) -> None:
        """Deliver messages already encoded (a session host's tick): one wake-up per viewer
        event loop for the whole batch."""
        deliver_batch([(self.fanout(sid), enc, view) for sid, enc, view in items])

    def subscribe(self, session_id: int) -> Subscriber:
        sub = Subscriber(asyncio.get_running_loop())
        self.fanout(session_id).add(sub)
        return sub

    def unsubscribe(self, session_id: int, sub: Subscriber) -> None:  # type: ignore[override]
        self.fanout(session_id).remove(sub)

    def active_alarm_ids(self, session_id: int) -> set[int]:
        return self.fanout(session_id).active_alarm_ids()

    def close(self) -> None:
        with self._lock:
            self._fanouts.clear()
