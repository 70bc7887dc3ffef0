"""The ports of the live-session services: what they need from the outside, as protocols.

Adapters implement them (``ashiguard.adapters.broker``: in-process and Redis); the composition
root (:mod:`ashiguard.bootstrap`) picks one of each; tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ashiguard.domain.live_messages import Encoded, LiveMessage, SessionOutcome

__all__ = ["Broker", "OutcomeHandler", "SessionLauncher", "Subscription"]

OutcomeHandler = Callable[[int, SessionOutcome], None]
"""Stores a finished live session's outcome: ``(session id, outcome)``."""


class Subscription(Protocol):
    """One viewer's queue of messages of one live session."""

    async def next_batch(self) -> list[Encoded]:
        """Wait for the next messages: pending alarm messages first, then view frames."""
        ...


class Broker(Protocol):
    """Carries live messages from sessions to viewers (publisher/subscriber).

    A viewer that subscribes late first receives the session's ``init`` message and the latest
    ``status`` (the active alarms), then every message published after it joined. Frames
    (``view=True``) may be skipped for a viewer that falls behind; alarm messages never are.
    """

    def publish(self, session_id: int, msg: LiveMessage, view: bool = False) -> None:
        """Publish ``msg`` of live session ``session_id`` (any thread)."""
        ...

    def publish_batch(self, items: list[tuple[int, Encoded, bool]]) -> None:
        """Publish messages already encoded, ``(session id, (type, JSON), view)`` each, in
        order (a session host's tick: one hand-off, one network round trip)."""
        ...

    def subscribe(self, session_id: int) -> Subscription:
        """A new viewer of ``session_id`` (call on the viewer's event loop)."""
        ...

    def unsubscribe(self, session_id: int, sub: Subscription) -> None:
        """The viewer left."""
        ...

    def active_alarm_ids(self, session_id: int) -> set[int]:
        """Alarm ids in the session's latest active list (empty when unknown)."""
        ...

    def close(self) -> None:
        """Release connections and threads."""
        ...


class SessionLauncher(Protocol):
    """Runs live sessions somewhere: child processes of this one, or workers on a broker."""

    def launch(self, spec: Any, timeout: float = 30.0) -> bool:
        """Start the live session of ``spec`` (a :class:`SessionSpec`); True once it runs."""
        ...

    def command(self, session_id: int, *cmd: Any) -> bool:
        """Send ``("stop",)`` or ``("ack", alarm_id)`` to a running session."""
        ...

    def running(self, session_id: int) -> bool:
        """Whether a session host is running it now."""
        ...

    def running_ids(self) -> list[int]:
        """The sessions this launcher knows to be running."""
        ...

    def wait(self, session_id: int, timeout: float) -> bool:
        """Wait until the session has ended and its outcome is stored; False on timeout."""
        ...

    def close(self) -> None:
        """Stop every session this launcher runs itself and wait for their outcomes."""
        ...
