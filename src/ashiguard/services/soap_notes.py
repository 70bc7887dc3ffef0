"""SOAP notes of treatment sessions, their addenda after signing, and the clinic's templates.

A session's note has a Subjective (the client's words), an Objective (the measured facts of
the session, filled in from its stored ``summary``, ``alerts`` and ``recording_meta``, plus
what the therapist adds), an Assessment and a Plan; the areas treated (zone slugs marked on
the body chart) and pain or tension 0-10 before and after. The plain ``notes`` of the
session stay beside it ("Other notes").

Notes
-----
A signed session's note is locked: every change raises :class:`Conflict` (409), also when
the request carries the very same text. The measured facts are written into the note when it
is saved and again when the session is signed (:func:`freeze_note`), so a signed note keeps
the facts it was signed with even if the stored outcome were rewritten later. Corrections
after signing are addenda (:func:`add_addendum`): text, author, credential, capacity and
time, signed on saving, never changed. Only the session's own therapist or an owner writes
an addendum (as for signing). Every change is audited (``update session`` "SOAP note: ..."
naming the changed parts, ``addendum session``, ``create``/``update``/``delete
note_template``); reads through the API are audited as reads of the session.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import (
    NoteAddendum,
    NoteTemplate,
    Practitioner,
    SoapNote,
    TreatmentSession,
)
from ashiguard.domain.errors import Conflict, Forbidden, InputError, NotFound
from ashiguard.domain.live_view import KIND_WORDS
from ashiguard.domain.zone_names import ZONE_SLUGS, zone_words
from ashiguard.services.uow import Actor, UnitOfWork, require_role

__all__ = [
    "MAX_ADDENDUM",
    "MAX_TEMPLATE_NAME",
    "MAX_TEXT",
    "NOTE_PARTS",
    "NOTE_ROLES",
    "TEMPLATE_ROLES",
    "NoteInput",
    "Signer",
    "add_addendum",
    "credential_words",
    "delete_template",
    "freeze_note",
    "get_template",
    "list_templates",
    "measured_facts",
    "note_view",
    "save_note",
    "save_template",
    "session_facts",
    "signer_for",
]

NOTE_ROLES: tuple[str, ...] = ("owner", "therapist")
"""Roles that read and write SOAP notes and addenda."""
TEMPLATE_ROLES: tuple[str, ...] = ("owner",)
"""Roles that keep the clinic's note templates."""
MAX_TEXT = 20000
"""Characters per part of a note (and per template part)."""
MAX_ADDENDUM = 20000
MAX_TEMPLATE_NAME = 120
NOTE_PARTS: tuple[str, ...] = ("subjective", "objective", "assessment", "plan")


@dataclass(frozen=True)
class NoteInput:
    """What the therapist writes: the four parts (``objective``: what they add to the
    measured facts), the areas treated (zone slugs), pain or tension 0-10 before and after
    (``None`` or ``""``: not asked; a form's digits are accepted), and optionally the
    session's other ``notes`` (``None``: left as they are)."""

    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""
    areas: tuple[str, ...] = ()
    pain_before: int | str | None = None
    pain_after: int | str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Signer:
    """Who signs (a session, an addendum): name, credential in words, and the capacity
    (``therapist``: the session's own; ``owner``: the clinic's owner for them)."""

    user_id: int | None
    name: str
    credential: str
    capacity: str


# ------------------------------------------------------------------------ the measured facts


def _duration_words(seconds: float) -> str:
    if 0 < seconds < 0.5:
        return "under 1 s"
    s = max(round(seconds), 0)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h} h {m} min"
    if m:
        return f"{m} min {sec} s"
    return f"{sec} s"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)} %"


