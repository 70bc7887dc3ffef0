"""The user's own password change, and the page of an owner's one-time reset link."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ashiguard.adapters.db.models import User
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.errors import InputError
from ashiguard.entrypoints.web.deps import unit_of_work
from ashiguard.entrypoints.web.forms import error_field
from ashiguard.entrypoints.web.pages_auth import set_session_cookie
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    COOKIE,
    Principal,
    checked_form,
    client_ip,
    cookie_secure,
    hash_password,
    html_user,
    start_session,
    token_id,
    verify_password,
)
from ashiguard.entrypoints.web.text_guard import proper_query
from ashiguard.services import accounts, two_factor

__all__ = ["RESET_CSRF_COOKIE", "router"]

router = APIRouter(dependencies=[Depends(proper_query)])
RESET_CSRF_COOKIE = "ashiguard_reset_csrf"
_FIELDS = ("current_password", "new_password", "repeat_password")


def _password_page(
    request: Request,
    uow: SqlUnitOfWork,
    p: Principal,
    error: str = "",
    status: int = 200,
    *,
    logins_error: str = "",
) -> Response:
    return render(
        request,
        "account_password.html",
        {
            "error": error,
            "field": error_field(error) if error else "",
            "done": request.query_params.get("changed") == "1",
            "ended": request.query_params.get("ended", ""),
            "logins": accounts.list_logins(uow, p.user),
            "this_login": token_id(request.cookies.get(COOKIE, "")),
            "logins_error": logins_error,
        },
        status_code=status,
    )


@router.get("/account/password", include_in_schema=False)
def password_form(
    request: Request,
    p: Principal = Depends(html_user()),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    return _password_page(request, uow, p)


@router.post("/account/logins/end-others", include_in_schema=False)
async def end_other_logins(
    request: Request,
    p: Principal = Depends(html_user()),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    form = await checked_form(request, p)
    try:
        with uow:
            n = accounts.end_other_logins(
                uow,
                p.user,
                str(form.get("current_password", "")),
                token_id(request.cookies.get(COOKIE, "")),
                ip=client_ip(request),
                verify_password=verify_password,
            )
    except InputError as exc:
        msg = str(exc).split(":", 1)[1].strip()
        return _password_page(request, uow, p, status=400, logins_error=msg)
    return RedirectResponse(f"/account/password?ended={n}", status_code=303)


@router.post("/account/password", include_in_schema=False)
async def password_change(
    request: Request,
    p: Principal = Depends(html_user()),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    form = await checked_form(request, p)
    current, new, repeat = (str(form.get(k, "")) for k in _FIELDS)
    try:
        with uow:
            accounts.change_password(
                uow,
                p.user,
                current,
                new,
                repeat,
                ip=client_ip(request),
                hash_password=hash_password,
                verify_password=verify_password,
            )
            # every session of the user ended with the change: this browser gets a new one
            user = uow.session.get(User, p.user.id)
            settings = request.app.state.settings
            token = start_session(uow.session, user, settings.session_hours, client_ip(request))
    except InputError as exc:
        return _password_page(request, uow, p, str(exc), 400)
    resp = RedirectResponse("/account/password?changed=1", status_code=303)
    set_session_cookie(request, resp, token)
    return resp


def _reset_page(
    request: Request, token: str, username: str, error: str = "", status: int = 200
) -> Response:
    form_token = secrets.token_urlsafe(24)
    resp = render(
        request,
        "reset_password.html",
        {
            "token": token,
            "username": username,
            "error": error,
            "field": error_field(error) if error else "",
            "reset_csrf": form_token,
        },
        status_code=status,
    )
    resp.set_cookie(
        RESET_CSRF_COOKIE,
        form_token,
        httponly=True,
        samesite="strict",
        path="/reset",
        secure=cookie_secure(request),
    )
    return resp


@router.get("/reset/{token}", include_in_schema=False)
def reset_form(
    request: Request, token: str, uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    user = accounts.reset_target(uow, token)
    return _reset_page(request, token, user.username)


@router.post("/reset/{token}", include_in_schema=False)
async def reset_submit(
    request: Request, token: str, uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    form: Any = await request.form()
    sent = str(form.get("csrf_token", ""))
    expected = request.cookies.get(RESET_CSRF_COOKIE, "")
    user = accounts.reset_target(uow, token)
    if not expected or not hmac.compare_digest(sent, expected):
        msg = "csrf_token: the form expired; please try again"
        return _reset_page(request, token, user.username, msg, 403)
    try:
        with uow:
            accounts.reset_password(
                uow,
                token,
                str(form.get("new_password", "")),
                str(form.get("repeat_password", "")),
                ip=client_ip(request),
                hash_password=hash_password,
            )
    except InputError as exc:
        return _reset_page(request, token, user.username, str(exc), 400)
    resp = render(request, "reset_done.html", {"username": user.username})
    resp.delete_cookie(RESET_CSRF_COOKIE, path="/reset")
    return resp


OWNER = html_user("owner")


def _two_step_page(request: Request, user: User, error: str = "", status: int = 200) -> Response:
    pending = user.totp_pending or ""
    return render(
        request,
        "two_factor.html",
        {
            "on": bool(user.totp_secret),
            "pending": pending,
            "grouped": " ".join(pending[i : i + 4] for i in range(0, len(pending), 4)),
            "uri": two_factor.uri(pending, user.username) if pending else "",
            "error": error,
            "field": error_field(error) if error else "",
            "changed": request.query_params.get("changed", ""),
        },
        status_code=status,
    )


@router.get("/account/two-factor", include_in_schema=False)
def two_step(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    return _two_step_page(request, uow.session.get(User, p.user.id))


@router.post("/account/two-factor/start", include_in_schema=False)
async def two_step_start(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    await checked_form(request, p)
    with uow:
        two_factor.start(uow, p.user, client_ip(request))
    return RedirectResponse("/account/two-factor", status_code=303)


@router.post("/account/two-factor/confirm", include_in_schema=False)
async def two_step_confirm(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    form = await checked_form(request, p)
    try:
        with uow:
            two_factor.confirm(uow, p.user, str(form.get("code", "")), client_ip(request))
    except InputError as exc:
        return _two_step_page(request, uow.session.get(User, p.user.id), str(exc), 400)
    return RedirectResponse("/account/two-factor?changed=on", status_code=303)


@router.post("/account/two-factor/off", include_in_schema=False)
async def two_step_off(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    form = await checked_form(request, p)
    try:
        with uow:
            two_factor.turn_off(uow, p.user, str(form.get("code", "")), client_ip(request))
    except InputError as exc:
        return _two_step_page(request, uow.session.get(User, p.user.id), str(exc), 400)
    return RedirectResponse("/account/two-factor?changed=off", status_code=303)
