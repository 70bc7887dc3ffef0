"""Physicians' clearances: the form (with the letter), and the letter served back as a download."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Client
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.adapters.uploads import EXTENSIONS, MAX_UPLOAD_BYTES, UploadStore
from ashiguard.domain.errors import InputError
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.forms import error_field
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import Principal, checked_form, client_ip, html_user
from ashiguard.services import clearances, clinic

__all__ = [
    "LETTER_HEADERS",
    "clearance_context",
    "letter_response",
    "read_upload",
    "router",
    "store_from",
]

router = APIRouter()

LETTER_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}
"""Headers of every letter answer (with the sniffed ``Content-Type`` and ``attachment``)."""

FIELDS = ("physician_name", "practice", "contact", "cleared_on", "valid_until", "restrictions")


def store_from(request: Request) -> UploadStore:
    """The clinic's upload folder (``DATA_DIR/uploads``)."""
    return UploadStore(request.app.state.settings.data_dir)


async def read_upload(value: Any) -> clearances.Letter | None:
    """The letter of a form's file field, read up to the cap and one byte more (so a file over
    the cap is refused without holding more of it); None when no file was chosen."""
    if not isinstance(value, UploadFile):
        return None
    data = await value.read(MAX_UPLOAD_BYTES + 1)
    if not data and not value.filename:
        return None
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"letter: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    return clearances.Letter(data, value.filename or "")


def clearance_context(uow: SqlUnitOfWork, client: Client, screening: Any = None) -> dict[str, Any]:
    """What the pages show about a client's clearances: the list, the latest screening's
    findings that need one (the form offers those), and what the clearances do today for
    ``screening`` (default: the latest)."""
    s = uow.session
    latest = repo.latest_screening(s, client.id)
    shown = screening if screening is not None else latest
    state = clearances.state_for(s, shown) if shown is not None else None
    needs = [
        f
        for f in (latest.payload.get("findings", []) if latest is not None else [])
        if f.get("decision") == "clearance_required"
    ]
    return {
        "clearances": clearances.clearances_of(s, client.id),
        "clearance_state": state,
        "clearance_findings": needs,
        "clearance_screening": latest,
        "max_upload_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "today": date.today().isoformat(),
    }


def letter_response(row: Any, data: bytes) -> Response:
    """A letter as a download: ``Content-Type`` as sniffed when it was stored, ``attachment``
    under a name of our own (the client's file name never reaches a header), ``nosniff``."""
    name = f"clearance-{row.id}-letter{EXTENSIONS.get(row.letter_type, '.bin')}"
    return Response(
        content=data,
        media_type=row.letter_type,
        headers={**LETTER_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


def _page(
    request: Request,
    uow: SqlUnitOfWork,
    client: Client,
    values: dict[str, Any],
    error: str = "",
    status: int = 200,
) -> Response:
    return render(
        request,
        "clearance_new.html",
        {
            "client": client,
            "v": values,
            "error": error,
            "field": error_field(error) if error else "",
            **clearance_context(uow, client),
        },
        status_code=status,
    )


@router.get("/clients/{client_id}/clearances/new", include_in_schema=False)
def clearance_form(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user(*clearances.CLEARANCE_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        client = clinic.read_client(uow, client_id, p.user, client_ip(request), "clearance form")
    return _page(request, uow, client, {"rules": []})


@router.post("/clients/{client_id}/clearances", include_in_schema=False)
async def clearance_submit(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user(*clearances.CLEARANCE_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    form = await checked_form(request, p)
    try:
        values: dict[str, Any] = {k: str(form.get(k) or "") for k in FIELDS}
        values["rules"] = [str(x) for x in form.getlist("rules")]
        uploads = store_from(request)
        row = None
        try:
            letter = await read_upload(form.get("letter"))
            with uow:
                row = clearances.record_clearance(
                    uow, client_id, values, letter, uploads, p.user, client_ip(request)
                )
        except InputError as exc:
            with uow:
                client = clinic.read_client(uow, client_id, p.user, client_ip(request), "clearance")
            return _page(request, uow, client, values, str(exc), 400)
        except BaseException:
            if row is not None:  # stored, then the commit failed: no file without its record
                uploads.delete(row.letter_path)
            raise
    finally:
        await form.close()  # the spooled upload's temporary file
    return RedirectResponse(f"/clients/{client_id}#clearances", status_code=303)


@router.get("/clearances/{clearance_id}/letter", include_in_schema=False)
def clearance_letter(
    request: Request,
    clearance_id: RecordId,
    p: Principal = Depends(html_user(*clearances.CLEARANCE_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        row, data = clearances.read_letter(
            uow, clearance_id, store_from(request), p.user, client_ip(request)
        )
    return letter_response(row, data)
