"""Owner pages: users, practitioners, rooms with their bars and inspections, note templates,
the audit log."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import (
    ROLES,
    AuditEntry,
    LoginThrottle,
    Practitioner,
    Room,
    User,
)
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.errors import InputError, NotFound
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.forms import error_field
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    DB_SESSION,
    Principal,
    checked_form,
    client_ip,
    hash_password,
    html_user,
)
from ashiguard.entrypoints.web.text_guard import proper_query
from ashiguard.services import calibrations, clinic_admin, soap_notes
from ashiguard.services.uow import parse_record_id

__all__ = ["AUDIT_PER_PAGE", "router"]

router = APIRouter(prefix="/admin", dependencies=[Depends(proper_query)])
OWNER = html_user("owner")


async def _form(request: Request, p: Principal) -> dict[str, Any]:
    return {k: str(v) for k, v in (await checked_form(request, p)).items()}


def _users_page(
    request: Request, s: Session, values: dict[str, Any], error: str = "", status: int = 200
) -> Response:
    users = s.scalars(select(User).order_by(User.username)).all()
    now = repo.utcnow()
    waits = {
        row.key.split(":", 1)[1]: row
        for row in s.scalars(select(LoginThrottle).where(LoginThrottle.key.like("account:%")))
    }
    return render(
        request,
        "admin_users.html",
        {
            "users": users,
            "roles": ROLES,
            "values": values,
            "error": error,
            "field": error_field(error) if error else "",
            "now": now,
            "waits": waits,
        },
        status_code=status,
    )


@router.get("/users", include_in_schema=False)
def users(request: Request, p: Principal = Depends(OWNER), s: Session = DB_SESSION) -> Response:
    return _users_page(request, s, {})


@router.post("/users", include_in_schema=False)
async def user_create(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    data = await _form(request, p)
    try:
        with uow:
            clinic_admin.create_user(
                uow,
                data.get("username", ""),
                data.get("password", ""),
                data.get("role", ""),
                data.get("display_name", ""),
                actor=p.user,
                ip=client_ip(request),
                hash_password=hash_password,
            )
    except InputError as exc:
        data.pop("password", None)
        return _users_page(request, uow.session, data, str(exc), 400)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/active", include_in_schema=False)
async def user_active(
    request: Request,
    user_id: RecordId,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    data = await _form(request, p)
    try:
        with uow:
            clinic_admin.set_user_active(
                uow, user_id, data.get("active") == "true", p.user, client_ip(request)
            )
    except InputError as exc:
        return _users_page(request, uow.session, {}, str(exc), 400)
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
    request: Request,
    edit: RecordId | None = None,
    p: Principal = Depends(OWNER),
    s: Session = DB_SESSION,
) -> Response:
    values: dict[str, Any] = {}
    if edit is not None:  # the form starts from what is stored
        pr = s.get(Practitioner, edit)
        if pr is None:
            raise NotFound(f"practitioner {edit} not found")
        values = {**clinic_admin.practitioner_values(pr), "id": str(pr.id)}
    return _practitioners_page(request, s, values)


@router.post("/practitioners", include_in_schema=False)
async def practitioner_save(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    data = await _form(request, p)
    pid = parse_record_id(data["id"], "id") if data.get("id", "").strip() else None
    try:
        with uow:
            clinic_admin.save_practitioner(uow, data, p.user, client_ip(request), pid)
    except InputError as exc:
        return _practitioners_page(request, uow.session, data, str(exc), 400)
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
            "calibrations": request.app.state.live.calibration_choices(),
            "max_calibration_mb": calibrations.MAX_CALIBRATION_BYTES // (1024 * 1024),
        },
        status_code=status,
    )


@router.get("/rooms", include_in_schema=False)
def rooms(request: Request, p: Principal = Depends(OWNER), s: Session = DB_SESSION) -> Response:
    return _rooms_page(request, s, {})


@router.post("/rooms", include_in_schema=False)
async def room_create(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    data = await _form(request, p)
    try:
        with uow:
            clinic_admin.add_room(uow, data, p.user, client_ip(request))
    except InputError as exc:
        return _rooms_page(request, uow.session, data, str(exc), 400, "room")
    return RedirectResponse("/admin/rooms", status_code=303)


@router.post("/calibrations", include_in_schema=False)
async def calibration_upload(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    """Store a calibration file (counts -> kPa) for the start form to offer."""
    from starlette.datastructures import UploadFile

    form = await checked_form(request, p)
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InputError("calibration: choose a calibration file (.json or .csv)")
        try:
            data = await upload.read(calibrations.MAX_CALIBRATION_BYTES + 1)
        finally:
            await form.close()  # the spooled upload's temporary file
        with uow:
            calibrations.save_calibration(
                uow,
                request.app.state.live.calibrations_dir,
                upload.filename,
                data,
                p.user,
                client_ip(request),
            )
    except InputError as exc:
        return _rooms_page(request, uow.session, {}, str(exc), 400, "calibrations")
    return RedirectResponse("/admin/rooms#calibrations", status_code=303)


@router.post("/rooms/{room_id}/bars", include_in_schema=False)
async def bar_create(
    request: Request,
    room_id: RecordId,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    data = await _form(request, p)
    try:
        with uow:
            clinic_admin.add_bar(uow, room_id, data, p.user, client_ip(request))
    except InputError as exc:
        return _rooms_page(request, uow.session, data, str(exc), 400, f"room-{room_id}")
    return RedirectResponse("/admin/rooms", status_code=303)


@router.post("/bars/{bar_id}/inspections", include_in_schema=False)
async def inspection_create(
    request: Request,
    bar_id: RecordId,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    data = await _form(request, p)
    try:
        with uow:
            clinic_admin.add_inspection(uow, bar_id, data, p.user, client_ip(request))
    except InputError as exc:
        return _rooms_page(request, uow.session, data, str(exc), 400, f"bar-{bar_id}")
    return RedirectResponse("/admin/rooms", status_code=303)


def _templates_page(
    request: Request,
    s: Session,
    values: dict[str, Any],
    error: str = "",
    status: int = 200,
    target: str = "",
) -> Response:
    templates = soap_notes.list_templates(SqlUnitOfWork(session=s))
    return render(
        request,
        "admin_note_templates.html",
        {
            "templates": templates,
            "values": values,
            "error": error,
            "field": error_field(error) if error else "",
            "target": target,
        },
        status_code=status,
    )


@router.get("/note-templates", include_in_schema=False)
def note_templates(
    request: Request, p: Principal = Depends(OWNER), s: Session = DB_SESSION
) -> Response:
    return _templates_page(request, s, {})


async def _save_template(
    request: Request, p: Principal, uow: SqlUnitOfWork, template_id: int | None
) -> Response:
    data = await _form(request, p)
    try:
        with uow:
            soap_notes.save_template(
                uow,
                template_id,
                name=data.get("name", ""),
                subjective=data.get("subjective", ""),
                assessment=data.get("assessment", ""),
                plan=data.get("plan", ""),
                actor=p.user,
                ip=client_ip(request),
            )
    except InputError as exc:
        target = "new" if template_id is None else f"template-{template_id}"
        return _templates_page(request, uow.session, data, str(exc), 400, target)
    return RedirectResponse("/admin/note-templates", status_code=303)


@router.post("/note-templates", include_in_schema=False)
async def note_template_create(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    return await _save_template(request, p, uow, None)


@router.post("/note-templates/{template_id}", include_in_schema=False)
async def note_template_update(
    request: Request,
    template_id: RecordId,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    return await _save_template(request, p, uow, template_id)


@router.post("/note-templates/{template_id}/delete", include_in_schema=False)
async def note_template_delete(
    request: Request,
    template_id: RecordId,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    await _form(request, p)
    with uow:
        soap_notes.delete_template(uow, template_id, p.user, client_ip(request))
    return RedirectResponse("/admin/note-templates", status_code=303)


AUDIT_PER_PAGE = 50


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
    s: Session = DB_SESSION,
) -> Response:
    q = {
        "user": user,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "since": since,
        "until": until,
    }
    error = ""
    try:
        stmt = repo.audit_query(q)
    except InputError as exc:  # shown above the filters; nothing listed
        error, stmt = str(exc), None
    total = 0
    rows: Any = []
    page = max(1, page)
    if stmt is not None:
        total = int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        page = min(page, max(1, -(-total // AUDIT_PER_PAGE)))  # past the end: the last
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
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.get("/audit/check", include_in_schema=False)
def audit_check(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    with uow:
        report = clinic_admin.check_audit_log(uow, p.user, client_ip(request))
    return render(request, "admin_audit_check.html", {"report": report})
