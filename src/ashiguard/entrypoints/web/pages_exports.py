"""Downloads: a session's report PDF and zone table CSV, the research CSV, a client's record
PDF and a session as FHIR, from the pages (login cookie) and the API (``/api/v1``).

The routes only check the login and role and hand the file over; the use cases in
:mod:`ashiguard.services.exports` build it, check the role again and write the audit entry.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.security import Principal, api_user, client_ip, html_user
from ashiguard.services import exports, research, treatments

__all__ = ["RESEARCH_API_ROWS", "RESEARCH_PAGE_ROWS", "router"]

router = APIRouter()
CLINICAL_PAGE = html_user(*treatments.CLINICAL_ROLES)
CLINICAL_API = api_user(*treatments.CLINICAL_ROLES)
RESEARCH_PAGE = html_user(*research.RESEARCH_ROLES)
RESEARCH_API = api_user(*research.RESEARCH_ROLES)
_ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "no such record, or no recording"},
    409: {"description": "the session is still live"},
}


def _file(x: exports.Export) -> Response:
    return Response(
        x.content,
        media_type=x.media_type,
        headers={"Content-Disposition": f'attachment; filename="{x.filename}"'},
    )


def _report(request: Request, session_id: int, p: Principal, uow: SqlUnitOfWork) -> Response:
    with uow:
        x = exports.session_report_pdf(
            uow, session_id, request.app.state.settings.data_dir, p.user, client_ip(request)
        )
    return _file(x)


@router.get("/sessions/{session_id}/report.pdf", include_in_schema=False)
def session_report_page(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL_PAGE),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    return _report(request, session_id, p, uow)


@router.get(
    "/api/v1/sessions/{session_id}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **_ERRORS},
    summary="The session report as a PDF (ended or signed sessions with a recording)",
    tags=["api"],
)
def session_report_api(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL_API),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    return _report(request, session_id, p, uow)


def _zones(request: Request, session_id: int, p: Principal, uow: SqlUnitOfWork) -> Response:
    with uow:
        x = exports.session_zones_csv(uow, session_id, p.user, client_ip(request))
    return _file(x)


@router.get("/sessions/{session_id}/zones.csv", include_in_schema=False)
def session_zones_page(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL_PAGE),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    return _zones(request, session_id, p, uow)


@router.get(
    "/api/v1/sessions/{session_id}/zones.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **_ERRORS},
    summary="The session's per-zone summary as CSV (units in the header)",
    tags=["api"],
)
def session_zones_api(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL_API),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    return _zones(request, session_id, p, uow)


RESEARCH_PAGE_ROWS = 300
"""The rows the research page shows (``pages_sessions.research_page``), and its CSV."""
RESEARCH_API_ROWS = 1000
"""The rows of ``GET /api/v1/research/sessions``, and its CSV."""


@router.get("/research/sessions.csv", include_in_schema=False)
def research_csv_page(
    request: Request,
    p: Principal = Depends(RESEARCH_PAGE),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    secret = request.app.state.pseudonym_secret
    with uow:
        x = exports.research_csv(
            uow, secret, p.user, client_ip(request), "page CSV", RESEARCH_PAGE_ROWS
        )
    return _file(x)


@router.get(
    "/api/v1/research/sessions.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="De-identified session data as CSV (researcher)",
    tags=["api"],
)
def research_csv_api(
    request: Request,
    p: Principal = Depends(RESEARCH_API),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    secret = request.app.state.pseudonym_secret
    with uow:
        x = exports.research_csv(uow, secret, p.user, client_ip(request), "CSV", RESEARCH_API_ROWS)
    return _file(x)


def _record(request: Request, client_id: int, p: Principal, uow: SqlUnitOfWork) -> Response:
    settings = request.app.state.settings
    with uow:
        x = exports.client_record_pdf(
            uow, client_id, settings.data_dir, p.user, client_ip(request), settings.clinic_name
        )
    return _file(x)


@router.get("/clients/{client_id}/record.pdf", include_in_schema=False)
def client_record_page(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(CLINICAL_PAGE),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    return _record(request, client_id, p, uow)


@router.get(
    "/api/v1/clients/{client_id}/record.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: {"description": "no such client"}},
    summary="The client's whole record as one PDF (owner, therapist)",
    tags=["api"],
)
def client_record_api(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(CLINICAL_API),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    return _record(request, client_id, p, uow)


@router.get(
    "/api/v1/sessions/{session_id}/fhir",
    response_class=Response,
    responses={200: {"content": {"application/fhir+json": {}}}, **_ERRORS},
    summary="The session as a FHIR R4 Bundle: Patient, Procedure, Observations, the report "
    "PDF as a DocumentReference, the screening's RiskAssessment and Flags",
    tags=["api"],
)
def session_fhir_api(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL_API),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        bundle = exports.session_fhir(
            uow, session_id, request.app.state.settings.data_dir, p.user, client_ip(request)
        )
    body = json.dumps(bundle, ensure_ascii=False).encode("utf-8")
    return _file(exports.Export(body, f"session-{session_id}-fhir.json", "application/fhir+json"))
