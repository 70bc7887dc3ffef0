"""Text that is not proper Unicode is refused at the edge, naming the field.

JSON may carry a lone UTF-16 surrogate (``"\\ud800"``): valid JSON, but not text that can be
stored, rendered or encoded as UTF-8 (the database driver would raise an encoding error deep
inside a use case). :class:`ProperText` reads a JSON request body before the app does and
answers 422 ``{"detail": "body.name: ..."}`` when any string in it (keys included) holds a
surrogate; every other request passes untouched. Form bodies and query strings are decoded
from UTF-8 by the framework, which cannot produce a lone surrogate.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["ProperText", "first_improper_text"]

_JSON = b"application/json"


def _improper(s: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in s)


def first_improper_text(value: Any, path: str = "body") -> str | None:
    """The dotted path of the first string (or key) in a parsed JSON value that holds a lone
    surrogate, e.g. ``body.client.name``; None when all text is proper Unicode."""
    if isinstance(value, str):
        return path if _improper(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            if _improper(key):
                return f"{path}.{key.encode('utf-8', 'backslashreplace').decode()}"
            found = first_improper_text(v, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = first_improper_text(v, f"{path}.{i}")
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
            field = first_improper_text(parsed) if parsed is not None else None
            if field is not None:
                await _answer_422(send, f"{field}: text is not proper Unicode (a lone surrogate)")
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
