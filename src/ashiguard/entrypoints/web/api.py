"""The JSON API under ``/api/v1``: same records, same role checks as the pages.

Authenticate with ``POST /api/v1/auth/token`` (username and password) and send
``Authorization: Bearer TOKEN``. A logged-in browser session works too (changes then need the
``X-CSRF-Token`` header). Bad input answers 422 with ``{"detail": "field: what is wrong"}``;
a missing record 404, a change the record's state does not allow 409 (a refusal of the
readiness gate: ``{"detail": ..., "reasons": [...]}``), a role that may not 403.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
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
)
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.consent import CONSENT_TITLE, CONSENT_VERSION, RISKS
from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import SessionOutcome
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    DB_SESSION,
    LoginRefused,
    Principal,
    api_user,
    authenticate,
    check_code,
    check_csrf,
    client_ip,
    hash_password,
    issue_api_token,
)
from ashiguard.entrypoints.web.text_guard import proper_query
from ashiguard.services import clinic, clinic_admin, consent, research, soap_notes, treatments

__all__ = [
    "AckIn",
    "AckOut",
    "AddendumIn",
    "AddendumOut",
    "AuditEntryOut",
    "AuditPage",
    "BarIn",
    "BarOut",
    "ClientDetail",
    "ClientIn",
    "ClientOut",
    "ClientPage",
    "ClientRow",
    "ConsentFormOut",
    "ConsentIn",
    "ConsentOut",
    "ErrorOut",
    "InspectionCreated",
    "InspectionIn",
    "InspectionOut",
    "IntakeCreated",
    "IntakeIn",
    "IntakeOut",
    "IntakeVersionOut",
    "MarkerIn",
    "MarkerOut",
    "MeOut",
    "NoteIn",
    "NoteOut",
    "NoteTemplateOut",
    "PractitionerIn",
    "PractitionerOut",
    "RefusalOut",
    "ResearchRow",
    "RoomIn",
    "RoomOut",
    "ScreeningOut",
    "SessionIn",
    "SessionOut",
    "TareOut",
    "TokenOut",
    "TokenRequest",
    "UserCreated",
    "UserIn",
    "UserOut",
    "router",
]

router = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(proper_query)])

ANY = api_user()
CLIENTS = api_user(*clinic.CLIENT_ROLES)
CLINICAL = api_user(*treatments.CLINICAL_ROLES)
RESEARCH = api_user(*research.RESEARCH_ROLES)
OWNER = api_user(*clinic_admin.OWNER_ROLES)
TOKEN_HOURS = 12.0


def _csrf(request: Request, p: Principal) -> None:
    check_csrf(p, request.headers.get("x-csrf-token"))


# ------------------------------------------------------------------------ request bodies


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1000)
    code: str | None = Field(
        default=None,
        max_length=20,
        description="the 6-digit code of the user's authenticator app, for accounts with "
        "two-step login",
    )


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
    user_id: RecordId | None = None


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


class SessionIn(BaseModel):
    """Start a live treatment session (the readiness gate applies)."""

    client_id: RecordId
    practitioner_id: RecordId
    room_id: RecordId
    source: str = Field(
        min_length=1,
        max_length=500,
        description="sim:SCENARIO, replay:FILE (a recording in the data directory) or lsl:NAME",
    )
    duration_s: float | None = Field(
        default=None, gt=0, le=86400, description="End the session after this many seconds"
    )
    tare_first_s: float | None = Field(
        default=None,
        description="Zero the sheet on the first N s (nothing on it): 0 = no zeroing; absent: "
        "2 s for a sensor (lsl:), none for the simulator or a replay",
    )
    calibration: str = Field(
        default="",
        max_length=100,
        description="A calibration file of the clinic (counts -> kPa, for a raw-count sensor)",
    )


class TareOut(BaseModel):
    """A "zero now" was handed to the running session."""

    requested: bool
    who: str


class MarkerIn(BaseModel):
    """Mark this moment of a live session."""

    kind: Literal["too_much", "technique_change", "label"] = Field(
        description="too_much (the client said so), technique_change, or label (with text)"
    )
    text: str = Field(default="", max_length=200)
    client: bool = Field(default=False, description="The client pressed it (recorded as 'client')")


class AckIn(BaseModel):
    """Acknowledge one alarm (``alarm_id``) or every active one (``all``)."""

    alarm_id: int | None = Field(default=None, ge=1, le=2**31)
    all: bool = False


class NoteIn(BaseModel):
    """The whole SOAP note of a session (every part is replaced; a signed session answers 409).

    ``objective`` is what the therapist adds to the measured facts, which are filled in by the
    clinic from the session's recording and never sent.
    """

    subjective: str = Field(
        default="", max_length=soap_notes.MAX_TEXT, description="The client's words"
    )
    objective: str = Field(
        default="",
        max_length=soap_notes.MAX_TEXT,
        description="What the therapist adds to the measured facts",
    )
    assessment: str = Field(default="", max_length=soap_notes.MAX_TEXT)
    plan: str = Field(default="", max_length=soap_notes.MAX_TEXT)
    areas: list[str] = Field(
        default_factory=list, max_length=64, description="Zones treated (contract zone slugs)"
    )
    pain_before: int | None = Field(
        default=None, ge=0, le=10, description="Pain or tension before, 0 (none) to 10 (worst)"
    )
    pain_after: int | None = Field(
        default=None, ge=0, le=10, description="Pain or tension after, 0 (none) to 10 (worst)"
    )
    notes: str | None = Field(
        default=None,
        max_length=treatments.MAX_NOTES,
        description="The session's other notes (the plain notes field); absent: unchanged",
    )
    template_id: RecordId | None = Field(
        default=None,
        description="Started from this clinic template: its text fills the parts left empty",
    )


class AddendumIn(BaseModel):
    """A correction or addition to a signed session's note, signed on saving."""

    text: str = Field(min_length=1, max_length=soap_notes.MAX_ADDENDUM)


