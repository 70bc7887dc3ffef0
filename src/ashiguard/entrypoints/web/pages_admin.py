"""Owner pages: users, practitioners, rooms with their bars and inspections, the audit log."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import ROLES, AuditEntry, Bar, Practitioner, Room, User
from ashiguard.domain.errors import InputError
from ashiguard.entrypoints.web import admin_ops
from ashiguard.entrypoints.web.clinic import get_or_404
from ashiguard.entrypoints.web.forms import error_field
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    Principal,
    checked_form,
    client_ip,
    create_user,
    db_session,
    html_user,
)

__all__ = [
    "AUDIT_PER_PAGE",
    "audit_query",
    "router",
]

router = APIRouter(prefix="/admin")
OWNER = html_user("owner")


async def _form(request: Request, p: Principal) -> dict[str, Any]:
    return {k: str(v) for k, v in (await checked_form(request, p)).items()}


def _users_page(
    request: Request, s: Session, values: dict[str, Any], error: str = "", status: int = 200
) -> Response:
    users = s.scalars(select(User).order_by(User.username)).all()
    return render(
        request,
        "admin_users.html",
        {
            "users": users,
            "roles": ROLES,
            "values": values,
            "error": error,
            "field": error_field(error) if error else "",
            "now": repo.utcnow(),
        },
        status_code=status,
    )


@router.get("/users", include_in_schema=False)
def users(
    request: Request, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    return _users_page(request, s, {})


@router.post("/users", include_in_schema=False)
async def user_create(
    request: Request, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    data = await _form(request, p)
    try:
        u = create_user(
            s,
            data.get("username", ""),
            data.get("password", ""),
            data.get("role", ""),
            data.get("display_name", ""),
        )
    except InputError as exc:
        s.rollback()
        data.pop("password", None)
        return _users_page(request, s, data, str(exc), 400)
    repo.audit(
        s, p.user, "create", "user", u.id, ip=client_ip(request), detail=f"{u.username} ({u.role})"
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/active", include_in_schema=False)
async def user_active(
    request: Request, user_id: int, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    data = await _form(request, p)
    u = get_or_404(s, User, user_id)
    if u.id == p.user.id:
        return _users_page(request, s, {}, "active: you cannot deactivate your own account", 400)
    u.active = data.get("active") == "true"
    if u.active:
        u.failed_logins, u.locked_until = 0, None
    repo.audit(
        s,
        p.user,
        "update",
        "user",
        u.id,
        ip=client_ip(request),
        detail=f"{u.username} {'activated' if u.active else 'deactivated'}",
    )
    return RedirectResponse("/admin/users", status_code=303)


def _practitioners_page(
    request: Request, s: Session, values: dict[str, Any], error: str = "", status: int = 200
) -> Response:
    rows = s.scalars(select(Practitioner).order_by(Practitioner.name)).all()
    users_ = s.scalars(
        select(User).where(User.role.in_(("owner", "therapist"))).order_by(User.username)
    ).all()
    return render(
        request,
        "admin_practitioners.html",
        {
            "practitioners": rows,
            "users": users_,
            "values": values,
            "error": error,
            "field": error_field(error) if error else "",
            "today": date.today(),
            "soon": date.today() + timedelta(days=30),
        },
        status_code=status,
    )


@router.get("/practitioners", include_in_schema=False)
def practitioners(
    request: Request, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    return _practitioners_page(request, s, {})


@router.post("/practitioners", include_in_schema=False)
async def practitioner_save(
    request: Request, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    data = await _form(request, p)
    existing = None
    if data.get("id", "").isdigit():
        existing = get_or_404(s, Practitioner, int(data["id"]))
    try:
        admin_ops.save_practitioner(
            s, admin_ops.parse_practitioner(data), p.user, client_ip(request), existing
        )
    except InputError as exc:
        s.rollback()
        return _practitioners_page(request, s, data, str(exc), 400)
    return RedirectResponse("/admin/practitioners", status_code=303)


def _rooms_page(
    request: Request,
    s: Session,
    values: dict[str, Any],
    error: str = "",
    status: int = 200,
    target: str = "",
) -> Response:
    rooms = s.scalars(select(Room).order_by(Room.name)).all()
    return render(
        request,
        "admin_rooms.html",
        {
            "rooms": rooms,
            "values": values,
            "error": error,
            "target": target,
            "field": error_field(error) if error else "",
            "today": date.today(),
            "due_on": repo.bar_due_on,
        },
        status_code=status,
    )


@router.get("/rooms", include_in_schema=False)
def rooms(
    request: Request, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    return _rooms_page(request, s, {})


@router.post("/rooms", include_in_schema=False)
async def room_create(
    request: Request, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    data = await _form(request, p)
    try:
        admin_ops.add_room(s, data, p.user, client_ip(request))
    except InputError as exc:
        s.rollback()
        return _rooms_page(request, s, data, str(exc), 400, "room")
    return RedirectResponse("/admin/rooms", status_code=303)


@router.post("/rooms/{room_id}/bars", include_in_schema=False)
async def bar_create(
    request: Request, room_id: int, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    data = await _form(request, p)
    room = get_or_404(s, Room, room_id)
    try:
        admin_ops.add_bar(s, room, data, p.user, client_ip(request))
    except InputError as exc:
        s.rollback()
        return _rooms_page(request, s, data, str(exc), 400, f"room-{room_id}")
    return RedirectResponse("/admin/rooms", status_code=303)


@router.post("/bars/{bar_id}/inspections", include_in_schema=False)
async def inspection_create(
    request: Request, bar_id: int, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> Response:
    data = await _form(request, p)
    bar = get_or_404(s, Bar, bar_id)
    try:
        admin_ops.add_inspection(s, bar, data, p.user, client_ip(request))
    except InputError as exc:
        s.rollback()
        return _rooms_page(request, s, data, str(exc), 400, f"bar-{bar_id}")
    return RedirectResponse("/admin/rooms", status_code=303)


AUDIT_PER_PAGE = 50


def audit_query(q: dict[str, str]) -> Any:
    """The audit-log SELECT for the filters ``user``, ``action``, ``entity``, ``entity_id``,
    ``since`` and ``until`` (dates)."""
    stmt = select(AuditEntry)
    if q.get("user"):
        stmt = stmt.where(AuditEntry.username == q["user"])
    if q.get("action"):
        stmt = stmt.where(AuditEntry.action == q["action"])
    if q.get("entity"):
        stmt = stmt.where(AuditEntry.entity == q["entity"])
    if q.get("entity_id"):
        stmt = stmt.where(AuditEntry.entity_id == q["entity_id"])
    for key, op in (("since", "ge"), ("until", "lt")):
        if q.get(key):
            try:
                day = date.fromisoformat(q[key])
            except ValueError:
                raise InputError(f"{key}: expected YYYY-MM-DD, got {q[key]!r}") from None
            at = datetime(day.year, day.month, day.day) + (
                timedelta(days=1) if key == "until" else timedelta()
            )
            stmt = stmt.where(AuditEntry.at >= at if op == "ge" else AuditEntry.at < at)
    return stmt


@router.get("/audit", include_in_schema=False)
def audit_log(
    request: Request,
    user: str = "",
    action: str = "",
    entity: str = "",
    entity_id: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
    p: Principal = Depends(OWNER),
    s: Session = Depends(db_session),
) -> Response:
    q = {
        "user": user,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "since": since,
        "until": until,
    }
    stmt = audit_query(q)
    total = int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = max(1, page)
    rows = s.scalars(
        stmt.order_by(AuditEntry.id.desc())
        .offset((page - 1) * AUDIT_PER_PAGE)
        .limit(AUDIT_PER_PAGE)
    ).all()
    actions = s.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    entities = s.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)).all()
    return render(
        request,
        "admin_audit.html",
        {
            "rows": rows,
            "q": q,
            "page": page,
            "total": total,
            "pages": max(1, -(-total // AUDIT_PER_PAGE)),
            "actions": actions,
            "entities": entities,
        },
    )
