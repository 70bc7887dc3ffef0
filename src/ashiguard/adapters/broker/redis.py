"""The Redis broker: live sessions on ``ashiguard worker`` processes, viewers on any ``serve``.

Keys (prefix ``ashiguard:``; ``S`` is a treatment session number, ``W`` a worker id):

=============================  =================================================================
``starts``                     stream of start requests; consumer group ``workers``
``session:S:messages``         stream of the session's messages (field ``k`` type, ``d`` JSON,
                               ``v`` 1 for a view frame), capped near ``STREAM_MAXLEN`` entries
``session:S:init``/``status``  the latest ``init`` and ``status`` messages (late viewers)
``session:S:ended``            the ``ended`` message, once there is one
``session:S:commands``         stream of commands to the session (``stop``, ``ack``)
``session:S:spec``             the session's spec (JSON), for whoever ends it if its worker dies
``session:S:owner``            the id of the worker running it (refreshed with its heartbeat)
``session:S:ready``/``done``   set when the session runs / when its outcome is stored
``live``                       set of the sessions workers run
``worker:W``                   the worker's heartbeat (expires ``HEARTBEAT_TTL_S`` after the last)
=============================  =================================================================

Recordings are written by the worker's session hosts, never through Redis: a Redis
restart loses at most messages in flight to viewers, and viewers resume by themselves.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any
from urllib.parse import urlparse

from ashiguard.adapters.broker.fanout import FanOut, Subscriber, deliver_batch
from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import Encoded, LiveMessage, encode

__all__ = [
    "HEARTBEAT_TTL_S",
    "STREAM_MAXLEN",
    "RedisBroker",
    "RedisLauncher",
    "RedisWorkQueue",
]

STREAM_MAXLEN = 2000
HEARTBEAT_TTL_S = 3.0
KEEP_S = 6 * 3600  # how long a finished session's keys stay (late viewers see "ended")
_P = "ashiguard:"


def _k(session_id: int, name: str) -> str:
    return f"{_P}session:{session_id}:{name}"


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _connect(url: str) -> Any:
    import redis

    parts = urlparse(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise InputError(f"--broker: expected redis://HOST:PORT/DB, got {url[:60]!r}")
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=5.0, health_check_interval=10
        )
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise InputError(f"--broker: cannot reach Redis at {url[:60]}: {exc}") from None
    return client


class _Reader(threading.Thread):
    """Reads the message streams of every session watched in this process, one ``XREAD`` for
    all of them (a thread and a round trip per session and message cost a web process about
    half a per cent of a core per session watched)."""

    WAIT_MS = 50  # the longest a newly watched session waits for the read in progress

    def __init__(self, broker: RedisBroker) -> None:
        super().__init__(name="redis-viewers", daemon=True)
        self.broker = broker
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._fans: dict[int, FanOut] = {}
        self._last: dict[int, str | None] = {}  # None: (re)join before reading

    def watch(self, session_id: int, fan: FanOut) -> None:
        with self._lock:
            self._fans[session_id] = fan
            self._last[session_id] = None
        self._wake.set()

    def unwatch(self, session_id: int) -> None:
        with self._lock:
            self._fans.pop(session_id, None)
            self._last.pop(session_id, None)

    def _join(self, r: Any, session_id: int, fan: FanOut) -> str:
        """Where the stream is now; the session's init, status and ended to its viewers."""
        newest = r.xrevrange(_k(session_id, "messages"), count=1)
        for kind in ("init", "status", "ended"):
            text = r.get(_k(session_id, kind))
            if text is not None:
                enc = (kind, _text(text))
                fan.remember(kind, enc)
                fan.deliver(enc, False)
        return _text(newest[0][0]) if newest else "0-0"

    def run(self) -> None:
        import redis

        r = self.broker.client
        while not self.stop.is_set():
            with self._lock:
                fans = dict(self._fans)
                last = dict(self._last)
            if not fans:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                for sid, ident in last.items():
                    if ident is None:
                        last[sid] = self._join(r, sid, fans[sid])
                streams = {_k(sid, "messages"): ident for sid, ident in last.items()}
                got = r.xread(streams, count=500, block=self.WAIT_MS)
            except redis.RedisError:
                with self._lock:  # Redis restarting: viewers keep their socket, we rejoin
                    for sid in self._last:
                        self._last[sid] = None
                self.stop.wait(0.5)
                continue
            batch = []
            for name, entries in got or ():
                sid = int(_text(name).split(":")[2])
                fan = fans[sid]
                for entry_id, fields in entries:
                    last[sid] = _text(entry_id)
                    enc = (_text(fields[b"k"]), _text(fields[b"d"]))
                    batch.append((fan, enc, fields.get(b"v") == b"1"))
            with self._lock:
                for sid, ident in last.items():
                    if sid in self._last and self._fans.get(sid) is fans[sid]:
                        self._last[sid] = ident
            if batch:
                deliver_batch(batch)  # one wake-up of the event loop per read