# ------------------------------------------------------------------------------ responses


class MarkerOut(BaseModel):
    kind: str
    text: str
    who: str = Field(description="Who the marker is recorded as")


class AckOut(BaseModel):
    acknowledged: list[int]


class AddendumOut(BaseModel):
    id: int
    text: str
    signed_by: str = Field(description="Name of who wrote and signed it")
    signed_as: str = Field(description="therapist (the session's own) or owner")
    signer_credential: str = Field(description="Their certificate as it stood then")
    signed_at: str


class NoteOut(BaseModel):
    session_id: int
    status: str = Field(description="The session's: live, ended or signed")
    locked: bool = Field(description="Signed: the note cannot change; add addenda instead")
    started: bool = Field(description="A note has been saved (or the session signed)")
    subjective: str
    objective_measured: list[str] = Field(
        description="The measured facts of the session, one sentence each (as signed, once signed)"
    )
    objective: str = Field(description="What the therapist added to the measured facts")
    assessment: str
    plan: str
    areas: list[str] = Field(description="Zones treated (contract zone slugs)")
    pain_before: int | None
    pain_after: int | None
    template: str | None = Field(description="Name of the clinic template it started from")
    notes: str = Field(description="The session's other notes (the plain notes field)")
    updated_at: str | None
    signed_at: str | None
    signed_by: str | None
    signed_as: str | None
    signer_credential: str | None
    addenda: list[AddendumOut]


class NoteTemplateOut(BaseModel):
    id: int
    name: str
    subjective: str
    assessment: str
    plan: str


class ErrorOut(BaseModel):
    detail: str = Field(description="One line naming the field or record")


class RefusalOut(BaseModel):
    detail: str
    reasons: list[str] = Field(description="Every failed check of the readiness gate")


class TokenOut(BaseModel):
    token: str
    token_type: str
    expires_in_s: int
    role: str


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str


class ClientRow(BaseModel):
    id: int
    ref: str
    name: str
    sex: str
    birth_date: str | None


class ClientPage(BaseModel):
    total: int
    page: int
    per_page: int
    clients: list[ClientRow]


class ClientOut(BaseModel):
    id: int
    ref: str
    name: str
    birth_date: str | None
    sex: str
    phone: str
    email: str


class IntakeVersionOut(BaseModel):
    id: int
    version: int
    created_at: str
    intake: dict[str, Any] = Field(description="The ashiguard.intake/1 object")
    pain_sites: list[str]


class ScreeningOut(BaseModel):
    id: int
    intake_id: RecordId
    created_at: str
    screening: dict[str, Any] = Field(description="The ashiguard.screening/1 object")


