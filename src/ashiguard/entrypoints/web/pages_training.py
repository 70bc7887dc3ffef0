"""Training pages: exercises, practitioners' training records and the clinic's policy
(``/training``), a practitioner's progress plot, and the de-identified attempts as CSV.

The routes check the login and role and hand over to :mod:`ashiguard.services.training`,
which checks the role again and writes the audit entries.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from ashiguard.adapters.db.models import Practitioner
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.errors import Conflict, InputError
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import Principal, checked_form, client_ip, html_user
from ashiguard.entrypoints.web.text_guard import proper_query
from ashiguard.services import research, training

__all__ = ["router"]

router = APIRouter(prefix="/training", dependencies=[Depends(proper_query)])
RECORD = html_user(*training.RECORD_ROLES)
INSTRUCT = html_user(*training.INSTRUCTOR_ROLES)
OWNER = html_user("owner")
RESEARCH = html_user(*research.RESEARCH_ROLES)


def _page(
    request: Request,
    p: Principal,
    uow: SqlUnitOfWork,
    values: dict[str, Any],
    error: str = "",
    status: int = 200,
    target: str = "",
) -> Response:
    s = uow.session
    today = date.today()
    exercises = training.list_exercises(uow)
    bands = {}
    for e in exercises:
        ex = training.exercise_of_row(e)
        bands[e.id] = f"{ex.low_kpa:g}-{ex.high_kpa:g} kPa, {ex.duration_s:g} s"
    people = []
    for pr in s.scalars(
        select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.name)
    ):
        people.append(
            {
                "practitioner": pr,
                "attempts": training.attempts_of(uow, pr.id, p.user)[:20],
                "checks": training.training_checks(uow, pr.id, today),
            }
        )
    policy = training.training_policy(uow)
    return render(
        request,
        "training.html",
        {
            "exercises": exercises,
            "bands": bands,
            "people": people,
            "policy": policy,
            "policy_text": policy.to_text() if policy else "",
            "values": values,
            "error": error,
            "target": target,
            "can_instruct": p.user.role in training.INSTRUCTOR_ROLES,
        },
        status_code=status,
    )


@router.get("", include_in_schema=False)
def training_page(
    request: Request, p: Principal = Depends(RECORD), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    with uow:
        return _page(request, p, uow, {})


@router.post("/exercises", include_in_schema=False)
async def exercise_create(
    request: Request, p: Principal = Depends(INSTRUCT), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    data = {k: str(v) for k, v in (await checked_form(request, p)).items()}
    try:
        with uow:
            training.save_exercise(uow, data.get("definition", ""), p.user, client_ip(request))
    except (InputError, Conflict) as exc:
        with uow:
            return _page(request, p, uow, data, str(exc), 400, "exercise")
    return RedirectResponse("/training", status_code=303)


MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""Largest recorded attempt accepted (a 10-minute 100 Hz attempt on a 128 x 48 sheet is
about 60 MB with lzf)."""


@router.post("/attempts", include_in_schema=False)
async def attempt_upload(
    request: Request, p: Principal = Depends(INSTRUCT), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    import shutil
    import uuid

    form = await checked_form(request, p)
    upload = form.get("recording")
    target = f"practitioner-{form.get('practitioner_id', '')}"
    dest = None
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise InputError("recording: choose a recorded attempt (.h5, ashiguard train -o)")
        if (upload.size or 0) > MAX_UPLOAD_BYTES:
            raise InputError(f"recording: larger than {MAX_UPLOAD_BYTES // 2**20} MB")
        folder = request.app.state.settings.recordings_dir
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"training-{uuid.uuid4().hex}.h5"
        with dest.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        with uow:
            training.store_recorded_attempt(
                uow, form.get("practitioner_id", ""), dest, p.user, client_ip(request)
            )
    except InputError as exc:
        if dest is not None:
            dest.unlink(missing_ok=True)
        with uow:
            return _page(request, p, uow, {}, str(exc), 400, target)
    finally:
        await form.close()  # the upload's temporary file
    return RedirectResponse("/training", status_code=303)


@router.post("/policy", include_in_schema=False)
async def policy_set(
    request: Request, p: Principal = Depends(OWNER), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    data = {k: str(v) for k, v in (await checked_form(request, p)).items()}
    try:
        with uow:
            training.set_training_policy(uow, data.get("policy", ""), p.user, client_ip(request))
    except InputError as exc:
        with uow:
            return _page(request, p, uow, data, str(exc), 400, "policy")
    return RedirectResponse("/training", status_code=303)


@router.get("/practitioners/{practitioner_id}/progress.png", include_in_schema=False)
def progress_plot(
    practitioner_id: RecordId,
    p: Principal = Depends(RECORD),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    from ashiguard.adapters.training_plot import progress_png
    from ashiguard.services.uow import fetch

    with uow:
        fetch(uow, Practitioner, practitioner_id)
        attempts = list(reversed(training.attempts_of(uow, practitioner_id, p.user)))
        scores = [training.score_of_attempt(a) for a in attempts]
        labels = [a.taken_on.isoformat() for a in attempts]
    return Response(progress_png(scores, labels), media_type="image/png")


@router.get("/attempts.csv", include_in_schema=False)
def attempts_csv(
    request: Request, p: Principal = Depends(RESEARCH), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    from ashiguard.domain.training import ATTEMPT_CSV_COLUMNS

    with uow:
        rows = training.research_attempt_rows(uow, p.user, client_ip(request))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ATTEMPT_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="training-attempts.csv"'},
    )
