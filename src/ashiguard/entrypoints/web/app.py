"""The FastAPI application: pages, the JSON API, the live WebSocket and static assets."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException

from ashiguard.adapters.db import Database
from ashiguard.domain.errors import Conflict, Forbidden, InputError, NotFound, Refused
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import NotAuthenticated
from ashiguard.entrypoints.web.text_guard import ProperText
from ashiguard.entrypoints.web.upload_limit import UploadLimit
from ashiguard.services.live_sessions import LiveSessions
from ashiguard.settings import Settings

__all__ = [
    "CSP",
    "SecurityHeaders",
    "create_app",
    "validation_message",
]

_HERE = Path(__file__).parent
_UNPARSED_BODY = "There was an error parsing the body"  # FastAPI's 400 for undecodable bytes
# starlette's own words for an unknown page or method, as the clinic's pages say them
_PAGE_WORDS = {
    (404, "Not Found"): "There is no page {path} here.",
    (405, "Method Not Allowed"): "This page cannot be used that way.",
}


def validation_message(exc: RequestValidationError) -> str:
    """One line naming the first bad field, e.g. ``body.name: Field required``."""
    errs = exc.errors()
    if not errs:
        return "invalid request"
    e = errs[0]
    loc = ".".join(str(x) for x in e.get("loc", ()))
    return f"{loc}: {e.get('msg', 'invalid')}"


def _is_api(request: Request) -> bool:
    """Errors answer in JSON for the API and for the pages' own JSON calls (acknowledge,
    markers), as an error page otherwise."""
    if request.url.path.startswith("/api/"):
        return True
    return request.headers.get("content-type", "").startswith("application/json")


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _not_auth(request: Request, exc: NotAuthenticated) -> Response:
        if exc.api or _is_api(request):
            return JSONResponse(
                {"detail": "login required: send 'Authorization: Bearer TOKEN'"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    # starlette's class: FastAPI raises it too (a body it cannot read, an unknown path)
    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if _is_api(request) and exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
            # bytes that are not UTF-8 text: bad input like any other body that is not JSON
            return JSONResponse({"detail": "body: not JSON text (UTF-8)"}, status_code=422)
        if _is_api(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        words = _PAGE_WORDS.get((exc.status_code, exc.detail))
        message = words.format(path=request.url.path) if words else exc.detail
        page = render(
            request,
            "error.html",
            {"status": exc.status_code, "message": message},
            status_code=exc.status_code,
        )
        page.headers.update(exc.headers or {})
        return page

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        msg = validation_message(exc)
        if _is_api(request):
            return JSONResponse({"detail": msg}, status_code=422)
        return render(request, "error.html", {"status": 400, "message": msg}, status_code=400)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return render(request, "error.html", {"status": 400, "message": str(exc)}, status_code=400)

    async def _domain(request: Request, exc: Exception) -> Response:
        # the use cases' errors (ashiguard.domain.errors), mapped once for every route
        status = next(code for kind, code in _DOMAIN_STATUS if isinstance(exc, kind))
        if _is_api(request):
            body: dict[str, Any] = {"detail": str(exc)}
            if isinstance(exc, Refused):
                body["reasons"] = list(exc.reasons)
            return JSONResponse(body, status_code=status)
        return render(
            request, "error.html", {"status": status, "message": str(exc)}, status_code=status
        )

    for kind, _status in _DOMAIN_STATUS:
        app.add_exception_handler(kind, _domain)

    @app.exception_handler(SATimeoutError)
    @app.exception_handler(OperationalError)
    async def _saturated(request: Request, exc: Exception) -> Response:
        # the connection pool stayed empty for its whole timeout, or the database refused a
        # connection or stayed locked past the busy timeout: nothing of this request was
        # stored (its unit of work rolled back); the client may try again shortly
        if isinstance(exc, OperationalError) and not _is_saturation(exc):
            raise exc
        msg = "the clinic database is busy: nothing was stored, try again in a moment"
        headers = {"Retry-After": "1"}
        if _is_api(request):
            return JSONResponse({"detail": msg}, status_code=503, headers=headers)
        page = render(request, "error.html", {"status": 503, "message": msg}, status_code=503)
        page.headers.update(headers)
        return page


def _is_saturation(exc: OperationalError) -> bool:
    """A locked SQLite database or a PostgreSQL server that refuses connections (too many,
    starting, shutting down) or dropped this one (restarted): a passing condition, not a
    fault of the request."""
    if exc.connection_invalidated:  # the server went away (restarted) under this request
        return True
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return any(
        s in text
        for s in (
            "database is locked",
            "too many clients",
            "connection refused",
            "starting up",
            "shutting down",
            "terminating connection",
            "server closed the connection",
            "the connection is closed",
        )
    )


_DOMAIN_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotFound, 404),
    (Refused, 409),
    (Conflict, 409),
    (Forbidden, 403),
)


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""The Content-Security-Policy of every response: only the app's own files, no inline script
or style (no 'unsafe-inline', no eval), no plugins, no <base>, forms post to the app only, and
no page may be framed."""

_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", CSP.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response (HSTS over HTTPS),
    ``no-store`` except static files."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        extra = [*_HEADERS, _HSTS] if scope.get("scheme") == "https" else _HEADERS

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in names]
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secret(settings: Settings) -> str:
    """A random per-clinic secret kept in the data directory (keys research pseudonyms)."""
    path = settings.data_dir / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _training_runs(app: FastAPI, settings: Settings, db: Database) -> Any:
    """The live training attempts of this process, paced like its live sessions."""
    from ashiguard.adapters.db.uow import SqlUnitOfWork
    from ashiguard.services.training_live import TrainingRuns

    return TrainingRuns(
        lambda: SqlUnitOfWork(db),
        settings.recordings_dir,
        speed=lambda: float(app.state.live.speed),
    )


def create_app(settings: Settings, db: Database, live: LiveSessions) -> FastAPI:
    """Build the app over an opened, migrated database and the clinic's live sessions."""
    from ashiguard.entrypoints.web import (
        api,
        api_clearances,
        pages_account,
        pages_admin,
        pages_auth,
        pages_clearances,
        pages_clients,
        pages_consent,
        pages_exports,
        pages_sessions,
        pages_training,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import gc

        # everything built so far (modules, routes, templates) lives as long as the process:
        # out of the collector's generations, a full collection no longer stalls the event
        # loop that relays alarms for ~20 ms
        gc.freeze()
        yield
        app.state.training.close()
        app.state.live.stop_all()

    app = FastAPI(
        lifespan=lifespan,
        title="ashiguard clinic API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.pseudonym_secret = _secret(settings)
    app.state.live = live
    app.state.live.recover()
    app.state.training = _training_runs(app, settings, db)
    _install_handlers(app)
    app.add_middleware(UploadLimit)  # upload routes: the body is capped before it is read
    app.add_middleware(ProperText)  # inside SecurityHeaders: its 422 gets the headers too
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    pages = (
        pages_auth,
        pages_account,
        pages_clients,
        pages_consent,
        pages_clearances,
        pages_sessions,
        pages_exports,
        pages_training,
        pages_admin,
    )
    for module in (*pages, api, api_clearances):
        app.router.routes.extend(module.router.routes)

    return app