class ConsentIn(BaseModel):
    typed_name: str = Field(description="The client's full name, typed by the client")
    agreed: bool = Field(description="The client ticked 'I have read and agree'")
    drawing: str = Field(default="", description="Drawn signature as a PNG data URL (optional)")


class ConsentOut(BaseModel):
    id: int
    client_id: RecordId
    intake_version: int
    form_version: str
    typed_name: str
    drawn: bool
    signed_at: str


class ConsentFormOut(BaseModel):
    version: str
    title: str
    risks: list[str]


class IntakeCreated(ScreeningOut):
    version: int


class IntakeOut(BaseModel):
    id: int
    client_id: RecordId
    version: int
    intake: dict[str, Any]
    pain_sites: list[str]
    created_at: str


class SessionOut(BaseModel):
    id: int
    client_id: RecordId
    practitioner_id: RecordId
    room_id: RecordId
    screening_id: RecordId
    status: str = Field(description="live, ended or signed")
    source: str
    started_at: str
    ended_at: str | None
    frames: int | None = Field(description="Frames recorded (once the session has ended)")
    error: str | None = Field(description="Why the session ended early (None: it did not)")
    recording: dict[str, Any] | None
    alerts: list[Any] | None
    summary: dict[str, Any] | None
    notes: str
    signed_at: str | None
    signed_by: str | None = Field(default=None, description="Name of who signed")
    signed_as: str | None = Field(
        default=None, description="therapist (the session's own) or owner (for them)"
    )
    signer_credential: str | None = Field(
        default=None, description="The signer's certificate as it stood when signing"
    )


class ClientDetail(ClientOut):
    intakes: list[IntakeVersionOut]
    screenings: list[ScreeningOut]
    sessions: list[SessionOut] | None = Field(
        default=None, description="Only for owners and therapists (absent otherwise)"
    )


class PractitionerOut(BaseModel):
    id: int
    name: str
    mass_kg: float
    technique: str
    certification: str
    certified_on: str | None
    certified_until: str | None
    training_hours: float
    user_id: int | None
    active: bool


class InspectionOut(BaseModel):
    inspected_on: str
    inspector: str
    passed: bool
    notes: str


class BarOut(BaseModel):
    id: int
    label: str
    rated_load_n: float
    inspection_interval_days: int
    due_on: str | None
    inspections: list[InspectionOut]


class RoomOut(BaseModel):
    id: int
    name: str
    notes: str
    bars: list[BarOut]


class InspectionCreated(BaseModel):
    id: int
    bar_id: RecordId
    inspected_on: str
    passed: bool


class ResearchRow(BaseModel):
    subject: str
    month: str
    age_band: str | None
    sex: str | None
    decision: str | None
    restrictions: Any
    status: str
    duration_s: float | None
    alerts: list[Any]
    summary: dict[str, Any] | None


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    active: bool


class UserCreated(BaseModel):
    id: int
    username: str
    role: str


class AuditEntryOut(BaseModel):
    at: str
    username: str
    action: str
    entity: str
    entity_id: str
    ip: str
    detail: str


class AuditPage(BaseModel):
    total: int
    entries: list[AuditEntryOut]


