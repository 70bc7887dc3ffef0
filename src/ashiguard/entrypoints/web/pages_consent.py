"""The consent page (a client reads the risks of barefoot massage and signs for this intake),
and the client's own pages on a one-time link: intake and consent filled alone on a tablet
handed over, or on the client's phone, exposing nothing else of the clinic."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ashiguard.adapters.db.models import Client
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.consent import CONSENT_TITLE, CONSENT_VERSION, RISKS
from ashiguard.domain.errors import InputError
from ashiguard.entrypoints.web import forms
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.forms import error_field
from ashiguard.entrypoints.web.pages_clients import intake_form_context
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    COOKIE,
    Principal,
    checked_form,
    client_ip,
    cookie_secure,
    end_session,
    html_user,
)
from ashiguard.entrypoints.web.text_guard import proper_query, refuse_nul
from ashiguard.services import clinic, consent

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(proper_query)])


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


@router.post("/clients/{client_id}/handover", include_in_schema=False)
async def handover(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user(*consent.CONSENT_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    """A one-time link for the client. ``here``: this device goes to the client, so the staff
    member is logged out of it first; otherwise the page shows the link to open elsewhere."""
    form = await checked_form(request, p)
    with uow:
        client = clinic.read_client(uow, client_id, p.user, client_ip(request), "handover")
        token = consent.create_link(uow, client.id, p.user, client_ip(request))
        if form.get("here"):
            end_session(uow.session, request.cookies.get(COOKIE, ""))
    if form.get("here"):
        resp = RedirectResponse(f"/welcome/{token}", status_code=303)
        resp.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(request)
        )
        return resp
    url = str(request.base_url).rstrip("/") + f"/welcome/{token}"
    return render(
        request,
        "handover.html",
        {"client": client, "url": url, "hours": consent.LINK_HOURS},
    )


def _client_page(
    request: Request,
    token: str,
    client: Client,
    values: dict[str, object],
    error: str = "",
    status: int = 200,
) -> Response:
    return render(
        request,
        "intake.html",
        {
            "client": client,
            "client_mode": True,
            "form_action": f"/welcome/{token}",
            "consent_title": CONSENT_TITLE,
            "risks": RISKS,
            "user": None,  # no menu: the client sees this page and nothing else
            **intake_form_context(values, error),
        },
        status_code=status,
    )


@router.get("/welcome/{token}", include_in_schema=False)
def client_intake(
    request: Request, token: str, uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    with uow:
        _, client = consent.open_link(uow, token)
        last = consent.latest_intake(uow.session, client.id)
    values: dict[str, object] = (
        forms.carry_over(last.payload)
        if last is not None
        else {
            "client.birth_date": client.birth_date.isoformat() if client.birth_date else "",
            "client.sex": client.sex,
        }
    )
    values["date"] = date.today().isoformat()
    return _client_page(request, token, client, values)


@router.post("/welcome/{token}", include_in_schema=False)
async def client_intake_submit(
    request: Request, token: str, uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    form = await request.form()
    refuse_nul(form.multi_items())
    symptoms = [str(x) for x in form.getlist("symptoms")]
    pain = [str(x) for x in form.getlist("pain_sites")]
    values: dict[str, object] = {
        k: str(v) for k, v in form.items() if k not in ("symptoms", "pain_sites")
    }
    values["symptoms"], values["pain_sites"] = symptoms, pain
    values["date"] = date.today().isoformat()  # an intake on a link is for today
    with uow:
        _, client = consent.open_link(uow, token)
    try:
        payload = forms.form_to_intake(
            {k: v for k, v in values.items() if k not in ("typed_name", "agreed")},
            symptoms,
            client.ref,
        )
        with uow:
            consent.submit_by_client(
                uow,
                token,
                payload,
                pain,
                {"typed_name": values.get("typed_name", ""), "agreed": values.get("agreed", "")},
                client_ip(request),
            )
    except InputError as exc:
        return _client_page(request, token, client, values, str(exc), 400)
    return render(request, "welcome_done.html", {"client": client, "user": None})