class RedisBroker:
    """Publisher/subscriber over Redis Streams (``--broker redis://HOST:PORT/DB``)."""

    def __init__(self, client: Any, url: str = "") -> None:
        self.client = client
        self.url = url
        self._lock = threading.Lock()
        self._fans: dict[int, FanOut] = {}
        self._reader: _Reader | None = None
        self.publish_errors = 0

    @classmethod
    def from_url(cls, url: str) -> RedisBroker:
        return cls(_connect(url), url)

    # ------------------------------------------------------------------ publishing
    def publish(self, session_id: int, msg: LiveMessage, view: bool = False) -> None:
        import redis

        kind, text = encode(msg)  # once, for every web process and viewer
        try:
            pipe = self.client.pipeline(transaction=False)
            self._queue(pipe, session_id, kind, text, view)
            pipe.execute()
        except redis.RedisError:
            self.publish_errors += 1  # viewers miss it; the recording does not

    def publish_batch(self, items: list[tuple[int, Encoded, bool]]) -> None:
        """Publish messages already encoded (a session host's tick) in one pipeline: one
        round trip to Redis for the whole batch."""
        import redis

        if not items:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for session_id, (kind, text), view in items:
                self._queue(pipe, session_id, kind, text, view)
            pipe.execute()
        except redis.RedisError:
            self.publish_errors += len(items)  # viewers miss them; the recordings do not

    @staticmethod
    def _queue(pipe: Any, session_id: int, kind: str, text: str, view: bool) -> None:
        fields = {"k": kind, "d": text, "v": "1" if view else "0"}
        pipe.xadd(_k(session_id, "messages"), fields, maxlen=STREAM_MAXLEN, approximate=True)
        if kind == "init":
            pipe.set(_k(session_id, "init"), text, ex=KEEP_S)
        elif kind == "status":
            pipe.set(_k(session_id, "status"), text, ex=KEEP_S)
        elif kind == "ended":
            pipe.set(_k(session_id, "ended"), text, ex=KEEP_S)
            pipe.expire(_k(session_id, "messages"), KEEP_S)

    # ------------------------------------------------------------------ viewers
    def subscribe(self, session_id: int) -> Subscriber:
        sub = Subscriber(asyncio.get_running_loop())
        with self._lock:
            fan = self._fans.get(session_id)
            new = fan is None
            if fan is None:
                fan = self._fans[session_id] = FanOut()
            fan.add(sub)
            if self._reader is None or not self._reader.is_alive():
                self._reader = _Reader(self)
                self._reader.start()
            if new:
                self._reader.watch(session_id, fan)
        return sub

    def unsubscribe(self, session_id: int, sub: Subscriber) -> None:  # type: ignore[override]
        with self._lock:
            fan = self._fans.get(session_id)
            if fan is None or not fan.remove(sub):
                return
            del self._fans[session_id]  # last viewer here: stop reading the stream
            if self._reader is not None:
                self._reader.unwatch(session_id)

    def active_alarm_ids(self, session_id: int) -> set[int]:
        import redis

        try:
            text = self.client.get(_k(session_id, "status"))
        except redis.RedisError:
            return set()
        if text is None:
            return set()
        return {int(a["alarm_id"]) for a in json.loads(_text(text)).get("active", [])}

    def close(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
            self._fans.clear()
        if reader is not None:
            reader.stop.set()
            reader.join(2.0)
        self.client.close()


class RedisWorkQueue:
    """The workers' side of Redis: start requests, commands, heartbeats, ownership."""

    GROUP = "workers"

    def __init__(self, client: Any) -> None:
        self.client = client
        self._group_ready = False

    def _ensure_group(self) -> None:
        import redis

        if self._group_ready:
            return
        try:
            self.client.xgroup_create(f"{_P}starts", self.GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    # --------------------------------------------------------------- web side
    def submit(self, spec: dict[str, Any]) -> None:
        sid = int(spec["session_id"])
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(_k(sid, "ready"), _k(sid, "done"), _k(sid, "ended"))
        pipe.set(_k(sid, "spec"), json.dumps(spec), ex=KEEP_S)
        pipe.xadd(f"{_P}starts", {"spec": json.dumps(spec)}, maxlen=10000, approximate=True)
        pipe.execute()

    def ready_state(self, session_id: int) -> str | None:
        v = self.client.get(_k(session_id, "ready"))
        return None if v is None else _text(v)

    def done(self, session_id: int) -> bool:
        return bool(self.client.exists(_k(session_id, "done")))

    def command(self, session_id: int, cmd: tuple[Any, ...]) -> None:
        self.client.xadd(
            _k(session_id, "commands"), {"c": json.dumps(list(cmd))}, maxlen=200, approximate=True
        )

    def owner(self, session_id: int) -> str | None:
        v = self.client.get(_k(session_id, "owner"))
        return None if v is None else _text(v)

    def worker_alive(self, worker_id: str) -> bool:
        return bool(self.client.exists(f"{_P}worker:{worker_id}"))

    def live_ids(self) -> list[int]:
        return sorted(int(_text(v)) for v in self.client.smembers(f"{_P}live"))

    # --------------------------------------------------------------- worker side
    def claim(self, worker_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The next start request for ``worker_id`` (None after ``timeout_s``)."""
        import redis

        self._ensure_group()
        try:
            got = self.client.xreadgroup(
                self.GROUP, worker_id, {f"{_P}starts": ">"}, count=1, block=int(timeout_s * 1000)
            )
        except redis.RedisError:
            self._group_ready = False  # Redis restarted without its data: make the group again
            raise
        for _name, entries in got or ():
            for entry_id, fields in entries:
                self.client.xack(f"{_P}starts", self.GROUP, entry_id)
                spec: dict[str, Any] = json.loads(_text(fields[b"spec"]))
                return spec
        return None

    def take(self, session_id: int, worker_id: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(_k(session_id, "owner"), worker_id, px=int(HEARTBEAT_TTL_S * 2000))
        pipe.sadd(f"{_P}live", session_id)
        pipe.execute()

    def set_ready(self, session_id: int, state: str = "ok") -> None:
        self.client.set(_k(session_id, "ready"), state, ex=KEEP_S)

    def heartbeat(self, worker_id: str, session_ids: list[int]) -> None:
        """The worker is alive and runs ``session_ids`` (ownership re-stated, so that it
        survives a Redis restart)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.set(f"{_P}worker:{worker_id}", "1", px=int(HEARTBEAT_TTL_S * 1000))
        for sid in session_ids:
            pipe.set(_k(sid, "owner"), worker_id, px=int(HEARTBEAT_TTL_S * 2000))
            pipe.sadd(f"{_P}live", sid)
        pipe.execute()

    def read_commands(
        self, last_ids: dict[int, str], timeout_s: float
    ) -> list[tuple[int, tuple[Any, ...]]]:
        """Commands for the sessions in ``last_ids`` (updated in place)."""
        if not last_ids:
            time.sleep(timeout_s)
            return []
        streams = {_k(sid, "commands"): last for sid, last in last_ids.items()}
        got = self.client.xread(streams, count=100, block=int(timeout_s * 1000))
        out = []
        for name, entries in got or ():
            sid = int(_text(name).split(":")[2])
            for entry_id, fields in entries:
                last_ids[sid] = _text(entry_id)
                out.append((sid, tuple(json.loads(_text(fields[b"c"])))))
        return out

    def newest_command_id(self, session_id: int) -> str:
        newest = self.client.xrevrange(_k(session_id, "commands"), count=1)
        return _text(newest[0][0]) if newest else "0-0"

    def spec(self, session_id: int) -> dict[str, Any] | None:
        v = self.client.get(_k(session_id, "spec"))
        return None if v is None else dict(json.loads(_text(v)))

    def claim_orphan(self, session_id: int, worker_id: str) -> bool:
        """Whether ``worker_id`` may end the orphaned session (one process does)."""
        return bool(self.client.set(_k(session_id, "reaping"), worker_id, nx=True, ex=60))

    def finished(self, session_id: int) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(_k(session_id, "done"), "1", ex=KEEP_S)
        pipe.delete(_k(session_id, "owner"))
        pipe.srem(f"{_P}live", session_id)
        pipe.execute()


class RedisLauncher:
    """Starts live sessions on whichever ``ashiguard worker`` takes them first."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker
        self.queue = RedisWorkQueue(broker.client)

    def launch(self, spec: Any, timeout: float = 30.0) -> bool:
        import redis

        try:
            self.queue.submit(spec.to_json())
        except redis.RedisError as exc:
            raise InputError(f"broker: cannot start the session: {exc}") from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue.ready_state(spec.session_id) is not None:
                return True
            time.sleep(0.05)
        return False

    def command(self, session_id: int, *cmd: Any) -> bool:
        import redis

        try:
            if not self.running(session_id):
                return False
            self.queue.command(session_id, tuple(cmd))
        except redis.RedisError:
            return False
        return True

    def running(self, session_id: int) -> bool:
        import redis

        try:
            owner = self.queue.owner(session_id)
            return owner is not None and self.queue.worker_alive(owner)
        except redis.RedisError:
            return False

    def running_ids(self) -> list[int]:
        import redis

        try:
            return [sid for sid in self.queue.live_ids() if self.running(sid)]
        except redis.RedisError:
            return []

    def wait(self, session_id: int, timeout: float) -> bool:
        import redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.queue.done(session_id):
                    return True
            except redis.RedisError:
                pass
            time.sleep(0.05)
        return False

    def close(self) -> None:
        """Nothing to stop here: the sessions belong to the workers."""
        return None