_E404: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}
_E409: dict[int | str, dict[str, Any]] = {409: {"model": ErrorOut}}


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
    meta = t.recording_meta or {}
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
        "frames": meta.get("frames"),
        "error": meta.get("error"),
        "recording": t.recording_meta,
        "alerts": t.alerts,
        "summary": t.summary,
        "notes": t.notes,
        "signed_at": t.signed_at.isoformat() if t.signed_at else None,
        "signed_by": t.signer_name,
        "signed_as": t.signed_as,
        "signer_credential": t.signer_credential,
    }


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={401: {"model": ErrorOut}, 429: {"model": ErrorOut}},
    summary="Exchange a username and password for a bearer token",
)
def token(
    body: TokenRequest, request: Request, s: Session = DB_SESSION
) -> dict[str, Any] | JSONResponse:
    try:
        user = authenticate(s, body.username, body.password, ip=client_ip(request))
        if user.totp_secret:
            if not body.code:
                raise LoginRefused(
                    "code: this account uses two-step login; send the 6-digit code of the "
                    "authenticator app as 'code'"
                )
            check_code(s, user, body.code, ip=client_ip(request))
    except LoginRefused as exc:
        repo.audit(
            s, None, "login_failed", "user", body.username[:64], ip=client_ip(request), detail="api"
        )
        s.commit()
        if exc.retry_after:
            return JSONResponse(
                {"detail": str(exc)},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return JSONResponse({"detail": str(exc)}, status_code=401)
    tok = issue_api_token(s, user, TOKEN_HOURS)
    repo.audit(s, user, "login", "user", user.id, ip=client_ip(request), detail="api token")
    return {
        "token": tok,
        "token_type": "bearer",
        "expires_in_s": int(TOKEN_HOURS * 3600),
        "role": user.role,
    }


@router.get("/me", response_model=MeOut, summary="The authenticated user")
def me(p: Principal = Depends(ANY)) -> dict[str, Any]:
    u = p.user
    return {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role}


@router.get("/clients", response_model=ClientPage, summary="Search clients (paginated)")
def clients(
    q: str = "",
    page: int = 1,
    per_page: int = 25,
    p: Principal = Depends(CLIENTS),
    s: Session = DB_SESSION,
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


@router.post("/clients", status_code=201, response_model=ClientOut, summary="Create a client")
def client_create(
    body: ClientIn,
    request: Request,
    p: Principal = Depends(CLIENTS),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        c = clinic.create_client(uow, body.model_dump(), p.user, client_ip(request))
    return _client_json(c)


@router.get(
    "/clients/{client_id}",
    response_model=ClientDetail,
    response_model_exclude_unset=True,
    responses=_E404,
    summary="One client with intakes, screenings (and sessions)",
)
def client_get(
    client_id: RecordId,
    request: Request,
    p: Principal = Depends(CLIENTS),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    with uow:
        c = clinic.read_client(uow, client_id, p.user, client_ip(request), "api")
    out = _client_json(c)
    out["intakes"] = [
        {
            "id": i.id,
            "version": i.version,
            "created_at": i.created_at.isoformat(),
            "intake": i.payload,
            "pain_sites": i.pain_sites,
        }
        for i in clinic.intakes_of(uow, c.id)
    ]
    out["screenings"] = [_screening_json(sc) for sc in clinic.screenings_of(uow, c.id)]
    if p.user.role in treatments.CLINICAL_ROLES:
        out["sessions"] = [
            _session_json(t)
            for t in uow.session.scalars(
                select(TreatmentSession)
                .where(TreatmentSession.client_id == c.id)
                .order_by(TreatmentSession.id)
            )
        ]
    return out


@router.post(
    "/clients/{client_id}/intakes",
    status_code=201,
    response_model=IntakeCreated,
    responses=_E404,
    summary="Add an intake version and screen it",
)
def intake_create(
    client_id: RecordId,
    body: IntakeIn,
    request: Request,
    p: Principal = Depends(CLIENTS),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        intake, sc = clinic.store_intake(
            uow, client_id, body.intake, body.pain_sites, p.user, client_ip(request)
        )
    return {"intake_id": intake.id, "version": intake.version, **_screening_json(sc)}


@router.get(
    "/consent-form",
    response_model=ConsentFormOut,
    summary="The consent form's words (risks of barefoot massage) and version",
)
def consent_form(p: Principal = Depends(CLIENTS)) -> dict[str, Any]:
    return {"version": CONSENT_VERSION, "title": CONSENT_TITLE, "risks": list(RISKS)}


@router.post(
    "/clients/{client_id}/consent",
    status_code=201,
    response_model=ConsentOut,
    responses=_E404,
    summary="The client's signed consent for their latest intake version",
)
def consent_create(
    client_id: RecordId,
    body: ConsentIn,
    request: Request,
    p: Principal = Depends(CLIENTS),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        row = consent.sign_consent(
            uow,
            client_id,
            {"typed_name": body.typed_name, "agreed": body.agreed, "drawing": body.drawing},
            p.user,
            client_ip(request),
        )
        version = uow.session.get(Intake, row.intake_id).version
    return {
        "id": row.id,
        "client_id": row.client_id,
        "intake_version": version,
        "form_version": row.form_version,
        "typed_name": row.typed_name,
        "drawn": row.drawing_png is not None,
        "signed_at": row.signed_at.isoformat(),
    }


@router.get(
    "/screenings/{screening_id}",
    response_model=ScreeningOut,
    responses=_E404,
    summary="One stored screening (ashiguard.screening/1)",
)
def screening_get(
    screening_id: RecordId,
    request: Request,
    p: Principal = Depends(CLIENTS),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    with uow:
        sc = clinic.read_screening(uow, screening_id, p.user, client_ip(request), "api")
    return _screening_json(sc)


@router.get(
    "/intakes/{intake_id}",
    response_model=IntakeOut,
    responses=_E404,
    summary="One stored intake version",
)
def intake_get(
    intake_id: RecordId,
    request: Request,
    p: Principal = Depends(CLIENTS),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    with uow:
        i = clinic.read_intake(uow, intake_id, p.user, client_ip(request), "api")
    return {
        "id": i.id,
        "client_id": i.client_id,
        "version": i.version,
        "intake": i.payload,
        "pain_sites": i.pain_sites,
        "created_at": i.created_at.isoformat(),
    }


@router.get("/practitioners", response_model=list[PractitionerOut], summary="Practitioners")
def practitioners(
    p: Principal = Depends(CLINICAL), s: Session = DB_SESSION
) -> list[dict[str, Any]]:
    return [
        _practitioner_json(x) for x in s.scalars(select(Practitioner).order_by(Practitioner.name))
    ]


@router.post(
    "/practitioners",
    status_code=201,
    response_model=PractitionerOut,
    summary="Add a practitioner (owner)",
)
def practitioner_create(
    body: PractitionerIn,
    request: Request,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        pr = clinic_admin.save_practitioner(uow, body.model_dump(), p.user, client_ip(request))
    return _practitioner_json(pr)


@router.get("/rooms", response_model=list[RoomOut], summary="Rooms with their bars and inspections")
def rooms(p: Principal = Depends(CLINICAL), s: Session = DB_SESSION) -> list[dict[str, Any]]:
    return [_room_json(r) for r in s.scalars(select(Room).order_by(Room.name))]


@router.post("/rooms", status_code=201, response_model=RoomOut, summary="Add a room (owner)")
def room_create(
    body: RoomIn,
    request: Request,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        room = clinic_admin.add_room(uow, body.model_dump(), p.user, client_ip(request))
    return _room_json(room)


@router.post(
    "/rooms/{room_id}/bars",
    status_code=201,
    response_model=RoomOut,
    responses=_E404,
    summary="Add an overhead bar (owner)",
)
def bar_create(
    room_id: RecordId,
    body: BarIn,
    request: Request,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        bar = clinic_admin.add_bar(uow, room_id, body.model_dump(), p.user, client_ip(request))
    room = uow.session.get(Room, bar.room_id, populate_existing=True)
    return _room_json(room)


@router.post(
    "/bars/{bar_id}/inspections",
    status_code=201,
    response_model=InspectionCreated,
    responses=_E404,
    summary="Record a bar inspection (owner)",
)
def inspection_create(
    bar_id: RecordId,
    body: InspectionIn,
    request: Request,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    data = body.model_dump() | {"passed": "yes" if body.passed else "no"}
    with uow:
        ins = clinic_admin.add_inspection(uow, bar_id, data, p.user, client_ip(request))
    return {
        "id": ins.id,
        "bar_id": ins.bar_id,
        "inspected_on": ins.inspected_on.isoformat(),
        "passed": ins.passed,
    }


@router.get("/sessions", response_model=list[SessionOut], summary="Treatment sessions")
def sessions(
    status: str = "", p: Principal = Depends(CLINICAL), s: Session = DB_SESSION
) -> list[dict[str, Any]]:
    stmt = select(TreatmentSession).order_by(TreatmentSession.started_at.desc())
    if status:
        if status not in ("live", "ended", "signed"):
            raise InputError("status: must be live, ended or signed")
        stmt = stmt.where(TreatmentSession.status == status)
    return [_session_json(t) for t in s.scalars(stmt.limit(500))]


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    responses={404: {"model": ErrorOut}, 409: {"model": RefusalOut}, 422: {"model": ErrorOut}},
    summary="Start a live session (readiness gate; 409 with the reasons when refused)",
)
async def session_create(
    body: SessionIn,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    live = request.app.state.live
    tare_first_s, calibration = live.zeroing_options(
        body.source, body.tare_first_s, body.calibration
    )
    with uow:
        t = treatments.start_session(
            uow,
            client_id=body.client_id,
            practitioner_id=body.practitioner_id,
            room_id=body.room_id,
            source=body.source,
            check_source=live.check_source,
            actor=p.user,
            ip=client_ip(request),
        )
    opts: dict[str, Any] = {}
    if body.duration_s is not None:
        opts["duration_s"] = body.duration_s
    if tare_first_s is not None:
        opts["tare_first_s"] = tare_first_s
    if calibration is not None:
        opts["calibration"] = calibration
    try:
        await run_in_threadpool(live.start, t.id, **opts)  # opening a source may take a while
    except Exception as exc:
        with uow:  # nothing runs it: end it now rather than at the next start
            treatments.finish_session(uow, t.id, SessionOutcome(error=f"could not start: {exc}"))
        raise
    with uow:
        return _session_json(treatments.get_session(uow, t.id, fresh=True))


@router.get(
    "/sessions/{session_id}",
    response_model=SessionOut,
    responses=_E404,
    summary="One treatment session (status, frames, error)",
)
def session_get(
    session_id: RecordId,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    with uow:
        t = treatments.read_session(uow, session_id, p.user, client_ip(request), "api")
    return _session_json(t)


@router.post(
    "/sessions/{session_id}/stop",
    response_model=SessionOut,
    responses={**_E404, **_E409},
    summary="End a live session (waits for its recording and analysis)",
)
async def session_stop(
    session_id: RecordId,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        t = treatments.live_session(uow, session_id, p.user)
    await run_in_threadpool(request.app.state.live.stop, t.id)  # waits for the analysis
    with uow:
        treatments.record_stop(uow, t.id, p.user, client_ip(request))
        return _session_json(treatments.get_session(uow, t.id, fresh=True))


@router.post(
    "/sessions/{session_id}/markers",
    status_code=202,
    response_model=MarkerOut,
    responses={**_E404, **_E409},
    summary="Mark this moment of a live session (the client's 'too much', a technique change)",
)
def session_marker(
    session_id: RecordId,
    body: MarkerIn,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        who = treatments.mark_moment(
            uow,
            session_id,
            body.kind,
            body.text,
            request.app.state.live.marker,
            p.user,
            client_ip(request),
            for_client=body.client,
        )
    return {"kind": body.kind, "text": body.text.strip(), "who": who}


@router.post(
    "/sessions/{session_id}/tare",
    status_code=202,
    response_model=TareOut,
    responses={**_E404, **_E409},
    summary="Zero the sheet of a live session now (refused by the session while it is loaded;"
    " the result comes in the live status)",
)
def session_tare(
    session_id: RecordId,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    live = request.app.state.live
    with uow:
        who = treatments.zero_sheet(
            uow, session_id, lambda sid, who: live.zero(sid, who), p.user, client_ip(request)
        )
    return {"requested": True, "who": who}


@router.post(
    "/sessions/{session_id}/ack",
    response_model=AckOut,
    responses={**_E404, **_E409},
    summary="Acknowledge an active alarm, or all of them",
)
def session_ack(
    session_id: RecordId,
    body: AckIn,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    live = request.app.state.live
    with uow:
        if body.all:
            ids = treatments.acknowledge_all_alarms(
                uow, session_id, live.acknowledge_all, p.user, client_ip(request)
            )
            return {"acknowledged": ids}
        if body.alarm_id is None:
            raise InputError("alarm_id: give an alarm id, or all: true")
        treatments.acknowledge_alarm(
            uow, session_id, body.alarm_id, live.acknowledge, p.user, client_ip(request)
        )
    return {"acknowledged": [body.alarm_id]}


@router.get(
    "/sessions/{session_id}/note",
    response_model=NoteOut,
    responses=_E404,
    summary="The SOAP note of a session, with its measured facts and addenda",
)
def session_note(
    session_id: RecordId,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    with uow:
        t = treatments.read_session(uow, session_id, p.user, client_ip(request), "api note")
        return soap_notes.note_view(uow, t)


@router.put(
    "/sessions/{session_id}/note",
    response_model=NoteOut,
    responses={**_E404, **_E409, 422: {"model": ErrorOut}},
    summary="Write the SOAP note of a session (409 once the session is signed)",
)
def session_note_put(
    session_id: RecordId,
    body: NoteIn,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    note = soap_notes.NoteInput(
        subjective=body.subjective,
        objective=body.objective,
        assessment=body.assessment,
        plan=body.plan,
        areas=tuple(body.areas),
        pain_before=body.pain_before,
        pain_after=body.pain_after,
        notes=body.notes,
    )
    with uow:
        return soap_notes.save_note(
            uow, session_id, note, p.user, client_ip(request), template_id=body.template_id
        )


@router.post(
    "/sessions/{session_id}/addenda",
    status_code=201,
    response_model=AddendumOut,
    responses={**_E404, **_E409, 422: {"model": ErrorOut}},
    summary="Add a signed addendum to a signed session's note (409 before signing)",
)
def session_addendum(
    session_id: RecordId,
    body: AddendumIn,
    request: Request,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        return soap_notes.add_addendum(uow, session_id, body.text, p.user, client_ip(request))


@router.get(
    "/note-templates",
    response_model=list[NoteTemplateOut],
    summary="The clinic's note templates (pick one as template_id when writing a note)",
)
def note_templates(
    p: Principal = Depends(CLINICAL), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> list[dict[str, Any]]:
    with uow:
        return [
            {
                "id": tpl.id,
                "name": tpl.name,
                "subjective": tpl.subjective,
                "assessment": tpl.assessment,
                "plan": tpl.plan,
            }
            for tpl in soap_notes.list_templates(uow)
        ]


@router.get(
    "/research/sessions",
    response_model=list[ResearchRow],
    summary="De-identified session data (researcher)",
)
def research_sessions(
    request: Request, p: Principal = Depends(RESEARCH), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> list[dict[str, Any]]:
    with uow:
        return research.export_research(
            uow, request.app.state.pseudonym_secret, p.user, client_ip(request)
        )


@router.get("/users", response_model=list[UserOut], summary="Users (owner)")
def users(
    p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> list[dict[str, Any]]:
    return [
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "active": u.active,
        }
        for u in clinic_admin.list_users(uow)
    ]


@router.post("/users", status_code=201, response_model=UserCreated, summary="Add a user (owner)")
def user_create(
    body: UserIn,
    request: Request,
    p: Principal = Depends(OWNER),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    _csrf(request, p)
    with uow:
        u = clinic_admin.create_user(
            uow,
            body.username,
            body.password,
            body.role,
            body.display_name,
            actor=p.user,
            ip=client_ip(request),
            via="api",
            hash_password=hash_password,
        )
    return {"id": u.id, "username": u.username, "role": u.role}


@router.get("/audit", response_model=AuditPage, summary="The audit log (owner), newest first")
def audit(
    user: str = "",
    action: str = "",
    entity: str = "",
    entity_id: str = "",
    since: str = "",
    until: str = "",
    limit: int = 200,
    p: Principal = Depends(OWNER),
    s: Session = DB_SESSION,
) -> dict[str, Any]:
    if not 1 <= limit <= 5000:
        raise InputError("limit: must be 1 to 5000")
    stmt = repo.audit_query(
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


_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_ERRORS = {
    "401": "Not logged in: send 'Authorization: Bearer TOKEN'",
    "403": "This role may not (or a cookie call without its X-CSRF-Token)",
    "422": "Bad input: one line naming the field",
    "503": "The clinic database is busy: nothing was stored, try again (Retry-After)",
}


def _declare_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Describe the errors as the app answers them: ``{"detail": "one line"}`` (``ErrorOut``)
    for 401, 403, 422 and 503 on every operation, instead of FastAPI's default 422 schema
    (a list of pydantic errors) that the app never sends."""
    for path, item in spec["paths"].items():
        for op in item.values():
            responses = op.setdefault("responses", {})
            for code, text in _ERRORS.items():
                if code == "403" and path.endswith("/auth/token"):
                    continue
                declared = responses.get(code, {})
                schema = declared.get("content", {}).get("application/json", {}).get("schema")
                if schema is None or schema.get("$ref", "").endswith("/HTTPValidationError"):
                    responses[code] = {
                        "description": text,
                        "content": {"application/json": {"schema": dict(_ERROR_REF)}},
                    }
    schemas = spec.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return spec


def _schema(request: Request) -> dict[str, Any]:
    app = request.app
    if getattr(app.state, "openapi_cache", None) is None:
        app.state.openapi_cache = _declare_errors(
            get_openapi(
                title="ashiguard clinic API",
                version="1",
                description=__doc__,
                routes=[r for r in app.routes if getattr(r, "path", "").startswith("/api/v1")],
            )
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
