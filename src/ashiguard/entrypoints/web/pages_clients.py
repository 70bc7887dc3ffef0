"""Client pages: list and search, new client, client record, intake form, screening result."""

from __future__ import annotations

from datetime import date
from math import ceil

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import (
    Client,
    Intake,
    Practitioner,
    TreatmentSession,
)
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.codes import CONDITION_CODES, MEDICATION_CODES, PROCEDURE_CODES, SYMPTOM_CODES
from ashiguard.domain.errors import InputError
from ashiguard.domain.zone_names import ZONE_SLUGS
from ashiguard.entrypoints.web import forms
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.pages_clearances import clearance_context
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    DB_SESSION,
    Principal,
    checked_form,
    client_ip,
    html_user,
)
from ashiguard.entrypoints.web.text_guard import proper_query
from ashiguard.services import clinic, consent, history
from ashiguard.services.comfort import client_comfort
from ashiguard.services.uow import fetch

__all__ = ["PER_PAGE", "intake_form_context", "router"]

router = APIRouter(dependencies=[Depends(proper_query)])
PER_PAGE = 25
CLIENT_ROLES = clinic.CLIENT_ROLES


@router.get("/clients", include_in_schema=False)
def client_list(
    request: Request,
    q: str = "",
    page: int = 1,
    p: Principal = Depends(html_user(*CLIENT_ROLES)),
    s: Session = DB_SESSION,
) -> Response:
    q = q.strip()[:100]
    page = max(1, page)
    rows, total = repo.search_clients(s, q, page, PER_PAGE)
    pages = max(1, ceil(total / PER_PAGE))
    return render(
        request,
        "clients.html",
        {"clients": rows, "q": q, "page": page, "pages": pages, "total": total},
    )


@router.get("/clients/new", include_in_schema=False)
def client_new_form(request: Request, p: Principal = Depends(html_user(*CLIENT_ROLES))) -> Response:
    return render(request, "client_new.html", {"values": {}, "error": "", "field": ""})