def measured_facts(
    summary: dict[str, Any] | None,
    alerts: list[Any] | None,
    recording_meta: dict[str, Any] | None,
    duration_s: float | None,
) -> list[str]:
    """The Objective's measured facts of a session, one sentence each, in the clinic's words.

    Parameters
    ----------
    summary : dict or None
        The analysis summary stored with the session (``domain.analysis`` ``to_json``).
    alerts : list or None
        The alarm episodes (contract section 5 objects).
    recording_meta : dict or None
        The recording metadata (``error`` when the session did not finish normally).
    duration_s : float or None
        The session's length in s (end minus start); ``None``: taken from the summary.

    Returns
    -------
    list of str
        Duration; peak and mean load in N with their share of the therapist's body weight;
        the zones worked (longest contact first); the alarms with their count and kinds.

    Notes
    -----
    The mean load is the mean of the summary's load bins in which the therapist stood on the
    client (load above 0 N), so time spent off the table does not dilute it.
    """
    sm = summary or {}
    facts: list[str] = []
    if duration_s is None and sm.get("t_last") is not None and sm.get("t_first") is not None:
        duration_s = float(sm["t_last"]) - float(sm["t_first"])
    facts.append(f"Duration: {_duration_words(duration_s) if duration_s is not None else '—'}.")
    load = sm.get("load") or {}
    weight = sm.get("therapist_weight_n")
    if load.get("max_n") is not None:
        peak = f"peak {round(load['max_n'])} N ({_percent(load.get('max_share'))} of the "
        peak += "therapist's body weight"
        if load.get("allowed_share"):
            peak += f"; allowed {_percent(load['allowed_share'])}"
        peak += ")"
        loaded = [
            float(b["load_n"])
            for b in load.get("series") or []
            if b.get("load_n") is not None and float(b["load_n"]) > 0
        ]
        mean = ""
        if loaded:
            mean_n = sum(loaded) / len(loaded)
            share = f" ({_percent(mean_n / weight)})" if weight else ""
            mean = f", mean {round(mean_n)} N{share} while standing on the client"
        facts.append(f"Load on the client: {peak}{mean}.")
    else:
        facts.append("Load on the client: not measured.")
    zones = sm.get("zones") or {}
    order = {z: i for i, z in enumerate(ZONE_SLUGS)}
    worked = sorted(
        (z for z, v in zones.items() if (v or {}).get("contact_s") is None or v["contact_s"] > 0),
        key=lambda z: (-float((zones[z] or {}).get("contact_s") or 0.0), order.get(z, len(order))),
    )
    if worked:
        parts = []
        for z in worked:
            cs = (zones[z] or {}).get("contact_s")
            parts.append(zone_words(z) + (f" ({_duration_words(cs)})" if cs else ""))
        facts.append("Zones worked: " + ", ".join(parts) + ".")
    else:
        facts.append("Zones worked: none recorded.")
    episodes = [a for a in alerts or [] if isinstance(a, dict)]
    if episodes:
        kinds = Counter(str(a.get("kind", "")) for a in episodes)
        words = []
        for kind, n in sorted(kinds.items(), key=lambda kn: (-kn[1], kn[0])):
            where = sorted(
                {zone_words(a["zone"]) for a in episodes if a.get("kind") == kind and a.get("zone")}
            )
            what = KIND_WORDS.get(kind, kind.replace("_", " ")).lower()
            words.append(f"{n} × {what}" + (f" ({', '.join(where)})" if where else ""))
        n = len(episodes)
        facts.append(f"Alarms: {n} ({'; '.join(words)}).")
    else:
        facts.append("Alarms: none.")
    error = (recording_meta or {}).get("error")
    if error:
        facts.append(f"The session did not finish normally: {error}.")
    return facts


def session_facts(t: TreatmentSession) -> list[str]:
    """:func:`measured_facts` of a stored treatment session."""
    duration = (t.ended_at - t.started_at).total_seconds() if t.ended_at else None
    return measured_facts(t.summary, t.alerts, t.recording_meta, duration)


# ----------------------------------------------------------------------------- the note


def _session(uow: UnitOfWork, session_id: int, *, lock: bool = False) -> TreatmentSession:
    if lock:
        t = repo.lock_treatment_session(uow.session, session_id)
    else:
        t = uow.session.get(TreatmentSession, session_id)
    if t is None:
        raise NotFound(f"treatment_session {session_id} not found")
    return t


