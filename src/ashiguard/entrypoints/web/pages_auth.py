"""Login, logout, /healthz and the dashboard."""

from __future__ import annotations

import hmac
import secrets
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import WebSession
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    COOKIE,
    DB_SESSION,
    DEVICE_COOKIE,
    LoginRefused,
    Principal,
    authenticate,
    check_code,
    checked_form,
    client_ip,
    cookie_secure,
    device_cookie,
    device_id,
    end_session,
    html_user,
    start_session,
    token_id,
)
from ashiguard.entrypoints.web.text_guard import proper_query

__all__ = ["router", "set_session_cookie"]

router = APIRouter(dependencies=[Depends(proper_query)])
LOGIN_CSRF_COOKIE = "ashiguard_login_csrf"
DEVICE_DAYS = 180
CODE_MINUTES = 5


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
        secure=cookie_secure(request),
    )
    return resp


def set_session_cookie(
    request: Request, resp: Response, token: str, max_age: int | None = None
) -> None:
    """The login session's cookie: HttpOnly, SameSite=Lax, Secure under HTTPS, 12 h."""
    hours = request.app.state.settings.session_hours
    resp.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        max_age=int(hours * 3600) if max_age is None else max_age,
        path="/",
    )


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
    secret = request.app.state.pseudonym_secret
    with db.session() as s:
        try:
            user = authenticate(
                s,
                username,
                password,
                ip=client_ip(request),
                device=request.cookies.get(DEVICE_COOKIE, ""),
                secret=secret,
            )
        except LoginRefused as exc:
            detail = "held back" if exc.retry_after else ""
            repo.audit(
                s, None, "login_failed", "user", username[:64], ip=client_ip(request), detail=detail
            )
            s.commit()
            if exc.retry_after:
                page = _login_page(request, str(exc), username, 429)
                page.headers["Retry-After"] = str(exc.retry_after)
                return page
            return _login_page(request, str(exc), username, 401)
        # a new session id at every login: a session cookie the browser brought along (planted
        # by someone else, or an earlier login) is ended, never carried over
        previous = request.cookies.get(COOKIE)
        if previous:
            end_session(s, previous)
        if user.totp_secret:  # two-step login: a short session that opens nothing yet
            token = start_session(s, user, CODE_MINUTES / 60, client_ip(request), code_pending=True)
            repo.audit(s, user, "login_code_asked", "user", user.id, ip=client_ip(request))
            nxt = quote(_safe_next(str(form.get("next", "/"))))
            resp = RedirectResponse(f"/login/code?next={nxt}", status_code=303)
            set_session_cookie(request, resp, token, max_age=CODE_MINUTES * 60)
            resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
            return resp
        token = start_session(s, user, settings.session_hours, client_ip(request))
        repo.audit(s, user, "login", "user", user.id, ip=client_ip(request))
    resp = RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)
    return _logged_in(request, resp, token, user.id)


def _logged_in(request: Request, resp: Response, token: str, user_id: int) -> Response:
    """The cookies of a finished login: the session, and this browser's device cookie."""
    set_session_cookie(request, resp, token)
    resp.set_cookie(
        DEVICE_COOKIE,
        device_cookie(request.app.state.pseudonym_secret, user_id),
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        max_age=DEVICE_DAYS * 86400,
        path="/login",
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


def _pending(s: Session, request: Request) -> WebSession | None:
    """The browser's session that waits for its two-step code, if it is still fresh."""
    cookie = request.cookies.get(COOKIE, "")
    row = s.get(WebSession, token_id(cookie)) if cookie else None
    if row is None or not row.code_pending or row.expires_at < repo.utcnow():
        return None
    return row


def _code_page(request: Request, row: WebSession, error: str = "", status: int = 200) -> Response:
    return render(
        request,
        "login_code.html",
        {
            "error": error,
            "code_csrf": row.csrf_token,
            "next": _safe_next(request.query_params.get("next")),
        },
        status_code=status,
    )


@router.get("/login/code", include_in_schema=False)
def code_form(request: Request, s: Session = DB_SESSION) -> Response:
    row = _pending(s, request)
    if row is None:
        return RedirectResponse("/login", status_code=303)
    return _code_page(request, row)


@router.post("/login/code", include_in_schema=False)
async def code_submit(request: Request, s: Session = DB_SESSION) -> Response:
    form = await request.form()
    row = _pending(s, request)
    if row is None:
        return RedirectResponse("/login", status_code=303)
    if not hmac.compare_digest(str(form.get("csrf_token", "")), row.csrf_token):
        return _code_page(request, row, "The form expired: please type the code again.", 400)
    user = row.user
    ip = client_ip(request)
    secret = request.app.state.pseudonym_secret
    dev = device_id(secret, request.cookies.get(DEVICE_COOKIE, ""), user.id)
    try:
        check_code(s, user, str(form.get("code", "")), ip=ip, dev=dev)
    except LoginRefused as exc:
        repo.audit(s, None, "login_failed", "user", user.username, ip=ip, detail="two-step code")
        s.commit()
        page = _code_page(request, row, str(exc), 429 if exc.retry_after else 401)
        if exc.retry_after:
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    s.delete(row)  # a new session id once the code is right, as at every login
    token = start_session(s, user, request.app.state.settings.session_hours, ip)
    repo.audit(s, user, "login", "user", user.id, ip=ip, detail="with two-step code")
    s.commit()
    resp = RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)
    return _logged_in(request, resp, token, user.id)


@router.post("/logout", include_in_schema=False)
async def logout(
    request: Request, p: Principal = Depends(html_user()), s: Session = DB_SESSION
) -> Response:
    await checked_form(request, p)
    end_session(s, request.cookies.get(COOKIE, ""))
    repo.audit(s, p.user, "logout", "user", p.user.id, ip=client_ip(request))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(request)
    )
    return resp


@router.get("/", include_in_schema=False)
def dashboard(
    request: Request, p: Principal = Depends(html_user()), s: Session = DB_SESSION
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
