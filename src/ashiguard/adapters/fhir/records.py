"""Import a patient's record (a FHIR R4 Bundle, e.g. from Synthea) as an ashiguard intake.

:func:`intake_from_bundle` reads Patient, Condition, Procedure, MedicationRequest and
Observation resources as of a screening day ``on`` and returns the intake plus notes on every
fact it could not map (see docs/fhir.md for the tables).

Notes
-----
Safety assumptions:

- Nothing dated after ``on`` is imported (conditions with a later onset, later procedures,
  requests authored later, later observations); a condition resolved after ``on`` was still
  active on ``on`` and is imported as ``active``.
- A condition without clinicalStatus counts as ``active`` (as in the intake format).
- Codes that map to no contract code are listed in the notes, and the current ones (active or
  history conditions, active medications, procedures in the year before ``on``) also in the
  intake's ``notes`` text, so that the therapist reviews them; they are not screened.
- Blood pressure and temperature count only when measured on ``on`` (contract section 2: the
  intake's vitals are measured on its date). An older reading is left out, named in a note and
  in the intake's notes, so that the screening asks for a measurement (policy v1.1,
  ``bp-not-measured-today``). Height and weight come from the latest observation up to ``on``.
- A record that says the patient has died (``deceasedBoolean`` true or ``deceasedDateTime``) is
  not an intake: it is refused (policy v1.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ashiguard.adapters.fhir._base import LOINC, RXNORM, SNOMED, fhir_day_range
from ashiguard.adapters.fhir.rxnorm import medication_class
from ashiguard.domain.codes import code_for_snomed
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import INTAKE_SCHEMA, Intake, parse_intake

__all__ = ["ImportResult", "intake_from_bundle"]

_CLINICAL = {
    "active": "active",
    "recurrence": "active",
    "relapse": "active",
    "inactive": "history",
    "remission": "history",
    "resolved": "resolved",
}
_SKIP_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_SKIP_PROCEDURE = frozenset({"not-done", "entered-in-error", "preparation"})
_SKIP_OBSERVATION = frozenset({"entered-in-error", "cancelled", "registered"})
_BP_PANEL, _SYSTOLIC, _DIASTOLIC = "55284-4", "8480-6", "8462-4"
_HEIGHT, _WEIGHT, _TEMPERATURE = "8302-2", "29463-7", "8310-5"
# UCUM unit -> (factor, offset) to the intake unit: value * factor + offset.
_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    _HEIGHT: {"cm": (1.0, 0.0), "m": (100.0, 0.0), "mm": (0.1, 0.0), "[in_i]": (2.54, 0.0)},
    _WEIGHT: {"kg": (1.0, 0.0), "g": (0.001, 0.0), "[lb_av]": (0.45359237, 0.0)},
    _TEMPERATURE: {"Cel": (1.0, 0.0), "[degF]": (5 / 9, -32 * 5 / 9)},
    _SYSTOLIC: {"mm[Hg]": (1.0, 0.0)},
    _DIASTOLIC: {"mm[Hg]": (1.0, 0.0)},
}
_KIND_WORDS = {
    "Condition": "condition",
    "Procedure": "procedure",
    "MedicationRequest": "medication",
}
_NOTES_MAX = 3500  # the intake's notes hold at most 4000 characters


@dataclass(frozen=True)
class ImportResult:
    """An imported intake and what the importer has to say about the record."""

    intake: Intake
    notes: tuple[str, ...]


@dataclass
class _Res:
    """One resource of the bundle and where it is."""

    where: str  # "Condition/abc" (or "entry[3]" when it has no id)
    data: dict[str, Any]


@dataclass
class _Unmapped:
    kind: str
    system: str
    code: str
    display: str
    details: list[str] = field(default_factory=list)


@dataclass
class _State:
    on: date
    intake: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unmapped: dict[tuple[str, str, str], _Unmapped] = field(default_factory=dict)
    current: list[str] = field(default_factory=list)  # unmapped facts for the intake notes
    old_vitals: list[str] = field(default_factory=list)  # readings older than the day

    def unmap(self, kind: str, coding: tuple[str, str, str], detail: str, current: bool) -> None:
        system, code, display = coding
        entry = self.unmapped.setdefault(
            (kind, system, code), _Unmapped(kind, system, code, display)
        )
        entry.details.append(detail)
        if current:
            what = _KIND_WORDS.get(kind, kind)
            self.current.append(f"{what} {display or code} ({_system_name(system)} {code})")


def _system_name(system: str) -> str:
    return {SNOMED: "SNOMED CT", RXNORM: "RxNorm", LOINC: "LOINC"}.get(
        system, system or "no system"
    )


# --------------------------------------------------------------------------- JSON access


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: expected a non-empty string, got {json.dumps(value)}")
    return value


def _codings(concept: object, where: str) -> list[tuple[str, str, str]]:
    """``(system, code, display)`` of each coding of a CodeableConcept."""
    out = []
    cc = _obj(concept, where)
    for i, raw in enumerate(_list(cc.get("coding"), f"{where}.coding")):
        c = _obj(raw, f"{where}.coding[{i}]")
        code = c.get("code")
        if isinstance(code, str) and code:
            out.append((str(c.get("system") or ""), code, str(c.get("display") or "")))
    if not out:
        raise InputError(f"{where}: no coding with a code")
    return out


def _text(concept: dict[str, Any], codings: list[tuple[str, str, str]]) -> str:
    text = concept.get("text")
    return text if isinstance(text, str) and text else codings[0][2]


def _status_code(concept: object, where: str) -> str | None:
    if concept is None:
        return None
    for system, code, _ in _codings(concept, where):
        if system.startswith("http://terminology.hl7.org/CodeSystem/") or not system:
            return code
    return None


def _event_range(res: dict[str, Any], prefix: str, where: str) -> tuple[date, date] | None:
    """First and last possible day of ``{prefix}DateTime`` or ``{prefix}Period.start``."""
    if f"{prefix}DateTime" in res:
        return fhir_day_range(res[f"{prefix}DateTime"], f"{where}.{prefix}DateTime")
    if f"{prefix}Period" in res:
        period = _obj(res[f"{prefix}Period"], f"{where}.{prefix}Period")
        if "start" in period:
            return fhir_day_range(period["start"], f"{where}.{prefix}Period.start")
    return None


def _event_day(
    st: _State, res: dict[str, Any], prefix: str, where: str
) -> tuple[date | None, date | None]:
    """``(day, earliest)``: the event's day (None if undated or partial), its earliest day.

    A partial date (``2019`` or ``2019-03``) is taken as undated, so that every time window of
    a rule applies to it (the stricter reading), with a note.
    """
    span = _event_range(res, prefix, where)
    if span is None:
        return None, None
    if span[0] != span[1] and span[0] <= st.on:
        st.notes.append(f"{where}: {prefix} date is partial: taken as undated")
        return None, span[0]
    return span[0], span[0]


# --------------------------------------------------------------------------- the bundle


def _decode(bundle: object) -> dict[str, Any]:
    if isinstance(bundle, str | bytes):
        try:
            bundle = json.loads(bundle)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"bundle: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
    doc = _obj(bundle, "bundle")
    if doc.get("resourceType") != "Bundle":
        raise InputError(f"resourceType: expected 'Bundle', got {doc.get('resourceType')!r}")
    return doc


def _resources(doc: dict[str, Any]) -> Iterator[tuple[str | None, _Res]]:
    for i, raw in enumerate(_list(doc.get("entry"), "entry")):
        entry = _obj(raw, f"entry[{i}]")
        res = _obj(entry.get("resource"), f"entry[{i}].resource")
        kind = _str(res.get("resourceType"), f"entry[{i}].resource.resourceType")
        rid = res.get("id")
        where = f"{kind}/{rid}" if isinstance(rid, str) and rid else f"entry[{i}] ({kind})"
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        yield full_url, _Res(where, res)


def _pick_patient(
    patients: list[tuple[str | None, _Res]], kinds: dict[str, int], patient_id: str | None
) -> tuple[_Res, set[str]]:
    if not patients:
        found = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no entries"
        raise InputError(f"bundle: no Patient resource in bundle (found {found})")
    if patient_id is not None:
        chosen = [p for p in patients if p[1].data.get("id") == patient_id]
        if not chosen:
            ids = ", ".join(str(p[1].data.get("id")) for p in patients)
            raise InputError(f"--patient: no Patient with id {patient_id!r} in bundle ({ids})")
    elif len(patients) > 1:
        ids = ", ".join(str(p[1].data.get("id")) for p in patients)
        raise InputError(f"bundle: {len(patients)} Patient resources ({ids}): choose one by id")
    else:
        chosen = patients
    full_url, patient = chosen[0]
    pid = _str(patient.data.get("id"), f"{patient.where}.id")
    refs = {f"Patient/{pid}"} | ({full_url} if full_url else set())
    return patient, refs


def _belongs(res: dict[str, Any], refs: set[str], only_patient: bool) -> bool:
    subject = res.get("subject", res.get("patient"))
    ref = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(ref, str):
        return only_patient
    return ref in refs or any(ref.endswith("/" + r) for r in refs if r.startswith("Patient/"))


# --------------------------------------------------------------------------- resources


def _patient(st: _State, p: _Res) -> None:
    data = p.data
    client: dict[str, Any] = {"id": _str(data.get("id"), f"{p.where}.id")}
    if "birthDate" in data:
        first, last = fhir_day_range(data["birthDate"], f"{p.where}.birthDate")
        if first > st.on:
            raise InputError(
                f"on: {st.on.isoformat()} is before the birth date {data['birthDate']} of {p.where}"
            )
        born = min(last, st.on)  # a partial birth date: the youngest possible age
        if first != last:
            st.notes.append(
                f"{p.where}: birthDate {data['birthDate']} is partial: taken as {born.isoformat()}"
            )
        client["birth_date"] = born.isoformat()
        st.sources["client.birth_date"] = p.where
    if isinstance(data.get("gender"), str):
        client["sex"] = data["gender"]
    _refuse_deceased(p)
    st.intake["client"] = client
    st.sources["client"] = p.where


def _refuse_deceased(p: _Res) -> None:
    """Refuse the record of a patient who has died: it is not an intake (policy v1.1)."""
    data = p.data
    why = "a deceased person's record is not an intake; nothing imported"
    if "deceasedDateTime" in data:
        died = fhir_day_range(data["deceasedDateTime"], f"{p.where}.deceasedDateTime")[0]
        raise InputError(
            f"{p.where}.deceasedDateTime: the record says the patient died on "
            f"{died.isoformat()}: {why}"
        )
    dead = data.get("deceasedBoolean")
    if dead is True:
        raise InputError(f"{p.where}.deceasedBoolean: the record says the patient has died: {why}")
    if "deceasedBoolean" in data and not isinstance(dead, bool):
        raise InputError(
            f"{p.where}.deceasedBoolean: expected true or false, got {json.dumps(dead)}"
        )


def _condition_status(st: _State, r: _Res) -> str:
    data = r.data
    code = _status_code(data.get("clinicalStatus"), f"{r.where}.clinicalStatus")
    if code is None:
        st.notes.append(f"{r.where}: no clinicalStatus, taken as active")
        return "active"
    if code not in _CLINICAL:
        raise InputError(f"{r.where}.clinicalStatus: unknown code {code!r}")
    status = _CLINICAL[code]
    ended = _event_range(data, "abatement", r.where)
    if status != "active" and ended is not None and ended[1] > st.on:
        return "active"  # it ended after the screening day: still active on that day
    return status


def _condition(st: _State, r: _Res) -> None:
    data = r.data
    verification = _status_code(data.get("verificationStatus"), f"{r.where}.verificationStatus")
    codings = _codings(data.get("code"), f"{r.where}.code")
    label = _text(data["code"], codings)
    if verification in _SKIP_VERIFICATION:
        st.notes.append(f"{r.where}: {label} is {verification}: not imported")
        return
    onset, earliest = _event_day(st, data, "onset", r.where)
    if earliest is not None and earliest > st.on:
        return  # not yet diagnosed on the screening day
    status = _condition_status(st, r)
    for system, code, _ in codings:
        mapped = code_for_snomed(code) if system == SNOMED else None
        if mapped == ("condition", "pregnancy"):
            _pregnancy(st, r, status, onset)
            return
        if mapped is not None and mapped[0] == "condition":
            cond: dict[str, Any] = {"code": mapped[1], "status": status}
            if onset is not None:
                cond["onset"] = onset.isoformat()
            cond["note"] = f"{label} (SNOMED CT {code}, {r.where})"
            st.sources[f"conditions[{len(st.intake['conditions'])}]"] = r.where
            st.intake["conditions"].append(cond)
            return
    when = f", onset {onset.isoformat()}" if onset else ""
    st.unmap("Condition", codings[0], f"{status}{when}", status != "resolved")


def _pregnancy(st: _State, r: _Res, status: str, onset: date | None) -> None:
    since = f" since {onset.isoformat()}" if onset else ""
    if status == "active":
        st.intake["pregnancy"] = {"pregnant": True}
        st.sources["pregnancy"] = r.where
        st.notes.append(f"{r.where}: pregnancy{since}, active on {st.on.isoformat()}: pregnant")
    else:
        st.notes.append(f"{r.where}: pregnancy{since} is {status}: not imported as pregnant")


def _procedure(st: _State, r: _Res) -> None:
    data = r.data
    codings = _codings(data.get("code"), f"{r.where}.code")
    status = data.get("status")
    if status in _SKIP_PROCEDURE:
        st.notes.append(f"{r.where}: {_text(data['code'], codings)} is {status}: not imported")
        return
    when, earliest = _event_day(st, data, "performed", r.where)
    if earliest is not None and earliest > st.on:
        return  # after the screening day
    for system, code, _ in codings:
        mapped = code_for_snomed(code) if system == SNOMED else None
        if mapped is not None and mapped[0] == "procedure":
            proc: dict[str, Any] = {"code": mapped[1]}
            if when is not None:
                proc["date"] = when.isoformat()
            site = _site(data, r.where)
            if site:
                proc["site"] = site
            st.sources[f"procedures[{len(st.intake['procedures'])}]"] = r.where
            st.intake["procedures"].append(proc)
            return
    recent = when is None or (st.on - when).days < 365
    day = when.isoformat() if when else "no date"
    st.unmap("Procedure", codings[0], day, recent)


def _site(data: dict[str, Any], where: str) -> str | None:
    sites = _list(data.get("bodySite"), f"{where}.bodySite")
    if not sites:
        return None
    concept = _obj(sites[0], f"{where}.bodySite[0]")
    text = concept.get("text")
    if isinstance(text, str) and text:
        return text[:200]
    return _codings(concept, f"{where}.bodySite[0]")[0][2][:200] or None


def _medication(st: _State, r: _Res) -> None:
    data = r.data
    if "medicationCodeableConcept" not in data:
        raise InputError(
            f"{r.where}: medicationCodeableConcept is missing "
            "(a medicationReference is not read by ashiguard)"
        )
    concept = data["medicationCodeableConcept"]
    codings = _codings(concept, f"{r.where}.medicationCodeableConcept")
    label = _text(concept, codings)
    status = data.get("status")
    authored = (
        fhir_day_range(data["authoredOn"], f"{r.where}.authoredOn")[0]
        if "authoredOn" in data
        else None
    )
    if authored is not None and authored > st.on:
        return  # prescribed after the screening day
    codes = [code for system, code, _ in codings if system == RXNORM]
    texts = [label] + [display for _, _, display in codings if display]
    mapped = medication_class(codes, texts)
    if status != "active":
        if mapped is not None:
            st.notes.append(f"{r.where}: {label} ({mapped[0]}) is {status}: not imported")
        else:
            st.unmap("MedicationRequest", codings[0], str(status), False)
        return
    if mapped is None:
        st.unmap("MedicationRequest", codings[0], "active", True)
        return
    med = {"code": mapped[0], "name": label[:200]}
    if med not in st.intake["medications"]:
        st.intake["medications"].append(med)
    if mapped[1].startswith("ingredient"):
        st.notes.append(f"{r.where}: {label} mapped to {mapped[0]} by {mapped[1]}")


# --------------------------------------------------------------------------- observations


def _loinc(data: dict[str, Any], where: str) -> set[str]:
    concept = data.get("code")
    if concept is None:
        return set()
    return {code for system, code, _ in _codings(concept, f"{where}.code") if system == LOINC}


def _quantity(holder: dict[str, Any], loinc: str, where: str) -> float | None:
    if "valueQuantity" not in holder:
        return None
    q = _obj(holder["valueQuantity"], f"{where}.valueQuantity")
    value, unit = q.get("value"), q.get("code", q.get("unit"))
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InputError(f"{where}.valueQuantity.value: expected a number, got {json.dumps(value)}")
    conv = _UNITS[loinc].get(str(unit))
    if conv is None:
        raise InputError(f"{where}.valueQuantity: unit {unit!r} is not one ashiguard converts")
    return float(value) * conv[0] + conv[1]


_Span = tuple[date, date]  # first and last possible day of an observation


def _latest(observations: list[tuple[_Span, _Res]]) -> dict[str, tuple[date | None, _Res]]:
    """The latest observation of each vital up to the day, with its day (None if partial)."""
    latest: dict[str, tuple[_Span, _Res]] = {}
    for span, r in observations:
        for code in _loinc(r.data, r.where) & {_BP_PANEL, _HEIGHT, _WEIGHT, _TEMPERATURE}:
            if code not in latest or span[1] >= latest[code][0][1]:
                latest[code] = (span, r)
    return {k: (s[0] if s[0] == s[1] else None, r) for k, (s, r) in latest.items()}


def _vitals(st: _State, observations: list[tuple[_Span, _Res]]) -> None:
    latest = _latest(observations)
    client, vitals = st.intake["client"], st.intake["vitals"]
    for code, key in ((_HEIGHT, "height_cm"), (_WEIGHT, "weight_kg")):
        if code in latest:
            day, r = latest[code]
            value = _quantity(r.data, code, r.where)
            if value is not None:
                client[key] = value
                st.sources[f"client.{key}"] = r.where
    if _TEMPERATURE in latest:
        day, r = latest[_TEMPERATURE]
        value = _quantity(r.data, _TEMPERATURE, r.where)
        if value is not None and _of_the_day(st, day, r, f"temperature {value:.1f} C"):
            vitals["temperature_c"] = value
            st.sources["vitals.temperature_c"] = r.where
    if _BP_PANEL in latest:
        _blood_pressure(st, *latest[_BP_PANEL])


def _blood_pressure(st: _State, day: date | None, r: _Res) -> None:
    found: dict[str, float] = {}
    for i, raw in enumerate(_list(r.data.get("component"), f"{r.where}.component")):
        comp = _obj(raw, f"{r.where}.component[{i}]")
        for code in _loinc(comp, f"{r.where}.component[{i}]") & {_SYSTOLIC, _DIASTOLIC}:
            value = _quantity(comp, code, f"{r.where}.component[{i}]")
            if value is not None:
                found[code] = value
    if not found:
        return
    text = "/".join(f"{found[c]:.0f}" if c in found else "?" for c in (_SYSTOLIC, _DIASTOLIC))
    if not _of_the_day(st, day, r, f"blood pressure {text} mmHg"):
        return
    vitals = st.intake["vitals"]
    for code, key in ((_SYSTOLIC, "systolic_mmhg"), (_DIASTOLIC, "diastolic_mmhg")):
        if code in found:
            vitals[key] = found[code]
            st.sources[f"vitals.{key}"] = r.where
    st.sources["vitals"] = r.where


def _of_the_day(st: _State, day: date | None, r: _Res, what: str) -> bool:
    """Whether a reading was taken on the screening day; an older one is named and left out.

    ``day`` is None for a reading with a partial date or none: it is not known to be of the day.
    """
    if day == st.on:
        st.notes.append(f"{r.where}: {what} measured on the screening day")
        return True
    when = "on no given day"
    if day is not None:
        days = (st.on - day).days
        when = f"on {day.isoformat()}, {days} day{'s' if days != 1 else ''} before"
    st.notes.append(
        f"{r.where}: {what} was measured {when} the screening day: not today's, "
        "left out of the intake's vitals; measure it before the session"
    )
    st.old_vitals.append(f"{what} on {day.isoformat() if day else 'no given day'}")
    return False


# --------------------------------------------------------------------------- assembling


def _unmapped_notes(st: _State) -> list[str]:
    out = []
    for u in st.unmapped.values():
        details = sorted(set(u.details))
        shown = "; ".join(details[:3]) + (f"; {len(details) - 3} more" if len(details) > 3 else "")
        times = f" x{len(u.details)}" if len(u.details) > 1 else ""
        out.append(
            f"not mapped, not screened: {u.kind} {_system_name(u.system)} {u.code} "
            f"{u.display!r}{times} ({shown})"
        )
    return out


def _intake_notes(st: _State, source: str) -> str:
    head = f"Imported from {source} as of {st.on.isoformat()}."
    if st.old_vitals:
        head += (
            " Not today's, so not in the vitals (measure before the session): last "
            + "; ".join(st.old_vitals)
            + "."
        )
    if not st.current:
        return head
    items = list(dict.fromkeys(st.current))
    text = f"{head} Not screened, review by hand: " + "; ".join(items) + "."
    if len(text) > _NOTES_MAX:
        text = text[: _NOTES_MAX - 40].rsplit(";", 1)[0] + "; ... (see the import notes)."
    return text


def _build(st: _State) -> Intake:
    try:
        return parse_intake(st.intake)
    except InputError as exc:
        field_path = str(exc).split(":", 1)[0]
        best = max(
            (k for k in st.sources if field_path == k or field_path.startswith((k + ".", k + "["))),
            key=len,
            default=None,
        )
        if best is None:
            raise
        raise InputError(f"{st.sources[best]}: {exc}") from None


def intake_from_bundle(
    bundle: dict[str, Any] | str | bytes, on: date, patient_id: str | None = None
) -> ImportResult:
    """An intake for day ``on`` from a FHIR R4 Bundle holding a patient's record.

    Parameters
    ----------
    bundle : dict or str or bytes
        A Bundle (any type; Synthea writes ``transaction`` bundles), decoded or as JSON text.
    on : date
        The screening day: the intake's ``date``; later facts are ignored.
    patient_id : str, optional
        The Patient's ``id``; needed only when the bundle holds several patients.

    Returns
    -------
    ImportResult
        The validated intake and notes (unmapped codes, dates of vitals, skipped facts).

    Raises
    ------
    InputError
        One line naming the resource or field: ``bundle: no Patient resource in bundle ...``,
        ``Observation/abc: vitals: systolic 80 mmHg must be above diastolic 90 mmHg``.
    """
    doc = _decode(bundle)
    by_kind: dict[str, list[tuple[str | None, _Res]]] = {}
    for full_url, res in _resources(doc):
        by_kind.setdefault(str(res.data["resourceType"]), []).append((full_url, res))
    kinds = {k: len(v) for k, v in by_kind.items()}
    patients = by_kind.get("Patient", [])
    patient, refs = _pick_patient(patients, kinds, patient_id)
    st = _State(
        on,
        {
            "schema": INTAKE_SCHEMA,
            "date": on.isoformat(),
            "vitals": {},
            "conditions": [],
            "procedures": [],
            "medications": [],
        },
    )
    _patient(st, patient)
    only = len(patients) == 1

    def mine(kind: str) -> list[_Res]:
        return [r for _, r in by_kind.get(kind, []) if _belongs(r.data, refs, only)]

    for r in mine("Condition"):
        _condition(st, r)
    for r in mine("Procedure"):
        _procedure(st, r)
    for r in mine("MedicationRequest"):
        _medication(st, r)
    observations = []
    for r in mine("Observation"):
        if r.data.get("status") in _SKIP_OBSERVATION:
            continue
        span = _event_range(r.data, "effective", r.where)
        if span is not None and span[1] <= on:
            observations.append((span, r))
    _vitals(st, observations)
    st.intake["notes"] = _intake_notes(st, f"FHIR record {patient.where}")
    notes = st.notes + _unmapped_notes(st)
    return ImportResult(_build(st), tuple(notes))