def _note(uow: UnitOfWork, session_id: int) -> SoapNote | None:
    return uow.session.scalars(select(SoapNote).where(SoapNote.session_id == session_id)).first()


def _addenda(uow: UnitOfWork, session_id: int) -> list[NoteAddendum]:
    return list(
        uow.session.scalars(
            select(NoteAddendum)
            .where(NoteAddendum.session_id == session_id)
            .order_by(NoteAddendum.created_at, NoteAddendum.id)
        )
    )


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def note_view(uow: UnitOfWork, t: TreatmentSession) -> dict[str, Any]:
    """The note of session ``t`` as the page and the API show it (no audit: the caller read
    the session). ``objective_measured``: the facts as signed for a signed session, as they
    stand now otherwise. ``locked``: the session is signed."""
    n = _note(uow, t.id)
    locked = t.status == "signed"
    if n is not None and locked and n.objective_measured:
        facts = n.objective_measured.split("\n")
    else:
        facts = session_facts(t)
    return {
        "session_id": t.id,
        "status": t.status,
        "locked": locked,
        "started": n is not None,
        "subjective": n.subjective if n else "",
        "objective_measured": facts,
        "objective": n.objective if n else "",
        "assessment": n.assessment if n else "",
        "plan": n.plan if n else "",
        "areas": list(n.areas or []) if n else [],
        "pain_before": n.pain_before if n else None,
        "pain_after": n.pain_after if n else None,
        "template": n.template_name if n and n.template_name else None,
        "notes": t.notes or "",
        "updated_at": _iso(n.updated_at) if n else None,
        "signed_at": _iso(t.signed_at),
        "signed_by": t.signer_name,
        "signed_as": t.signed_as,
        "signer_credential": t.signer_credential,
        "addenda": [
            {
                "id": a.id,
                "text": a.text,
                "signed_by": a.author_name,
                "signed_as": a.signed_as,
                "signer_credential": a.author_credential,
                "signed_at": _iso(a.created_at),
            }
            for a in _addenda(uow, t.id)
        ],
    }


