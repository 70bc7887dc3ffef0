"""Treatment sessions: the readiness gate, start, live view, review, notes and their addenda,
signing; research."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import (
    Client,
    Practitioner,
    Room,
    Screening,
    TreatmentSession,
)
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.domain.errors import Conflict, DomainError, InputError, NotFound, Refused
from ashiguard.entrypoints.web.deps import RecordId, unit_of_work
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    DB_SESSION,
    Principal,
    check_csrf,
    checked_form,
    client_ip,
    html_user,
    principal_from_request,
)
from ashiguard.entrypoints.web.text_guard import proper_query
from ashiguard.services import clearances, clinic, research, soap_notes, treatments
from ashiguard.services.uow import fetch, parse_record_id

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(proper_query)])
CLINICAL = html_user(*treatments.CLINICAL_ROLES)
RESEARCH = html_user(*research.RESEARCH_ROLES)


@router.get("/sessions", include_in_schema=False)
def session_list(
    request: Request, p: Principal = Depends(CLINICAL), s: Session = DB_SESSION
) -> Response:
    rows = s.scalars(
        select(TreatmentSession).order_by(TreatmentSession.started_at.desc()).limit(200)
    ).all()
    return render(request, "sessions.html", {"sessions": rows})


def _start_page(
    request: Request,
    s: Session,
    p: Principal,
    client: Client,
    values: dict[str, Any],
    ready: Any = None,
    error: str = "",
    status: int = 200,
) -> Response:
    practitioners = s.scalars(
        select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.name)
    ).all()
    rooms = s.scalars(select(Room).order_by(Room.name)).all()
    if "practitioner_id" not in values:
        mine = next((x for x in practitioners if x.user_id == p.user.id), None)
        values["practitioner_id"] = str(mine.id) if mine else ""
    return render(
        request,
        "session_new.html",
        {
            "client": client,
            "screening": repo.latest_screening(s, client.id),
            "practitioners": practitioners,
            "rooms": rooms,
            "values": values,
            "ready": ready,
            "error": error,
            "sources": request.app.state.live.source_choices(),
            "calibrations": request.app.state.live.calibration_choices(),
            "today": date.today(),
        },
        status_code=status,
    )


@router.get("/sessions/new", include_in_schema=False)
def session_new_form(
    request: Request,
    client_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        client = clinic.read_client(uow, client_id, p.user, client_ip(request), "start session")
    return _start_page(request, uow.session, p, client, {})


@router.post("/sessions/new", include_in_schema=False)
async def session_start(
    request: Request, p: Principal = Depends(CLINICAL), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    form = await checked_form(request, p)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        cid = parse_record_id(values.get("client_id", ""), "client_id")
    except InputError:
        raise NotFound("client_id: no such client") from None
    client: Client = fetch(uow, Client, cid)
    live = request.app.state.live
    try:
        tare_first_s, calibration = live.zeroing_options(
            values.get("source", ""), values.get("tare_first_s", ""), values.get("calibration", "")
        )
        with uow:
            t = treatments.start_session(
                uow,
                client_id=client.id,
                practitioner_id=values.get("practitioner_id", ""),
                room_id=values.get("room_id", ""),
                source=values.get("source", ""),
                check_source=live.check_source,
                actor=p.user,
                ip=client_ip(request),
            )
    except InputError as exc:
        return _start_page(request, uow.session, p, client, values, error=str(exc), status=400)
    except Refused as exc:
        ready = {"go": False, "reasons": exc.reasons}
        return _start_page(request, uow.session, p, client, values, ready=ready, status=409)
    await run_in_threadpool(  # opening a source may take a while
        lambda: live.start(t.id, tare_first_s=tare_first_s, calibration=calibration)
    )
    return RedirectResponse(f"/sessions/{t.id}", status_code=303)


@router.get("/sessions/{session_id}", include_in_schema=False)
def session_page(
    request: Request,
    session_id: RecordId,
    template: RecordId | None = None,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    with uow:
        t = treatments.read_session(uow, session_id, p.user, client_ip(request))
    sc = uow.session.get(Screening, t.screening_id)
    if t.status == "live":
        from ashiguard.adapters.colour_scale import pressure_stops

        return render(
            request, "session_live.html", {"t": t, "sc": sc, "colour_stops": pressure_stops()}
        )
    return _review_page(request, uow, t, p, template_id=template)


def _review_page(
    request: Request,
    uow: SqlUnitOfWork,
    t: TreatmentSession,
    p: Principal,
    *,
    values: dict[str, Any] | None = None,
    note_error: str = "",
    template_id: int | None = None,
    addendum_error: str = "",
    addendum_text: str = "",
    status: int = 200,
) -> Response:
    """The review page of an ended or signed session, with its note (``values``: the form as
    typed, shown again with ``note_error`` next to its field)."""
    from ashiguard.domain.zone_names import zone_words
    from ashiguard.entrypoints.web.forms import error_field
    from ashiguard.entrypoints.web.plots import review_data
    from ashiguard.services.comfort import client_comfort

    sc = uow.session.get(Screening, t.screening_id)
    settings = request.app.state.settings
    treated = (
        clearances.screening_as_treated(uow.session, sc, t.started_at.date())
        if sc is not None
        else None
    )
    review = review_data(t, treated, settings)
    comfort = client_comfort(uow, t.client_id, settings.data_dir)
    note = soap_notes.note_view(uow, t)
    templates = soap_notes.list_templates(uow) if not note["locked"] else []
    if values is None:
        values = {k: note[k] for k in (*soap_notes.NOTE_PARTS, "areas", "pain_before")}
        values |= {"pain_after": note["pain_after"], "template": note["template"]}
        values["notes"] = note["notes"]
        picked = next((x for x in templates if x.id == template_id), None)
        if picked is not None and not note["started"]:
            for part in ("subjective", "assessment", "plan"):
                values[part] = values[part] or getattr(picked, part)
            values["template"] = picked.name
        else:
            template_id = None
    elif template_id is not None:  # shown again after an error: still from that template
        picked = next((x for x in templates if x.id == template_id), None)
        values = {**values, "template": picked.name if picked else None}
    pr = t.practitioner
    can_add = p.user.role == "owner" or (pr is not None and pr.user_id == p.user.id)
    return render(
        request,
        "session_review.html",
        {
            "t": t,
            "sc": sc,
            "zone_words": zone_words,
            "comfort": comfort,
            "note": note,
            "v": values,
            "templates": templates,
            "template_id": template_id,
            "note_error": note_error,
            "note_field": error_field(note_error) if note_error else "",
            "can_add": can_add,
            "addendum_error": addendum_error,
            "addendum_text": addendum_text,
            **review,
        },
        status_code=status,
    )


def _note_form(form: Any) -> tuple[soap_notes.NoteInput, dict[str, Any], int | None]:
    """The note form's fields as a :class:`NoteInput`, the values to show again, and the
    template it was started from."""
    text = {k: str(form.get(k, "")) for k in (*soap_notes.NOTE_PARTS, "notes")}
    areas = [str(a) for a in form.getlist("areas")]
    scores = {k: str(form.get(k, "")).strip() for k in ("pain_before", "pain_after")}
    raw_template = str(form.get("template_id", "")).strip()
    template_id = int(raw_template) if raw_template.isdigit() else None
    values: dict[str, Any] = {**text, **scores, "areas": areas}
    note = soap_notes.NoteInput(
        subjective=text["subjective"],
        objective=text["objective"],
        assessment=text["assessment"],
        plan=text["plan"],
        areas=tuple(areas),
        pain_before=scores["pain_before"],
        pain_after=scores["pain_after"],
        notes=text["notes"] if "notes" in form else None,
    )
    return note, values, template_id


@router.post("/sessions/{session_id}/note", include_in_schema=False)
async def session_note(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    """Save the session's note (409 once the session is signed)."""
    form = await checked_form(request, p)
    note, values, template_id = _note_form(form)
    try:
        with uow:
            soap_notes.save_note(
                uow, session_id, note, p.user, client_ip(request), template_id=template_id
            )
    except InputError as exc:
        t = treatments.get_session(uow, session_id)
        return _review_page(
            request,
            uow,
            t,
            p,
            values=values,
            note_error=str(exc),
            template_id=template_id,
            status=400,
        )
    return RedirectResponse(f"/sessions/{session_id}#soap-note", status_code=303)


