"""Downloads: a session's report PDF and zone table CSV, the research CSV, a client's record
PDF and a session as FHIR, from the pages (login cookie) and the API (``/api/v1``).

The routes only check the login and role and hand the file over; the use cases in
:mod:`ashiguard.services.exports` build it, check the role again and write the audit entry.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.security import Principal, api_user, client_ip, html_user
from ashiguard.services import exports, treatments

__all__ = ["router"]

router = APIRouter()
CLINICAL_PAGE = html_user(*treatments.CLINICAL_ROLES)
CLINICAL_API = api_user(*treatments.CLINICAL_ROLES)
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
