"""Treatment sessions: the readiness gate, start, live view, review, notes, signing; research."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
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
from ashiguard.domain.errors import InputError
from ashiguard.entrypoints.web.clinic import get_or_404, readiness
from ashiguard.entrypoints.web.rendering import render
from ashiguard.entrypoints.web.security import (
    Principal,
    check_csrf,
    checked_form,
    client_ip,
    db_session,
    html_user,
    principal_from_request,
)

__all__ = ["router"]

router = APIRouter()
CLINICAL = html_user("owner", "therapist")
RESEARCH = html_user("owner", "researcher")


@router.get("/sessions", include_in_schema=False)
def session_list(
    request: Request, p: Principal = Depends(CLINICAL), s: Session = Depends(db_session)
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
            "today": date.today(),
        },
        status_code=status,
    )


@router.get("/sessions/new", include_in_schema=False)
def session_new_form(
    request: Request,
    client_id: int,
    p: Principal = Depends(CLINICAL),
    s: Session = Depends(db_session),
) -> Response:
    client = get_or_404(s, Client, client_id)
    repo.audit(
        s, p.user, "read", "client", client.id, ip=client_ip(request), detail="start session"
    )
    return _start_page(request, s, p, client, {})


def _pick(s: Session, model: Any, raw: str, field: str) -> Any:
    if not raw.isdigit():
        raise InputError(f"{field}: choose one")
    row = s.get(model, int(raw))
    if row is None:
        raise InputError(f"{field}: no such record {raw}")
    return row


@router.post("/sessions/new", include_in_schema=False)
async def session_start(
    request: Request, p: Principal = Depends(CLINICAL), s: Session = Depends(db_session)
) -> Response:
    form = await checked_form(request, p)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    client = (
        get_or_404(s, Client, int(values["client_id"]))
        if values.get("client_id", "").isdigit()
        else None
    )
    if client is None:
        raise HTTPException(404, "client_id: no such client")
    live = request.app.state.live
    try:
        pr = _pick(s, Practitioner, values.get("practitioner_id", ""), "practitioner_id")
        room = _pick(s, Room, values.get("room_id", ""), "room_id")
        sc = repo.latest_screening(s, client.id)
        if sc is None:
            raise InputError("screening: this client has no screening; fill the intake first")
        source = live.check_source(values.get("source", ""))
        ready = readiness(s, pr, room, sc, date.today())
    except InputError as exc:
        return _start_page(request, s, p, client, values, error=str(exc), status=400)
    if not ready.go:
        repo.audit(
            s,
            p.user,
            "refused",
            "session",
            "",
            ip=client_ip(request),
            detail=f"client {client.id}: " + "; ".join(ready.reasons),
        )
        s.commit()
        return _start_page(request, s, p, client, values, ready=ready, status=409)
    t = TreatmentSession(
        client_id=client.id,
        practitioner_id=pr.id,
        room_id=room.id,
        screening_id=sc.id,
        status="live",
        source=source,
        started_at=repo.utcnow(),
        notes="",
    )
    s.add(t)
    s.flush()
    repo.audit(
        s,
        p.user,
        "create",
        "session",
        t.id,
        ip=client_ip(request),
        detail=f"client {client.id}, {source}",
    )
    s.commit()
    await run_in_threadpool(live.start, t.id)  # opening a source may take a while
    return RedirectResponse(f"/sessions/{t.id}", status_code=303)


@router.get("/sessions/{session_id}", include_in_schema=False)
def session_page(
    request: Request,
    session_id: int,
    p: Principal = Depends(CLINICAL),
    s: Session = Depends(db_session),
) -> Response:
    t = get_or_404(s, TreatmentSession, session_id)
    repo.audit(
        s, p.user, "read", "session", t.id, ip=client_ip(request), detail=f"client {t.client_id}"
    )
    sc = s.get(Screening, t.screening_id)
    if t.status == "live":
        return render(request, "session_live.html", {"t": t, "sc": sc})
    return render(request, "session_review.html", {"t": t, "sc": sc})


@router.post("/sessions/{session_id}/stop", include_in_schema=False)
async def session_stop(
    request: Request,
    session_id: int,
    p: Principal = Depends(CLINICAL),
    s: Session = Depends(db_session),
) -> Response:
    await checked_form(request, p)
    t = get_or_404(s, TreatmentSession, session_id)
    if t.status != "live":
        raise HTTPException(409, f"session {t.id} is not live (status {t.status})")
    s.commit()
    await run_in_threadpool(request.app.state.live.stop, t.id)  # waits for the analysis
    with request.app.state.db.session() as s2:
        repo.audit(s2, p.user, "update", "session", t.id, ip=client_ip(request), detail="stopped")
    return RedirectResponse(f"/sessions/{t.id}", status_code=303)


@router.post("/sessions/{session_id}/ack", include_in_schema=False)
async def session_ack(
    request: Request,
    session_id: int,
    p: Principal = Depends(CLINICAL),
    s: Session = Depends(db_session),
) -> Response:
    check_csrf(p, request.headers.get("x-csrf-token"))
    body = await request.json()
    alarm_id = body.get("alarm_id") if isinstance(body, dict) else None
    if not isinstance(alarm_id, int):
        raise HTTPException(422, "alarm_id: must be an integer")
    t = get_or_404(s, TreatmentSession, session_id)
    ok = request.app.state.live.acknowledge(t.id, alarm_id)
    if not ok:
        raise HTTPException(409, f"alarm_id: alarm {alarm_id} is not active in session {t.id}")
    repo.audit(
        s, p.user, "acknowledge", "session", t.id, ip=client_ip(request), detail=f"alarm {alarm_id}"
    )
    from fastapi.responses import JSONResponse

    return JSONResponse({"acknowledged": alarm_id})


@router.post("/sessions/{session_id}/notes", include_in_schema=False)
async def session_notes(
    request: Request,
    session_id: int,
    p: Principal = Depends(CLINICAL),
    s: Session = Depends(db_session),
) -> Response:
    form = await checked_form(request, p)
    t = get_or_404(s, TreatmentSession, session_id)
    if t.status == "signed":
        raise HTTPException(409, f"session {t.id} is signed: notes can no longer change")
    notes = str(form.get("notes", ""))
    if len(notes) > 20000:
        raise HTTPException(422, "notes: at most 20000 characters")
    t.notes = notes
    repo.audit(s, p.user, "update", "session", t.id, ip=client_ip(request), detail="notes")
    return RedirectResponse(f"/sessions/{t.id}", status_code=303)


@router.post("/sessions/{session_id}/sign", include_in_schema=False)
async def session_sign(
    request: Request,
    session_id: int,
    p: Principal = Depends(CLINICAL),
    s: Session = Depends(db_session),
) -> Response:
    form = await checked_form(request, p)
    t = get_or_404(s, TreatmentSession, session_id)
    if t.status != "ended":
        raise HTTPException(409, f"session {t.id} cannot be signed while {t.status}")
    if "notes" in form:
        t.notes = str(form.get("notes", ""))[:20000]
    t.status = "signed"
    t.signed_by = p.user.id
    t.signed_at = repo.utcnow()
    repo.audit(s, p.user, "sign", "session", t.id, ip=client_ip(request))
    return RedirectResponse(f"/sessions/{t.id}", status_code=303)


@router.get("/research", include_in_schema=False)
def research(
    request: Request, p: Principal = Depends(RESEARCH), s: Session = Depends(db_session)
) -> Response:
    from ashiguard.entrypoints.web.api import research_rows

    repo.audit(s, p.user, "read", "research_export", "", ip=client_ip(request), detail="page")
    return render(
        request,
        "research.html",
        {"rows": research_rows(s, request.app.state.pseudonym_secret, 300)},
    )


@router.websocket("/sessions/{session_id}/ws")
async def session_ws(websocket: WebSocket, session_id: int) -> None:
    """Live view: init, frames (at most 20/s) and every alarm event, as JSON text messages.

    Needs a logged-in owner or therapist (session cookie) and a same-origin ``Origin`` header.
    """
    app = websocket.app
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host", "")
    if origin is not None and origin.split("://", 1)[-1] != host:
        await websocket.close(code=4403, reason="cross-origin WebSocket refused")
        return
    with app.state.db.session() as s:
        p = principal_from_request(s, websocket)
        if p is None:
            await websocket.close(code=4401, reason="login required")
            return
        if p.user.role not in ("owner", "therapist"):
            await websocket.close(code=4403, reason=f"role {p.user.role!r} may not view sessions")
            return
        t = s.get(TreatmentSession, session_id)
        if t is None:
            await websocket.close(code=4404, reason=f"session {session_id} not found")
            return
        repo.audit(s, p.user, "read", "session", t.id, ip=client_ip(websocket), detail="live view")
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
    session_id: int,
    name: str,
    p: Principal = Depends(CLINICAL),
    s: Session = Depends(db_session),
) -> Response:
    from ashiguard.entrypoints.web.plots import render_plot

    if name not in PLOTS:
        raise HTTPException(404, f"name: no plot {name!r}; plots: {', '.join(PLOTS)}")
    t = get_or_404(s, TreatmentSession, session_id)
    if t.status == "live":
        raise HTTPException(409, f"session {t.id} is still live")
    png = render_plot(name, t, request.app.state.settings)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})
