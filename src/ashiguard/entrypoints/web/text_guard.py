"""Text that is not proper Unicode is refused at the edge, naming the field.

JSON may carry a lone UTF-16 surrogate (``"\\ud800"``): valid JSON, but not text that can be
stored, rendered or encoded as UTF-8 (the database driver would raise an encoding error deep
inside a use case). :class:`ProperText` reads a JSON request body before the app does and
answers 422 ``{"detail": "body.name: ..."}`` when any string in it (keys included) holds a
surrogate; every other request passes untouched. Form bodies and query strings are decoded
from UTF-8 by the framework, which cannot produce a lone surrogate.

A NUL character (``"\\u0000"``, ``%00``) is refused the same way, in JSON, query strings
(:func:`proper_query`, a dependency of every route) and forms (:func:`refuse_nul`): PostgreSQL
cannot store it in text and SQLite ends a LIKE pattern at it (a search for ``%00`` matched
every client).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.requests import HTTPConnection

from ashiguard.domain.errors import InputError

__all__ = ["ProperText", "first_improper_text", "proper_query", "refuse_nul"]

_JSON = b"application/json"


def _why(s: str) -> str | None:
    """What makes ``s`` improper text, or None."""
    if "\x00" in s:
        return "text holds a NUL character"
    if any("\ud800" <= c <= "\udfff" for c in s):
        return "text is not proper Unicode (a lone surrogate)"
    return None


def refuse_nul(items: Iterable[tuple[str, Any]], where: str = "") -> None:
    """InputError naming the first field (``where`` + name) whose name or text holds a NUL."""
    for key, value in items:
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            name = key.replace("\x00", "\\x00")
            raise InputError(f"{where}{name}: text holds a NUL character")


def proper_query(conn: HTTPConnection) -> None:
    """Route dependency: a query parameter holding a NUL is bad input (422 API, 400 page)."""
    refuse_nul(conn.query_params.multi_items(), "query.")


def first_improper_text(value: Any, path: str = "body") -> str | None:
    """The dotted path of the first string (or key) in a parsed JSON value that holds a lone
    surrogate or a NUL, e.g. ``body.client.name``; None when all text is proper."""
    found = _first(value, path)
    return found[0] if found else None


def _first(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        why = _why(value)
        return (path, why) if why else None
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            why = _why(key)
            if why:
                shown = key.replace("\x00", "\\x00").encode("utf-8", "backslashreplace")
                return f"{path}.{shown.decode()}", why
            found = _first(v, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _first(v, f"{path}.{i}")
            if found is not None:
                return found
    return None


class ProperText:
    """Pure ASGI middleware: a JSON body whose text is not proper Unicode gets a 422."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # a surrogate comes as a \u escape, or as the bytes Python's json reads with
        # 'surrogatepass' (ED A0..BF ..): parse only bodies that may hold one
        if b"\\u" in body or b"\xed" in body:
            try:
                parsed = json.loads(body)
            except ValueError:  # not JSON: the route answers with its own message
                parsed = None
            found = _first(parsed, "body") if parsed is not None else None
            if found is not None:
                await _answer_422(send, f"{found[0]}: {found[1]}")
                return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _is_json(scope: Any) -> bool:
    for k, v in scope.get("headers", ()):
        if k == b"content-type":
            return bool(v.split(b";")[0].strip().lower() == _JSON)
    return False


def _replay(messages: list[dict[str, Any]], then: Any) -> Any:
    """A ``receive`` that gives the messages already read, then the client's own (which
    waits for its disconnect)."""
    pending = list(messages)

    async def receive() -> Any:
        if pending:
            return pending.pop(0)
        return await then()

    return receive


async def _answer_422(send: Any, detail: str) -> None:
    payload = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
