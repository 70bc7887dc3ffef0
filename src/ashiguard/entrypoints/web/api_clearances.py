"""The JSON API of physicians' clearances (``/api/v1/clients/{id}/clearances``).

``POST`` takes ``multipart/form-data`` (the letter is a file): ``physician_name``,
``practice``, ``contact``, ``cleared_on`` (YYYY-MM-DD), ``valid_until`` (optional), ``rules``
(repeated, one rule id each), ``restrictions`` (optional text) and the file ``letter``.
``GET`` lists the client's clearances with what they do for the latest screening today.
Letters are downloaded from ``letter_url`` (``/clearances/{id}/letter``), as on the pages.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.pages_clearances import read_upload, store_from
from ashiguard.entrypoints.web.security import Principal, api_user, check_csrf, client_ip
from ashiguard.services import clearances, clinic

__all__ = ["ClearanceOut", "ClearancesOut", "router"]

router = APIRouter(prefix="/api/v1", tags=["api"])

CLEARANCE_USERS = api_user(*clearances.CLEARANCE_ROLES)


class ClearanceOut(BaseModel):
    id: int
    client_id: int
    screening_id: int | None = Field(description="The screening it was recorded against")
    physician_name: str
    practice: str
    contact: str
    cleared_on: str = Field(description="The date on the letter (YYYY-MM-DD)")
    valid_until: str | None = Field(description="Last day it is valid (None: no end given)")
    rules: list[str] = Field(description="Rule ids of the clearance_required findings it covers")
    facts: dict[str, list[str]] = Field(
        description="For unknown-code: the facts (codes) the physician was shown; only those"
    )
    restrictions: str = Field(description="Restrictions the physician gave, as written")
    letter_url: str
    letter_type: str = Field(description="application/pdf, image/png or image/jpeg (sniffed)")
    letter_name: str = Field(description="The uploaded file's name, as text only")
    letter_bytes: int
    letter_sha256: str
    recorded_at: str
    recorded_by: int | None


class ClearancesOut(BaseModel):
    client_id: int
    screening_id: int | None = Field(description="The client's latest screening")
    screening_decision: str | None = Field(description="Its decision, as the rules said")
    effective_decision: str | None = Field(
        description="The decision the readiness gate applies today, with the clearances"
    )
    needed: list[str] = Field(description="Rules of its findings that need clearance")
    missing: list[str] = Field(description="Those no current clearance covers")
    clearances: list[ClearanceOut] = Field(description="Newest first")


def _json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "client_id": row.client_id,
        "screening_id": row.screening_id,
        "physician_name": row.physician_name,
        "practice": row.practice,
        "contact": row.contact,
        "cleared_on": row.cleared_on.isoformat(),
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "rules": list(row.rules or []),
        "facts": dict(row.facts or {}),
        "restrictions": row.restrictions,
        "letter_url": f"/clearances/{row.id}/letter",
        "letter_type": row.letter_type,
        "letter_name": row.letter_name,
        "letter_bytes": row.letter_bytes,
        "letter_sha256": row.letter_sha256,
        "recorded_at": row.recorded_at.isoformat(),
        "recorded_by": row.recorded_by,
    }


_E = {404: {"description": "No such client"}, 413: {"description": "Letter over 5 MB"}}


@router.post(
    "/clients/{client_id}/clearances",
    status_code=201,
    response_model=ClearanceOut,
    responses=_E,
    summary="Record a physician's clearance with the letter (multipart/form-data)",
)
async def clearance_create(
    client_id: RecordId,
    request: Request,
    physician_name: str = Form(""),
    practice: str = Form(""),
    contact: str = Form(""),
    cleared_on: str = Form(""),
    valid_until: str = Form(""),
    rules: list[str] = Form([]),
    restrictions: str = Form(""),
    letter: UploadFile | None = File(None),
    p: Principal = Depends(CLEARANCE_USERS),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    check_csrf(p, request.headers.get("x-csrf-token"))
    values = {
        "physician_name": physician_name,
        "practice": practice,
        "contact": contact,
        "cleared_on": cleared_on,
        "valid_until": valid_until,
        "rules": rules,
        "restrictions": restrictions,
    }
    uploads = store_from(request)
    row = None
    try:
        data = await read_upload(letter)
        with uow:
            row = clearances.record_clearance(
                uow, client_id, values, data, uploads, p.user, client_ip(request)
            )
    except BaseException:
        if row is not None:  # stored, then the commit failed: no file without its record
            uploads.delete(row.letter_path)
        raise
    return _json(row)


@router.get(
    "/clients/{client_id}/clearances",
    response_model=ClearancesOut,
    responses=_E,
    summary="A client's physician clearances and what they do for the latest screening",
)
def clearance_list(
    client_id: RecordId,
    request: Request,
    p: Principal = Depends(CLEARANCE_USERS),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    with uow:
        c = clinic.read_client(uow, client_id, p.user, client_ip(request), "api clearances")
    s = uow.session
    latest = repo.latest_screening(s, c.id)
    state = clearances.state_for(s, latest) if latest is not None else None
    return {
        "client_id": c.id,
        "screening_id": latest.id if latest is not None else None,
        "screening_decision": latest.decision if latest is not None else None,
        "effective_decision": state.effective.value if state is not None else None,
        "needed": list(state.needed) if state is not None else [],
        "missing": list(state.missing) if state is not None else [],
        "clearances": [_json(r) for r in clearances.clearances_of(s, c.id)],
    }
