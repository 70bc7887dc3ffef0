"""Request bodies of the upload routes are capped before they are read.

:class:`UploadLimit` (pure ASGI middleware) watches the routes that take a file
(:data:`UPLOAD_PATHS`): a ``Content-Length`` above the cap is refused before a byte of the
body is read, and a body sent without one (chunked) is counted as it streams in and refused
as soon as it passes the cap. Either way reading the body raises :class:`BodyTooLarge`, an
``HTTPException`` (413) that the framework's form parsing lets through and the app's handler
answers as JSON (API) or the error page, before the login check has parsed the form for its
CSRF token and before anything past the cap is written to a temporary file.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException

from ashiguard.adapters.uploads import MAX_UPLOAD_BYTES

__all__ = ["FORM_ALLOWANCE", "UPLOAD_PATHS", "BodyTooLarge", "UploadLimit"]

FORM_ALLOWANCE = 64 * 1024
"""Bytes allowed beyond the file for the form's other fields and the multipart framing."""

UPLOAD_PATHS = re.compile(r"/(api/v1/)?clients/[^/]+/clearances/?")
"""The routes that take an uploaded file (their POSTs are capped)."""


class BodyTooLarge(HTTPException):
    """A request body over the cap of an upload route (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"letter: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB (the request may carry "
            f"at most {limit} bytes)",
        )
        self.limit = limit


class UploadLimit:
    """Pure ASGI middleware: cap the body of POSTs to :data:`UPLOAD_PATHS` at ``limit`` bytes."""

    def __init__(self, app: Any, limit: int = MAX_UPLOAD_BYTES + FORM_ALLOWANCE) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not UPLOAD_PATHS.fullmatch(scope.get("path", ""))
        ):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        limit = self.limit
        seen = 0

        async def capped() -> Any:
            nonlocal seen
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)  # refused before reading anything
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, capped, send)


def _content_length(scope: Any) -> int | None:
    for k, v in scope.get("headers", ()):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None