@router.post("/sessions/{session_id}/addenda", include_in_schema=False)
async def session_addendum(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    """Add a signed addendum to a signed session's note (409 before signing)."""
    form = await checked_form(request, p)
    text = str(form.get("text", ""))
    try:
        with uow:
            soap_notes.add_addendum(uow, session_id, text, p.user, client_ip(request))
    except InputError as exc:
        t = treatments.get_session(uow, session_id)
        return _review_page(
            request, uow, t, p, addendum_error=str(exc), addendum_text=text, status=400
        )
    return RedirectResponse(f"/sessions/{session_id}#addenda", status_code=303)


@router.get("/sessions/{session_id}/client", include_in_schema=False)
def session_client_page(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    """The client's page on the clinic's tablet at the head of the table: one "Too much"
    button (a ``too_much`` marker set for the client), nothing else of the record."""
    with uow:
        t = treatments.read_session(
            uow, session_id, p.user, client_ip(request), "client page", name_client=False
        )
    return render(request, "session_client.html", {"t_id": t.id, "live": t.status == "live"})


@router.post("/sessions/{session_id}/stop", include_in_schema=False)
async def session_stop(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    await checked_form(request, p)
    with uow:
        t = treatments.live_session(uow, session_id, p.user)
    await run_in_threadpool(request.app.state.live.stop, t.id)  # waits for the analysis
    with uow:
        treatments.record_stop(uow, t.id, p.user, client_ip(request))
    return RedirectResponse(f"/sessions/{t.id}", status_code=303)


@router.post("/sessions/{session_id}/ack", include_in_schema=False)
async def session_ack(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    check_csrf(p, request.headers.get("x-csrf-token"))
    body = await _json_object(request)
    live = request.app.state.live
    if body.get("all") is True:
        with uow:
            ids = treatments.acknowledge_all_alarms(
                uow, session_id, live.acknowledge_all, p.user, client_ip(request)
            )
        return JSONResponse({"acknowledged": ids})
    alarm_id = body.get("alarm_id")
    if not isinstance(alarm_id, int) or isinstance(alarm_id, bool):
        raise HTTPException(422, 'alarm_id: must be an integer (or give "all": true)')
    with uow:
        treatments.acknowledge_alarm(
            uow, session_id, alarm_id, live.acknowledge, p.user, client_ip(request)
        )
    return JSONResponse({"acknowledged": [alarm_id]})


@router.post("/sessions/{session_id}/tare", include_in_schema=False)
async def session_tare(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    """ "Zero now" from the live page: the session zeroes its sheet again, or refuses while it
    is loaded (the page shows the result from the session's status)."""
    check_csrf(p, request.headers.get("x-csrf-token"))
    live = request.app.state.live
    with uow:
        who = treatments.zero_sheet(
            uow, session_id, lambda sid, who: live.zero(sid, who), p.user, client_ip(request)
        )
    return JSONResponse({"requested": True, "who": who}, status_code=202)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(422, "body: must be a JSON object") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "body: must be a JSON object")
    return body


@router.post("/sessions/{session_id}/markers", include_in_schema=False)
async def session_marker(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    """A marker from the live page (the therapist) or the client page (``"client": true``)."""
    check_csrf(p, request.headers.get("x-csrf-token"))
    body = await _json_object(request)
    kind, text = str(body.get("kind", "")), str(body.get("text", ""))
    with uow:
        who = treatments.mark_moment(
            uow,
            session_id,
            kind,
            text,
            request.app.state.live.marker,
            p.user,
            client_ip(request),
            for_client=body.get("client") is True,
        )
    return JSONResponse({"kind": kind, "text": text.strip(), "who": who}, status_code=202)


@router.post("/sessions/{session_id}/notes", include_in_schema=False)
async def session_notes(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    form = await checked_form(request, p)
    try:
        with uow:
            t = treatments.set_notes(
                uow, session_id, str(form.get("notes", "")), p.user, client_ip(request)
            )
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None  # as before: an error page, status 422
    return RedirectResponse(f"/sessions/{t.id}", status_code=303)


@router.post("/sessions/{session_id}/sign", include_in_schema=False)
async def session_sign(
    request: Request,
    session_id: RecordId,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    """Sign the session; from the note form, its note is saved first (in the same unit)."""
    form = await checked_form(request, p)
    notes = str(form.get("notes", "")) if "notes" in form else None
    with_note = "subjective" in form
    note, values, template_id = _note_form(form)
    try:
        with uow:
            if with_note:
                soap_notes.save_note(
                    uow, session_id, note, p.user, client_ip(request), template_id=template_id
                )
                notes = None  # saved with the note
            t = treatments.sign_session(uow, session_id, notes, p.user, client_ip(request))
    except InputError as exc:
        if not with_note:
            raise
        t = treatments.get_session(uow, session_id)
        return _review_page(
            request,
            uow,
            t,
            p,
            values=values,
            note_error=str(exc),
            template_id=template_id,
            status=400,
        )
    return RedirectResponse(f"/sessions/{t.id}", status_code=303)


@router.get("/research", include_in_schema=False)
def research_page(
    request: Request, p: Principal = Depends(RESEARCH), uow: SqlUnitOfWork = Depends(unit_of_work)
) -> Response:
    secret = request.app.state.pseudonym_secret
    with uow:
        rows = research.export_research(uow, secret, p.user, client_ip(request), "page", 300)
    return render(request, "research.html", {"rows": rows})


@router.websocket("/sessions/{session_id}/ws")
async def session_ws(websocket: WebSocket, session_id: RecordId) -> None:
    """Live view: init, frames (at most 20/s) and every alarm event, as JSON text messages.

    Needs a logged-in owner or therapist (session cookie) and a same-origin ``Origin`` header.
    """
    app = websocket.app
    bearer = websocket.headers.get("authorization", "").lower().startswith("bearer ")
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host", "")
    if not bearer and origin is not None and origin.split("://", 1)[-1] != host:
        # the cookie rides along with any page's request: only our own pages may use it (a
        # bearer token is never sent by a browser on its own, so it needs no Origin check)
        await websocket.close(code=4403, reason="cross-origin WebSocket refused")
        return
    with SqlUnitOfWork(app.state.db) as uow:
        p = principal_from_request(uow.session, websocket)
        if p is None:
            await websocket.close(code=4401, reason="login required")
            return
        if p.user.role not in treatments.CLINICAL_ROLES:
            await websocket.close(code=4403, reason=f"role {p.user.role!r} may not view sessions")
            return
        try:
            t = treatments.read_session(
                uow, session_id, p.user, client_ip(websocket), "live view", name_client=False
            )
        except DomainError as exc:
            await websocket.close(code=4404, reason=str(exc))
            return
        status = t.status
    await websocket.accept()
    hub = app.state.live
    if status != "live" or not hub.is_live(session_id):
        await websocket.send_json({"type": "ended", "error": None})
        await websocket.close()
        return
    sub = hub.subscribe(session_id)
    try:
        while True:
            for kind, text in await sub.next_batch():
                await websocket.send_text(text)
                if kind == "ended":
                    await websocket.close()
                    return
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unsubscribe(session_id, sub)


PLOTS = ("load", "dose", "alarms", "body")


@router.get("/sessions/{session_id}/plots/{name}.png", include_in_schema=False)
def session_plot(
    request: Request,
    session_id: RecordId,
    name: str,
    p: Principal = Depends(CLINICAL),
    uow: SqlUnitOfWork = Depends(unit_of_work),
) -> Response:
    from ashiguard.entrypoints.web.plots import render_plot

    if name not in PLOTS:
        raise HTTPException(404, f"name: no plot {name!r}; plots: {', '.join(PLOTS)}")
    t = treatments.get_session(uow, session_id)
    if t.status == "live":
        raise Conflict(f"session {t.id} is still live")
    png = render_plot(name, t, request.app.state.settings)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})
