"""Fan-out of one live session's messages to the WebSocket viewers of this process.

Frames are thinned per viewer: a viewer more than ``VIEW_BUFFER`` view frames behind skips
its oldest; alarm messages are queued and never dropped. A newcomer gets the session's
``init`` message and its latest ``status`` (active alarms) first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ashiguard.domain.live_messages import Encoded

__all__ = ["VIEW_BUFFER", "FanOut", "Subscriber", "deliver_batch"]

VIEW_BUFFER = 5  # view frames a client may lag behind (0.25 s) before it skips the oldest


@dataclass
class Subscriber:
    """One WebSocket client: up to ``VIEW_BUFFER`` view frames and every pending alarm message."""

    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    events: deque[Encoded] = field(default_factory=deque)
    views: deque[Encoded] = field(default_factory=deque)
    replaced: int = 0

    def push(self, msg: Encoded, is_view: bool) -> None:
        """Queue ``msg`` (on the subscriber's event loop thread)."""
        if is_view:
            if len(self.views) >= VIEW_BUFFER:  # a client this far behind skips its oldest
                self.views.popleft()
                self.replaced += 1
            self.views.append(msg)
        else:
            self.events.append(msg)
        self.wake.set()

    def push_many(self, msgs: list[tuple[Encoded, bool]]) -> None:
        """Queue several messages (on the subscriber's event loop thread), waking it once."""
        for msg, is_view in msgs:
            if is_view:
                if len(self.views) >= VIEW_BUFFER:
                    self.views.popleft()
                    self.replaced += 1
                self.views.append(msg)
            else:
                self.events.append(msg)
        self.wake.set()

    def offer(self, msg: Encoded, is_view: bool) -> None:
        """Thread-safe: queue ``msg`` for this client."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the client is gone
            self.loop.call_soon_threadsafe(self.push, msg, is_view)

    async def next_batch(self) -> list[Encoded]:
        """Pending alarm messages first, then the pending view frames (oldest first)."""
        await self.wake.wait()
        self.wake.clear()
        out = list(self.events) + list(self.views)
        self.events.clear()
        self.views.clear()
        return out


class FanOut:
    """The subscribers of one session plus what a newcomer needs (init, latest status)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subs: list[Subscriber] = []
        self.init: Encoded | None = None
        self.status: Encoded | None = None
        self.ended: Encoded | None = None

    def remember(self, kind: str, encoded: Encoded) -> None:
        """Keep ``init``, ``ended`` and the latest ``status`` (what a newcomer is given)."""
        with self.lock:
            if kind == "init":
                self.init = encoded
            elif kind == "status":
                self.status = encoded
            elif kind == "ended":
                self.ended = encoded

    def deliver(self, encoded: Encoded, is_view: bool) -> None:
        """Offer an encoded message to every subscriber (any thread)."""
        with self.lock:
            subs = list(self.subs)
        for sub in subs:
            sub.offer(encoded, is_view)

    def add(self, sub: Subscriber) -> None:
        with self.lock:
            self.subs.append(sub)
            for msg in (self.init, self.status, self.ended):
                if msg is not None:
                    sub.push(msg, is_view=False)

    def remove(self, sub: Subscriber) -> bool:
        """Remove ``sub``; True when no subscriber is left."""
        with self.lock:
            if sub in self.subs:
                self.subs.remove(sub)
            return not self.subs

    def active_alarm_ids(self) -> set[int]:
        with self.lock:
            status = self.status
        if status is None:
            return set()
        return {int(a["alarm_id"]) for a in json.loads(status[1]).get("active", [])}


def _push_all(pushes: list[tuple[Subscriber, list[tuple[Encoded, bool]]]]) -> None:
    for sub, msgs in pushes:
        sub.push_many(msgs)


def deliver_batch(items: list[tuple[FanOut, Encoded, bool]]) -> None:
    """Offer many messages of many sessions to their subscribers (any thread), with one wake-up
    of each event loop instead of one per message and subscriber; every ``init``, ``status``
    and ``ended`` is remembered for newcomers first, as :meth:`FanOut.remember`."""
    per_sub: dict[int, tuple[Subscriber, list[tuple[Encoded, bool]]]] = {}
    for fan, encoded, is_view in items:
        if not is_view:
            fan.remember(encoded[0], encoded)
        with fan.lock:
            subs = list(fan.subs)
        for sub in subs:
            entry = per_sub.get(id(sub))
            if entry is None:
                entry = per_sub[id(sub)] = (sub, [])
            entry[1].append((encoded, is_view))
    per_loop: dict[int, tuple[asyncio.AbstractEventLoop, list[Any]]] = {}
    for sub, msgs in per_sub.values():
        entry2 = per_loop.get(id(sub.loop))
        if entry2 is None:
            entry2 = per_loop[id(sub.loop)] = (sub.loop, [])
        entry2[1].append((sub, msgs))
    for loop, pushes in per_loop.values():
        with contextlib.suppress(RuntimeError):  # a closed loop: its clients are gone
            loop.call_soon_threadsafe(_push_all, pushes)
