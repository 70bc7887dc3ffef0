"""The consent page: a client reads the risks of barefoot massage and signs for this intake."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ashiguard.adapters.db.models import Client
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.consent import CONSENT_TITLE, CONSENT_VERSION, RISKS
from ashiguard.domain.errors import InputError
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.forms import error_field
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import Principal, checked_form, client_ip, html_user
from ashiguard.services import clinic, consent

__all__ = ["router"]

router = APIRouter()


def _page(
    request: Request,
    uow: SqlUnitOfWork,
    client: Client,
    values: dict[str, str],
    error: str = "",
    status: int = 200,
) -> Response:
    intake = consent.latest_intake(uow.session, client.id)
    signed = consent.consent_for(uow.session, intake.id) if intake is not None else None
    return render(
        request,
        "consent.html",
        {
            "client": client,
            "intake": intake,
            "signed": signed,
            "title": CONSENT_TITLE,
            "form_version": CONSENT_VERSION,
            "risks": RISKS,
            "v": values,
            "error": error,
            "field": error_field(error) if error else "",
        },
        status_code=status,
    )


@router.get("/clients/{client_id}/consent", include_in_schema=False)
def consent_form(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user(*consent.CONSENT_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        client = clinic.read_client(uow, client_id, p.user, client_ip(request), "consent form")
    return _page(request, uow, client, {})


@router.post("/clients/{client_id}/consent", include_in_schema=False)
async def consent_submit(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user(*consent.CONSENT_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    form = await checked_form(request, p)
    values = {k: str(form.get(k) or "") for k in ("typed_name", "agreed", "drawing")}
    try:
        with uow:
            consent.sign_consent(uow, client_id, values, p.user, client_ip(request))
    except InputError as exc:
        with uow:
            client = clinic.read_client(uow, client_id, p.user, client_ip(request), "consent")
        values.pop("drawing")  # drawn again: a picture is not sent back into the page
        return _page(request, uow, client, values, str(exc), 400)
    return RedirectResponse(f"/clients/{client_id}", status_code=303)
