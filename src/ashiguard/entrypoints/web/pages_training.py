"""Training pages: exercises, practitioners' training records and the clinic's policy
(``/training``), attempts run live from the browser (``/training/live``), a practitioner's
progress plot and report (PDF), the instructor's class overview (``/training/class``), and the
de-identified attempts as CSV and Parquet.

The routes check the login and role and hand over to :mod:`ashiguard.services.training`,
which checks the role again and writes the audit entries.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from ashiguard.adapters.db.models import Practitioner
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.errors import Conflict, Forbidden, InputError, NotFound
from ashiguard.domain.training import plain_words, skill_words
from ashiguard.domain.zone_names import zone_words
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import Principal, checked_form, client_ip, html_user
from ashiguard.entrypoints.web.text_guard import proper_query
from ashiguard.services import research, training, training_live
from ashiguard.services.uow import Actor

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
        attempts = training.attempts_of(uow, pr.id, p.user)
        people.append(
            {
                "practitioner": pr,
                "attempts": [(a, training.is_self_recorded(a, pr)) for a in attempts[:20]],
                "count": len(attempts),
                "seconds": training.sensor_seconds(attempts),
                "checks": training.training_checks(uow, pr.id, today),
                "can_run": _may_run(p, pr),
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
            "skill_words": skill_words,
            "plain_words": plain_words,
            "zone_words": zone_words,
            "sensor_time": training.sensor_time_words,
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


def _may_run(p: Principal, pr: Practitioner) -> bool:
    try:
        training.check_recorder(Actor.of(p.user), pr)
    except Forbidden:
        return False
    return True


# -- attempts run live from the browser


def _live_form(
    request: Request,
    p: Principal,
    uow: SqlUnitOfWork,
    values: dict[str, Any],
    error: str = "",
    status: int = 200,
) -> Response:
    s = uow.session
    people = [
        pr
        for pr in s.scalars(
            select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.name)
        )
        if _may_run(p, pr)
    ]
    exercises = [e for e in training.list_exercises(uow) if e.active]
    described = []
    for e in exercises:
        ex = training.exercise_of_row(e)
        where = ", ".join(zone_words(z) for z in ex.zones)
        described.append(
            (
                e.id,
                f"{e.title} (v{e.version}): {skill_words(ex.skill)} on the {where}, "
                f"{ex.low_kpa:g}-{ex.high_kpa:g} kPa for {ex.duration_s:g} s",
            )
        )
    sources = request.app.state.live.source_choices()
    if "source" not in values:
        values["source"] = "sim:good_student"
    if "practitioner_id" not in values and len(people) == 1:
        values["practitioner_id"] = str(people[0].id)
    return render(
        request,
        "training_live_new.html",
        {
            "people": people,
            "exercises": described,
            "sources": sources,
            "values": values,
            "error": error,
        },
        status_code=status,
    )


@router.get("/live", include_in_schema=False)
def live_attempt_form(
    request: Request, p: Principal = Depends(RECORD), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    with uow:
        return _live_form(request, p, uow, dict(request.query_params))


@router.post("/live", include_in_schema=False)
async def live_attempt_start(
    request: Request, p: Principal = Depends(RECORD), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    """Check and start a live attempt; then its live view."""
    form = await checked_form(request, p)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    runs = request.app.state.training
    try:
        with uow:
            plan = training_live.plan_live_attempt(
                uow,
                values.get("practitioner_id", ""),
                values.get("exercise_id", ""),
                values.get("source", ""),
                Actor.of(p.user),
                request.app.state.live.check_source,
            )
        run = runs.start(plan, Actor.of(p.user), client_ip(request))
    except (InputError, Conflict) as exc:
        with uow:
            return _live_form(request, p, uow, values, str(exc), 400)
    return RedirectResponse(f"/training/live/{run.id}", status_code=303)


def _run_of(request: Request, p: Principal, run_id: str) -> training_live.LiveAttempt:
    """A run this user may watch: their own, or any for an owner or instructor."""
    run: training_live.LiveAttempt = request.app.state.training.get(run_id)
    if run.actor.id != p.user.id and p.user.role not in training.INSTRUCTOR_ROLES:
        raise NotFound(f"attempt run {run_id[:16]} not found")
    return run


@router.get("/live/{run_id}", include_in_schema=False)
def live_attempt_page(request: Request, run_id: str, p: Principal = Depends(RECORD)) -> Response:
    run = _run_of(request, p, run_id)
    ex = run.plan.exercise
    return render(
        request,
        "training_live.html",
        {
            "run": run,
            "ex": ex,
            "view": run.view(),
            "zones": ", ".join(zone_words(z) for z in ex.zones),
            "forbidden": ", ".join(zone_words(z) for z in ex.forbidden_zones),
            "skill": skill_words(ex.skill),
        },
    )


@router.get("/live/{run_id}/view.json", include_in_schema=False)
def live_attempt_view(request: Request, run_id: str, p: Principal = Depends(RECORD)) -> Response:
    """The live view (the page asks for it a few times a second)."""
    return JSONResponse(_run_of(request, p, run_id).view(), headers={"Cache-Control": "no-store"})


@router.post("/live/{run_id}/stop", include_in_schema=False)
async def live_attempt_stop(
    request: Request, run_id: str, p: Principal = Depends(RECORD)
) -> Response:
    """End the attempt now: it is scored (as cut short) and stored."""
    await checked_form(request, p)
    run = request.app.state.training.stop(_run_of(request, p, run_id).id)
    await run_in_threadpool(run.done.wait, 30.0)
    return RedirectResponse(f"/training/live/{run.id}", status_code=303)


# -- a student's progress report, the class overview, the researchers' Parquet


@router.get("/practitioners/{practitioner_id}/progress.pdf", include_in_schema=False)
def progress_pdf(
    request: Request,
    practitioner_id: RecordId,
    p: Principal = Depends(RECORD),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        report = training.progress_report(uow, practitioner_id, p.user)
    pdf = training.progress_report_pdf(report)
    name = f"training-progress-{practitioner_id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


_STANDING_WORDS = {
    "passed": "passed",
    "expiring": "expiring",
    "expired": "expired",
    "failed": "failed",
    "not_attempted": "not attempted",
}


def _cell_words(st: Any) -> str:
    """One cell of the class overview in words (also its CSV cell)."""
    text = _STANDING_WORDS[st.state]
    if st.last_passed is not None:
        text += f" {st.last_passed.isoformat()}"
    if st.valid_until is not None and st.state in ("expiring", "expired"):
        text += f" (valid until {st.valid_until.isoformat()})"
    if st.failed:
        text += f", {st.failed} failed attempt{'s' if st.failed != 1 else ''}"
        if st.last_passed is not None:
            text += " since"
    return text


@router.get("/class", include_in_schema=False)
def class_page(
    request: Request, p: Principal = Depends(INSTRUCT), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    with uow:
        overview = training.class_overview(uow, p.user)
    return render(
        request,
        "training_class.html",
        {
            "o": overview,
            "skill_words": skill_words,
            "cell_words": _cell_words,
            "standing_words": _STANDING_WORDS,
            "sensor_time": training.sensor_time_words,
        },
    )


@router.get("/class.csv", include_in_schema=False)
def class_csv(
    p: Principal = Depends(INSTRUCT), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    with uow:
        overview = training.class_overview(uow, p.user)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["practitioner", "attempts", "hours_on_sensor", *[skill_words(k) for k in overview.skills]]
    )
    for row in overview.rows:
        writer.writerow(
            [
                row.name,
                row.attempts,
                f"{row.sensor_s / 3600:.2f}",
                *[_cell_words(row.standings[k]) for k in overview.skills],
            ]
        )
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="training-class.csv"'},
    )


@router.get("/attempts.parquet", include_in_schema=False)
def attempts_parquet(
    request: Request, p: Principal = Depends(RESEARCH), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    with uow:
        rows = training.research_attempt_rows(uow, p.user, client_ip(request))
    return Response(
        training.attempts_parquet(rows),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": 'attachment; filename="training-attempts.parquet"'},
    )
