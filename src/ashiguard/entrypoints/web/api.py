"""The JSON API under ``/api/v1``: same records, same role checks as the pages.

Authenticate with ``POST /api/v1/auth/token`` (username and password) and send
``Authorization: Bearer TOKEN``. A logged-in browser session works too (changes then need the
``X-CSRF-Token`` header). Bad input answers 422 with ``{"detail": "field: what is wrong"}``.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import (
    AuditEntry,
    Client,
    Intake,
    Practitioner,
    Room,
    Screening,
    TreatmentSession,
    User,
)
from ashiguard.domain.errors import InputError
from ashiguard.entrypoints.web import admin_ops
from ashiguard.entrypoints.web.clinic import (
    create_client,
    get_or_404,
    intakes_of,
    screen_and_store,
    screenings_of,
    validate_client_fields,
)
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    LoginRefused,
    Principal,
    api_user,
    authenticate,
    check_csrf,
    client_ip,
    create_user,
    db_session,
    issue_api_token,
)

__all__ = [
    "BarIn",
    "ClientIn",
    "InspectionIn",
    "IntakeIn",
    "PractitionerIn",
    "RoomIn",
    "TokenRequest",
    "UserIn",
    "deidentified",
    "pseudonym",
    "research_rows",
    "router",
]

router = APIRouter(prefix="/api/v1", tags=["api"])

ANY = api_user()
CLIENTS = api_user("owner", "therapist", "front_desk")
CLINICAL = api_user("owner", "therapist")
RESEARCH = api_user("owner", "researcher")
OWNER = api_user("owner")
TOKEN_HOURS = 12.0


def _csrf(request: Request, p: Principal) -> None:
    check_csrf(p, request.headers.get("x-csrf-token"))


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1000)


class ClientIn(BaseModel):
    name: str
    birth_date: str | None = None
    sex: str = ""
    phone: str = ""
    email: str = ""


class IntakeIn(BaseModel):
    intake: dict[str, Any]
    pain_sites: list[str] = []


class UserIn(BaseModel):
    username: str
    password: str
    role: str
    display_name: str = ""


class PractitionerIn(BaseModel):
    name: str
    mass_kg: float
    certification: str = ""
    certified_on: str | None = None
    certified_until: str | None = None
    training_hours: float = 0.0
    user_id: int | None = None


class RoomIn(BaseModel):
    name: str
    notes: str = ""


class BarIn(BaseModel):
    label: str
    rated_load_n: float
    inspection_interval_days: int = 90


class InspectionIn(BaseModel):
    inspected_on: str
    inspector: str
    passed: bool
    notes: str = ""


def _client_json(c: Client) -> dict[str, Any]:
    return {
        "id": c.id,
        "ref": c.ref,
        "name": c.name,
        "birth_date": c.birth_date.isoformat() if c.birth_date else None,
        "sex": c.sex,
        "phone": c.phone,
        "email": c.email,
    }


def _screening_json(sc: Screening) -> dict[str, Any]:
    return {
        "id": sc.id,
        "intake_id": sc.intake_id,
        "created_at": sc.created_at.isoformat(),
        "screening": sc.payload,
    }


def _practitioner_json(pr: Practitioner) -> dict[str, Any]:
    return {
        "id": pr.id,
        "name": pr.name,
        "mass_kg": pr.mass_kg,
        "technique": pr.technique,
        "certification": pr.certification,
        "certified_on": pr.certified_on.isoformat() if pr.certified_on else None,
        "certified_until": pr.certified_until.isoformat() if pr.certified_until else None,
        "training_hours": pr.training_hours,
        "user_id": pr.user_id,
        "active": pr.active,
    }


def _room_json(r: Room) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "notes": r.notes,
        "bars": [
            {
                "id": b.id,
                "label": b.label,
                "rated_load_n": b.rated_load_n,
                "inspection_interval_days": b.inspection_interval_days,
                "due_on": (d.isoformat() if (d := repo.bar_due_on(b)) else None),
                "inspections": [
                    {
                        "inspected_on": i.inspected_on.isoformat(),
                        "inspector": i.inspector,
                        "passed": i.passed,
                        "notes": i.notes,
                    }
                    for i in b.inspections
                ],
            }
            for b in r.bars
        ],
    }


def _session_json(t: TreatmentSession) -> dict[str, Any]:
    return {
        "id": t.id,
        "client_id": t.client_id,
        "practitioner_id": t.practitioner_id,
        "room_id": t.room_id,
        "screening_id": t.screening_id,
        "status": t.status,
        "source": t.source,
        "started_at": t.started_at.isoformat(),
        "ended_at": t.ended_at.isoformat() if t.ended_at else None,
        "recording": t.recording_meta,
        "alerts": t.alerts,
        "summary": t.summary,
        "notes": t.notes,
        "signed_at": t.signed_at.isoformat() if t.signed_at else None,
    }


@router.post("/auth/token", summary="Exchange a username and password for a bearer token")
def token(body: TokenRequest, request: Request, s: Session = Depends(db_session)) -> JSONResponse:
    try:
        user = authenticate(s, body.username, body.password)
    except LoginRefused as exc:
        repo.audit(
            s, None, "login_failed", "user", body.username[:64], ip=client_ip(request), detail="api"
        )
        s.commit()
        return JSONResponse({"detail": str(exc)}, status_code=401)
    tok = issue_api_token(s, user, TOKEN_HOURS)
    repo.audit(s, user, "login", "user", user.id, ip=client_ip(request), detail="api token")
    return JSONResponse(
        {
            "token": tok,
            "token_type": "bearer",
            "expires_in_s": int(TOKEN_HOURS * 3600),
            "role": user.role,
        }
    )


@router.get("/me", summary="The authenticated user")
def me(p: Principal = Depends(ANY)) -> dict[str, Any]:
    u = p.user
    return {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role}


@router.get("/clients", summary="Search clients (paginated)")
def clients(
    q: str = "",
    page: int = 1,
    per_page: int = 25,
    p: Principal = Depends(CLIENTS),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    if not 1 <= per_page <= 200:
        raise InputError("per_page: must be 1 to 200")
    if page < 1:
        raise InputError("page: must be 1 or more")
    rows, total = repo.search_clients(s, q.strip()[:100], page, per_page)
    return {
        "total": total,
        "page": page,
        "per_page": per_page,
        "clients": [
            {
                "id": c.id,
                "ref": c.ref,
                "name": c.name,
                "sex": c.sex,
                "birth_date": c.birth_date.isoformat() if c.birth_date else None,
            }
            for c in rows
        ],
    }


@router.post("/clients", status_code=201, summary="Create a client")
def client_create(
    body: ClientIn,
    request: Request,
    p: Principal = Depends(CLIENTS),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    _csrf(request, p)
    c = create_client(s, validate_client_fields(body.model_dump()), p.user, client_ip(request))
    return _client_json(c)


@router.get("/clients/{client_id}", summary="One client with intakes, screenings (and sessions)")
def client_get(
    client_id: int,
    request: Request,
    p: Principal = Depends(CLIENTS),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    c = get_or_404(s, Client, client_id)
    repo.audit(s, p.user, "read", "client", c.id, ip=client_ip(request), detail="api")
    out = _client_json(c)
    out["intakes"] = [
        {
            "id": i.id,
            "version": i.version,
            "created_at": i.created_at.isoformat(),
            "intake": i.payload,
            "pain_sites": i.pain_sites,
        }
        for i in intakes_of(s, c.id)
    ]
    out["screenings"] = [_screening_json(sc) for sc in screenings_of(s, c.id)]
    if p.user.role in ("owner", "therapist"):
        out["sessions"] = [
            _session_json(t)
            for t in s.scalars(
                select(TreatmentSession)
                .where(TreatmentSession.client_id == c.id)
                .order_by(TreatmentSession.id)
            )
        ]
    return out


@router.post(
    "/clients/{client_id}/intakes", status_code=201, summary="Add an intake version and screen it"
)
def intake_create(
    client_id: int,
    body: IntakeIn,
    request: Request,
    p: Principal = Depends(CLIENTS),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    _csrf(request, p)
    c = get_or_404(s, Client, client_id)
    intake, sc = screen_and_store(s, c, body.intake, body.pain_sites, p.user, client_ip(request))
    return {"intake_id": intake.id, "version": intake.version, **_screening_json(sc)}


@router.get("/screenings/{screening_id}", summary="One stored screening (ashiguard.screening/1)")
def screening_get(
    screening_id: int,
    request: Request,
    p: Principal = Depends(CLIENTS),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    sc = get_or_404(s, Screening, screening_id)
    repo.audit(s, p.user, "read", "screening", sc.id, ip=client_ip(request), detail="api")
    return _screening_json(sc)


@router.get("/intakes/{intake_id}", summary="One stored intake version")
def intake_get(
    intake_id: int,
    request: Request,
    p: Principal = Depends(CLIENTS),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    i = get_or_404(s, Intake, intake_id)
    repo.audit(s, p.user, "read", "intake", i.id, ip=client_ip(request), detail="api")
    return {
        "id": i.id,
        "client_id": i.client_id,
        "version": i.version,
        "intake": i.payload,
        "pain_sites": i.pain_sites,
        "created_at": i.created_at.isoformat(),
    }


@router.get("/practitioners", summary="Practitioners")
def practitioners(
    p: Principal = Depends(CLINICAL), s: Session = Depends(db_session)
) -> list[dict[str, Any]]:
    return [
        _practitioner_json(x) for x in s.scalars(select(Practitioner).order_by(Practitioner.name))
    ]


@router.post("/practitioners", status_code=201, summary="Add a practitioner (owner)")
def practitioner_create(
    body: PractitionerIn,
    request: Request,
    p: Principal = Depends(OWNER),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    _csrf(request, p)
    pr = admin_ops.save_practitioner(
        s, admin_ops.parse_practitioner(body.model_dump()), p.user, client_ip(request)
    )
    return _practitioner_json(pr)


@router.get("/rooms", summary="Rooms with their bars and inspections")
def rooms(
    p: Principal = Depends(CLINICAL), s: Session = Depends(db_session)
) -> list[dict[str, Any]]:
    return [_room_json(r) for r in s.scalars(select(Room).order_by(Room.name))]


@router.post("/rooms", status_code=201, summary="Add a room (owner)")
def room_create(
    body: RoomIn, request: Request, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> dict[str, Any]:
    _csrf(request, p)
    return _room_json(admin_ops.add_room(s, body.model_dump(), p.user, client_ip(request)))


@router.post("/rooms/{room_id}/bars", status_code=201, summary="Add an overhead bar (owner)")
def bar_create(
    room_id: int,
    body: BarIn,
    request: Request,
    p: Principal = Depends(OWNER),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    _csrf(request, p)
    room = get_or_404(s, Room, room_id)
    admin_ops.add_bar(s, room, body.model_dump(), p.user, client_ip(request))
    s.refresh(room)
    return _room_json(room)


@router.post(
    "/bars/{bar_id}/inspections", status_code=201, summary="Record a bar inspection (owner)"
)
def inspection_create(
    bar_id: int,
    body: InspectionIn,
    request: Request,
    p: Principal = Depends(OWNER),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    from ashiguard.adapters.db.models import Bar

    _csrf(request, p)
    bar = get_or_404(s, Bar, bar_id)
    data = body.model_dump() | {"passed": "yes" if body.passed else "no"}
    ins = admin_ops.add_inspection(s, bar, data, p.user, client_ip(request))
    return {
        "id": ins.id,
        "bar_id": bar.id,
        "inspected_on": ins.inspected_on.isoformat(),
        "passed": ins.passed,
    }


@router.get("/sessions", summary="Treatment sessions")
def sessions(
    status: str = "", p: Principal = Depends(CLINICAL), s: Session = Depends(db_session)
) -> list[dict[str, Any]]:
    stmt = select(TreatmentSession).order_by(TreatmentSession.started_at.desc())
    if status:
        if status not in ("live", "ended", "signed"):
            raise InputError("status: must be live, ended or signed")
        stmt = stmt.where(TreatmentSession.status == status)
    return [_session_json(t) for t in s.scalars(stmt.limit(500))]


@router.get("/sessions/{session_id}", summary="One treatment session")
def session_get(
    session_id: int,
    request: Request,
    p: Principal = Depends(CLINICAL),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    t = get_or_404(s, TreatmentSession, session_id)
    repo.audit(
        s,
        p.user,
        "read",
        "session",
        t.id,
        ip=client_ip(request),
        detail=f"client {t.client_id} api",
    )
    return _session_json(t)


def pseudonym(secret: str, client_id: int) -> str:
    """A stable pseudonym for a client in de-identified data (keyed hash, not reversible)."""
    return "s-" + hashlib.sha256(f"{secret}:{client_id}".encode()).hexdigest()[:12]


def deidentified(t: TreatmentSession, sc: Screening | None, secret: str) -> dict[str, Any]:
    """A session without names, ids, dates of birth, notes or file paths.

    Age is given in 10-year bands and the date only as the year and month.
    """
    birth = t.client.birth_date
    age_band = None
    if birth is not None:
        age = (
            t.started_at.year
            - birth.year
            - ((t.started_at.month, t.started_at.day) < (birth.month, birth.day))
        )
        age_band = f"{age // 10 * 10}-{age // 10 * 10 + 9}"
    return {
        "subject": pseudonym(secret, t.client_id),
        "month": t.started_at.strftime("%Y-%m"),
        "age_band": age_band,
        "sex": t.client.sex or None,
        "decision": sc.decision if sc else None,
        "restrictions": (sc.payload.get("restrictions") if sc else None),
        "status": t.status,
        "duration_s": (t.ended_at - t.started_at).total_seconds() if t.ended_at else None,
        "alerts": t.alerts or [],
        "summary": t.summary,
    }


def research_rows(s: Session, secret: str, limit: int = 1000) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(TreatmentSession)
        .where(TreatmentSession.status != "live")
        .order_by(TreatmentSession.started_at.desc())
        .limit(limit)
    ).all()
    return [deidentified(t, s.get(Screening, t.screening_id), secret) for t in rows]


@router.get("/research/sessions", summary="De-identified session data (researcher)")
def research_sessions(
    request: Request, p: Principal = Depends(RESEARCH), s: Session = Depends(db_session)
) -> list[dict[str, Any]]:
    repo.audit(s, p.user, "read", "research_export", "", ip=client_ip(request))
    return research_rows(s, request.app.state.pseudonym_secret)


@router.get("/users", summary="Users (owner)")
def users(p: Principal = Depends(OWNER), s: Session = Depends(db_session)) -> list[dict[str, Any]]:
    return [
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "active": u.active,
        }
        for u in s.scalars(select(User).order_by(User.username))
    ]


@router.post("/users", status_code=201, summary="Add a user (owner)")
def user_create(
    body: UserIn, request: Request, p: Principal = Depends(OWNER), s: Session = Depends(db_session)
) -> dict[str, Any]:
    _csrf(request, p)
    u = create_user(s, body.username, body.password, body.role, body.display_name)
    repo.audit(
        s,
        p.user,
        "create",
        "user",
        u.id,
        ip=client_ip(request),
        detail=f"{u.username} ({u.role}) api",
    )
    return {"id": u.id, "username": u.username, "role": u.role}


@router.get("/audit", summary="The audit log (owner), newest first")
def audit(
    user: str = "",
    action: str = "",
    entity: str = "",
    entity_id: str = "",
    since: str = "",
    until: str = "",
    limit: int = 200,
    p: Principal = Depends(OWNER),
    s: Session = Depends(db_session),
) -> dict[str, Any]:
    from ashiguard.entrypoints.web.pages_admin import audit_query

    if not 1 <= limit <= 5000:
        raise InputError("limit: must be 1 to 5000")
    stmt = audit_query(
        {
            "user": user,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "since": since,
            "until": until,
        }
    )
    total = int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = s.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit))
    return {
        "total": total,
        "entries": [
            {
                "at": a.at.isoformat(),
                "username": a.username,
                "action": a.action,
                "entity": a.entity,
                "entity_id": a.entity_id,
                "ip": a.ip,
                "detail": a.detail,
            }
            for a in rows
        ],
    }


def _schema(request: Request) -> dict[str, Any]:
    app = request.app
    if getattr(app.state, "openapi_cache", None) is None:
        app.state.openapi_cache = get_openapi(
            title="ashiguard clinic API",
            version="1",
            description=__doc__,
            routes=[r for r in app.routes if getattr(r, "path", "").startswith("/api/v1")],
        )
    return dict(app.state.openapi_cache)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, p: Principal = Depends(ANY)) -> dict[str, Any]:
    return _schema(request)


@router.get("/docs", include_in_schema=False)
def docs(request: Request, p: Principal = Depends(ANY)) -> Response:
    spec = _schema(request)
    ops = [
        {
            "method": m.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "params": [x["name"] for x in op.get("parameters", [])],
            "body": next(
                iter(
                    op.get("requestBody", {})
                    .get("content", {})
                    .get("application/json", {})
                    .get("schema", {})
                    .values()
                ),
                "",
            ),
        }
        for path, item in spec["paths"].items()
        for m, op in item.items()
    ]
    return render(request, "api_docs.html", {"ops": ops, "today": date.today()})
