"""Login, logout, /healthz and the dashboard."""

from __future__ import annotations

import hmac
import secrets
from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    COOKIE,
    LoginRefused,
    Principal,
    authenticate,
    checked_form,
    client_ip,
    db_session,
    end_session,
    html_user,
    start_session,
)
from ashiguard.entrypoints.web.text_guard import proper_query

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(proper_query)])
LOGIN_CSRF_COOKIE = "ashiguard_login_csrf"


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    """Liveness and database check; answers without login."""
    try:
        with request.app.state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the point of a health check is to report it
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def _safe_next(target: str | None) -> str:
    """A path on this site to go to after login, else ``/``. Browsers read a backslash as a
    slash and drop tabs and line breaks, so ``/`` + backslash + ``host`` (or a tab between two
    slashes) would leave the site like ``//host``: those are refused too."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(ord(c) >= 0x20 and c != "\x7f" for c in target)
    ):
        return target
    return "/"


def _login_page(
    request: Request, error: str = "", username: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(
        request,
        "login.html",
        {
            "error": error,
            "username": username,
            "login_csrf": token,
            "next": _safe_next(request.query_params.get("next")),
        },
        status_code=status,
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=request.app.state.settings.secure_cookies,
    )
    return resp


@router.get("/login", include_in_schema=False)
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).replace("\x00", "")  # no user has one
    password = str(form.get("password", ""))
    sent = str(form.get("csrf_token", ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        return _login_page(request, "The form expired: please log in again.", username, 400)
    db = request.app.state.db
    settings = request.app.state.settings
    with db.session() as s:
        try:
            user = authenticate(s, username, password)
        except LoginRefused as exc:
            repo.audit(s, None, "login_failed", "user", username[:64], ip=client_ip(request))
            s.commit()
            return _login_page(request, str(exc), username, 401)
        token = start_session(s, user, settings.session_hours, client_ip(request))
        repo.audit(s, user, "login", "user", user.id, ip=client_ip(request))
    resp = RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)
    resp.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
        path="/",
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout", include_in_schema=False)
async def logout(
    request: Request, p: Principal = Depends(html_user()), s: Session = Depends(db_session)
) -> Response:
    await checked_form(request, p)
    end_session(s, request.cookies.get(COOKIE, ""))
    repo.audit(s, p.user, "logout", "user", p.user.id, ip=client_ip(request))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/", include_in_schema=False)
def dashboard(
    request: Request, p: Principal = Depends(html_user()), s: Session = Depends(db_session)
) -> Response:
    today = date.today()
    role = p.user.role
    ctx: dict[str, object] = {"today": today}
    if role in ("owner", "therapist"):
        ctx["sessions"] = repo.sessions_on(s, today)
    if role in ("owner", "therapist", "front_desk"):
        ctx["awaiting"] = repo.clients_awaiting_clearance(s)
        ctx["bars_due"] = repo.bars_due(s, today)
        ctx["expiring"] = repo.certifications_expiring(s, today)
    return render(request, "dashboard.html", ctx)