def _text(value: object, field: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise InputError(f"{field}: must be text")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    bad = next((c for c in text if (c < " " and c not in "\n\t") or c == "\x7f"), None)
    if bad is not None:
        raise InputError(f"{field}: holds a control character ({ord(bad):#04x}); type text only")
    if len(text) > limit:
        raise InputError(f"{field}: at most {limit} characters (got {len(text)})")
    return text


def _score(value: object, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
        raise InputError(f"{field}: a whole number from 0 (none) to 10 (worst), got {value!r}")
    return value


def _areas(values: object) -> list[str]:
    if not isinstance(values, list | tuple):
        raise InputError("areas: must be a list of zones")
    out: list[str] = []
    for v in values:
        if not isinstance(v, str) or v not in ZONE_SLUGS:
            raise InputError(f"areas: unknown zone {v!r}")
        if v not in out:
            out.append(v)
    return [z for z in ZONE_SLUGS if z in out]


def _locked(t: TreatmentSession) -> None:
    if t.status == "signed":
        raise Conflict(
            f"session {t.id} is signed: its note is locked; add an addendum to correct it"
        )


def save_note(
    uow: UnitOfWork,
    session_id: int,
    note: NoteInput,
    actor: Actor | None,
    ip: str,
    *,
    template_id: int | None = None,
) -> dict[str, Any]:
    """Store the SOAP note of a session that is not signed (whole: every part is replaced)
    and return :func:`note_view`.

    ``template_id``: the note was started from that clinic template (its name is kept with
    the note; parts left empty take the template's text). The measured facts are written in
    as they stand. Audited as ``update session`` "SOAP note: <parts changed>".

    Raises
    ------
    Conflict
        The session is signed.
    InputError
        A part too long, an unknown zone, a score outside 0-10, an unknown template.
    """
    require_role(actor, NOTE_ROLES, "write session notes")
    t = _session(uow, session_id, lock=True)  # waits for a signing under way
    _locked(t)
    values: dict[str, Any] = {p: _text(getattr(note, p), p) for p in NOTE_PARTS}
    values["areas"] = _areas(list(note.areas))
    values["pain_before"] = _score(note.pain_before, "pain_before")
    values["pain_after"] = _score(note.pain_after, "pain_after")
    notes = None if note.notes is None else _text(note.notes, "notes")
    s = uow.session
    n = _note(uow, t.id)
    template_name = n.template_name if n else ""
    if template_id is not None:
        tpl = s.get(NoteTemplate, template_id)
        if tpl is None:
            raise InputError(f"template_id: no note template {template_id}")
        template_name = tpl.name
        for part in ("subjective", "assessment", "plan"):
            if not values[part]:
                values[part] = getattr(tpl, part)
    now = repo.utcnow()
    created = n is None
    if n is None:
        n = SoapNote(session_id=t.id, created_at=now, objective_measured="", template_name="")
        s.add(n)
    changed = [k for k, v in values.items() if created and v not in ("", [], None)]
    if not created:
        changed = [k for k, v in values.items() if getattr(n, k) != v]
    for k, v in values.items():
        setattr(n, k, v)
    if template_name != (n.template_name or ""):
        changed.append(f"template {template_name!r}")
    n.template_name = template_name
    n.objective_measured = "\n".join(session_facts(t))
    n.updated_at = now
    n.updated_by = actor.id if actor else None
    if notes is not None and notes != (t.notes or ""):
        t.notes = notes
        changed.append("other notes")
    s.flush()
    what = ", ".join(changed) if changed else "saved unchanged"
    head = "SOAP note started: " if created else "SOAP note: "
    repo.audit(s, actor, "update", "session", t.id, ip=ip, detail=head + what)
    return note_view(uow, t)


def freeze_note(uow: UnitOfWork, t: TreatmentSession) -> None:
    """Write the measured facts into the note of ``t`` as it is being signed (a note is
    created for a session signed without one, so every signed session keeps its facts)."""
    n = _note(uow, t.id)
    now = repo.utcnow()
    if n is None:
        n = SoapNote(
            session_id=t.id,
            created_at=now,
            updated_at=now,
            subjective="",
            objective="",
            assessment="",
            plan="",
            areas=[],
            template_name="",
        )
        uow.session.add(n)
    n.objective_measured = "\n".join(session_facts(t))
    uow.session.flush()


# ------------------------------------------------------------------- signing and addenda


def credential_words(pr: Practitioner | None) -> str:
    """A practitioner's certificate in words (what a signed record keeps)."""
    if pr is None or not pr.certification:
        return "no certificate on file"
    until = f", valid until {pr.certified_until.isoformat()}" if pr.certified_until else ""
    return f"{pr.technique.capitalize()} certificate, {pr.certification}{until}"


def signer_for(uow: UnitOfWork, t: TreatmentSession, actor: Actor | None, what: str) -> Signer:
    """Who signs ``t`` (or its addendum): its own therapist (the user linked to its
    practitioner), an owner for them, or the clinic's administration (``actor`` None).
    :class:`Forbidden` for anybody else (``what``: "sign it", "add an addendum")."""
    pr = uow.session.get(Practitioner, t.practitioner_id)
    own = actor is not None and pr is not None and pr.user_id == actor.id
    if actor is not None and not own and actor.role != "owner":
        raise Forbidden(
            f"only the session's therapist ({pr.name if pr else 'unknown'}) or an owner may {what}"
        )
    if own:
        signer_pr = pr
    elif actor is not None:
        signer_pr = uow.session.scalars(
            select(Practitioner).where(Practitioner.user_id == actor.id)
        ).first()
    else:
        signer_pr = None
    return Signer(
        user_id=actor.id if actor else None,
        name=(actor.display_name or actor.username) if actor else "clinic administration",
        credential=credential_words(signer_pr),
        capacity="therapist" if own else "owner",
    )


def add_addendum(
    uow: UnitOfWork, session_id: int, text: object, actor: Actor | None, ip: str
) -> dict[str, Any]:
    """Add a signed addendum to a signed session's note; returns it as :func:`note_view`
    lists it. :class:`Conflict` while the session is not signed (edit the note instead),
    :class:`Forbidden` unless the actor is the session's therapist or an owner,
    :class:`InputError` for empty or too long text. Audited as ``addendum session``."""
    require_role(actor, NOTE_ROLES, "add addenda")
    t = _session(uow, session_id, lock=True)
    if t.status != "signed":
        raise Conflict(
            f"session {t.id} is not signed yet ({t.status}): edit its note; addenda come after "
            "signing"
        )
    body = _text(text, "text", MAX_ADDENDUM)
    if not body:
        raise InputError("text: write the addendum")
    who = signer_for(uow, t, actor, "add an addendum")
    a = NoteAddendum(
        session_id=t.id,
        text=body,
        author_id=who.user_id,
        author_name=who.name,
        author_credential=who.credential,
        signed_as=who.capacity,
        created_at=repo.utcnow(),
    )
    uow.session.add(a)
    uow.session.flush()
    repo.audit(
        uow.session,
        actor,
        "addendum",
        "session",
        t.id,
        ip=ip,
        detail=f"addendum {a.id} signed as {who.capacity}",
    )
    return {
        "id": a.id,
        "text": a.text,
        "signed_by": a.author_name,
        "signed_as": a.signed_as,
        "signer_credential": a.author_credential,
        "signed_at": _iso(a.created_at),
    }


# ------------------------------------------------------------------------------ templates


def list_templates(uow: UnitOfWork) -> list[NoteTemplate]:
    """The clinic's note templates, by name."""
    return list(uow.session.scalars(select(NoteTemplate).order_by(NoteTemplate.name)))


def get_template(uow: UnitOfWork, template_id: int) -> NoteTemplate:
    """One note template (:class:`NotFound` when missing)."""
    tpl = uow.session.get(NoteTemplate, template_id)
    if tpl is None:
        raise NotFound(f"note_template {template_id} not found")
    return tpl


def save_template(
    uow: UnitOfWork,
    template_id: int | None,
    *,
    name: object,
    subjective: object = "",
    assessment: object = "",
    plan: object = "",
    actor: Actor | None,
    ip: str,
) -> NoteTemplate:
    """Create (``template_id`` None) or change a note template (owner). The name is
    required and unique. Audited as ``create``/``update note_template``."""
    require_role(actor, TEMPLATE_ROLES, "keep note templates")
    clean = _text(name, "name", MAX_TEMPLATE_NAME)
    if not clean:
        raise InputError("name: give the template a name")
    parts = {
        "subjective": _text(subjective, "subjective"),
        "assessment": _text(assessment, "assessment"),
        "plan": _text(plan, "plan"),
    }
    s = uow.session
    same = s.scalars(select(NoteTemplate).where(NoteTemplate.name == clean)).first()
    if same is not None and same.id != template_id:
        raise InputError(f"name: a template called {clean!r} exists already")
    if template_id is None:
        tpl = NoteTemplate(name=clean, updated_at=repo.utcnow(), **parts)
        s.add(tpl)
        s.flush()
        action = "create"
    else:
        tpl = get_template(uow, template_id)
        tpl.name = clean
        for k, v in parts.items():
            setattr(tpl, k, v)
        tpl.updated_at = repo.utcnow()
        action = "update"
    repo.audit(s, actor, action, "note_template", tpl.id, ip=ip, detail=clean)
    return tpl


def delete_template(uow: UnitOfWork, template_id: int, actor: Actor | None, ip: str) -> None:
    """Delete a note template (owner); notes started from it keep its name. Audited."""
    require_role(actor, TEMPLATE_ROLES, "keep note templates")
    tpl = get_template(uow, template_id)
    name = tpl.name
    uow.session.delete(tpl)
    repo.audit(uow.session, actor, "delete", "note_template", template_id, ip=ip, detail=name)