@router.post("/clients/new", include_in_schema=False)
async def client_new(
    request: Request,
    p: Principal = Depends(html_user(*CLIENT_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    form = await checked_form(request, p)
    values = {k: str(form.get(k, "")) for k in ("name", "birth_date", "sex", "phone", "email")}
    try:
        with uow:
            client = clinic.create_client(uow, values, p.user, client_ip(request))
    except InputError as exc:
        return render(
            request,
            "client_new.html",
            {"values": values, "error": str(exc), "field": forms.error_field(str(exc))},
            status_code=400,
        )
    return RedirectResponse(f"/clients/{client.id}/intake", status_code=303)


@router.get("/clients/{client_id}", include_in_schema=False)
def client_page(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user(*CLIENT_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        client = clinic.read_client(uow, client_id, p.user, client_ip(request))
    s = uow.session
    sessions = []
    if p.user.role in ("owner", "therapist"):
        sessions = list(
            s.scalars(
                select(TreatmentSession)
                .where(TreatmentSession.client_id == client.id)
                .order_by(TreatmentSession.started_at.desc())
            )
        )
    screenings = clinic.screenings_of(uow, client.id)
    by_intake = {sc.intake_id: sc for sc in screenings}
    latest = consent.latest_intake(s, client.id)
    return render(
        request,
        "client.html",
        {
            "history": history.client_history(uow, client.id),
            "consent": consent.consent_for(s, latest.id) if latest is not None else None,
            "client": client,
            "intakes": clinic.intakes_of(uow, client.id),
            "screenings": screenings,
            "by_intake": by_intake,
            "sessions": sessions,
            "comfort": (
                client_comfort(uow, client.id, request.app.state.settings.data_dir)
                if sessions
                else None
            ),
            **clearance_context(uow, client),
            "v": {"rules": []},
            "error": "",
            "field": "",
        },
    )


def _row(key: str) -> int:
    """The row number of a form field ``conditions.2.code`` (-1 when it has none)."""
    parts = key.split(".")
    row = parts[1] if len(parts) > 2 else ""
    return int(row) if row.isascii() and row.isdigit() and len(row) <= 2 else -1


def intake_form_context(values: dict[str, object], error: str = "") -> dict[str, object]:
    """What the intake form template needs besides the client: the values, the error, enough
    rows for every condition, procedure and medication given, and the code lists."""
    n = {
        kind: max(
            base,
            1 + max((_row(k) for k in values if k.startswith(kind + ".")), default=-1),
        )
        for kind, base in (
            ("conditions", forms.CONDITION_ROWS),
            ("procedures", forms.PROCEDURE_ROWS),
            ("medications", forms.MEDICATION_ROWS),
        )
    }
    return {
        "v": values,
        "error": error,
        "field": forms.error_field(error) if error else "",
        "rows": n,
        "conditions": CONDITION_CODES,
        "procedures": PROCEDURE_CODES,
        "medications": MEDICATION_CODES,
        "symptom_codes": SYMPTOM_CODES,
        "zones": ZONE_SLUGS,
    }


def _intake_page(
    request: Request, client: Client, values: dict[str, object], error: str = "", status: int = 200
) -> Response:
    return render(
        request,
        "intake.html",
        {"client": client, **intake_form_context(values, error)},
        status_code=status,
    )


@router.get("/clients/{client_id}/intake", include_in_schema=False)
def intake_form(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user(*CLIENT_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        client = clinic.read_client(uow, client_id, p.user, client_ip(request), "intake form")
    last = clinic.intakes_of(uow, client.id)
    if last:  # stable history only, to be confirmed; today's findings start empty
        values = forms.carry_over(last[0].payload)
        values["carried_from"] = f"v{last[0].version} of {last[0].payload.get('date', '')}"
    else:
        values = {
            "client.birth_date": client.birth_date.isoformat() if client.birth_date else "",
            "client.sex": client.sex,
        }
    values["date"] = date.today().isoformat()
    return _intake_page(request, client, values)


@router.post("/clients/{client_id}/intake", include_in_schema=False)
async def intake_submit(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user(*CLIENT_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    client: Client = fetch(uow, Client, client_id)
    form = await checked_form(request, p)
    symptoms = [str(x) for x in form.getlist("symptoms")]
    pain = [str(x) for x in form.getlist("pain_sites")]
    values: dict[str, object] = {
        k: str(v) for k, v in form.items() if k not in ("symptoms", "pain_sites")
    }
    values["symptoms"] = symptoms
    values["pain_sites"] = pain
    try:
        payload = forms.form_to_intake(form, symptoms, client.ref)
        with uow:
            _, sc = clinic.store_intake(uow, client.id, payload, pain, p.user, client_ip(request))
    except InputError as exc:
        return _intake_page(request, client, values, str(exc), status=400)
    return RedirectResponse(f"/screenings/{sc.id}", status_code=303)


@router.get("/screenings/{screening_id}", include_in_schema=False)
def screening_page(
    request: Request,
    screening_id: RecordId,
    practitioner_id: RecordId | None = None,
    p: Principal = Depends(html_user(*CLIENT_ROLES)),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        sc = clinic.read_screening(uow, screening_id, p.user, client_ip(request))
    s = uow.session
    client = s.get(Client, sc.client_id)
    intake = s.get(Intake, sc.intake_id)
    practitioners = s.scalars(
        select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.name)
    ).all()
    chosen = next((x for x in practitioners if x.id == practitioner_id), None)
    chosen = chosen or next((x for x in practitioners if x.user_id == p.user.id), None)
    chosen = chosen or (practitioners[0] if practitioners else None)
    cleared = clearance_context(uow, client, sc)
    state = cleared["clearance_state"]
    plan = None
    if chosen is not None:
        from ashiguard.domain.plan import make_plan
        from ashiguard.domain.screening import parse_screening
        from ashiguard.domain.zones import ZONES

        seen = state.screening if state.cleared_by_physician else parse_screening(sc.payload)
        result = make_plan(seen, chosen.mass_kg).to_json()
        plan = {
            "summary": result["summary"],
            "barefoot": result["barefoot_work"],
            "max_load_fraction": result["max_load_fraction"],
            "zones": [(z, result["zones"][z]) for z in ZONES if z in result["zones"]],
        }
    return render(
        request,
        "screening.html",
        {
            "sc": sc,
            "client": client,
            "intake": intake,
            "consent": consent.consent_for(s, sc.intake_id),
            "plan": plan,
            "chosen": chosen,
            "practitioners": practitioners,
            **cleared,
            "v": {"rules": []},
            "error": "",
            "field": "",
        },
    )


@router.get("/clients/{client_id}/plots/trends.png", include_in_schema=False)
def client_trends_png(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(html_user("owner", "therapist")),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    from ashiguard.entrypoints.web.plots import render_trends

    with uow:
        client = clinic.read_client(uow, client_id, p.user, client_ip(request), "trend plots")
    png = render_trends(history.visit_trends(uow, client.id))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
