"""The intake form: HTML form fields <-> an ``ashiguard.intake/1`` object.

Field names are the intake's own field paths (``vitals.systolic_mmhg``, ``conditions.0.onset``)
so that an error from :func:`ashiguard.domain.intake.parse_intake` (``conditions[0].onset: ...``)
lands next to the field that caused it. Values typed by the user are kept on error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ashiguard.domain.errors import InputError

__all__ = [
    "CARRIED_OVER",
    "CONDITION_ROWS",
    "MEDICATION_ROWS",
    "PROCEDURE_ROWS",
    "carry_over",
    "error_field",
    "form_to_intake",
    "intake_to_form",
]

CONDITION_ROWS = 5
PROCEDURE_ROWS = 3
MEDICATION_ROWS = 3

_NUMBERS = {
    "client.height_cm": float,
    "client.weight_kg": float,
    "vitals.systolic_mmhg": float,
    "vitals.diastolic_mmhg": float,
    "vitals.temperature_c": float,
    "pregnancy.weeks": int,
}


def error_field(message: str) -> str:
    """The form field an error names: ``conditions[0].onset: x`` -> ``conditions.0.onset``."""
    head = message.split(":", 1)[0].strip()
    return re.sub(r"\[(\d+)\]", r".\1", head)


def _number(form: Mapping[str, Any], name: str) -> float | int | None:
    raw = str(form.get(name, "") or "").strip()
    if not raw:
        return None
    try:
        value = _NUMBERS[name](raw.replace(",", "."))
    except ValueError:
        kind = "a whole number" if _NUMBERS[name] is int else "a number"
        raise InputError(f"{name}: must be {kind} (got {raw!r})") from None
    return value


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name, "") or "").strip()


def _rows(
    form: Mapping[str, Any], prefix: str, n: int, keys: tuple[str, ...]
) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        row = {k: _text(form, f"{prefix}.{i}.{k}") for k in keys}
        if row["code"]:
            out.append(row)
        elif any(row.values()):
            raise InputError(f"{prefix}.{i}.code: choose a code (or clear the row)")
    return out


def form_to_intake(form: Mapping[str, Any], symptoms: list[str], client_ref: str) -> dict[str, Any]:
    """Build the intake object from the submitted form (numbers parsed, blanks dropped)."""
    client: dict[str, Any] = {"id": client_ref}
    if _text(form, "client.birth_date"):
        client["birth_date"] = _text(form, "client.birth_date")
    if _text(form, "client.sex"):
        client["sex"] = _text(form, "client.sex")
    for key in ("height_cm", "weight_kg"):
        v = _number(form, f"client.{key}")
        if v is not None:
            client[key] = v
    vitals = {}
    for key in ("systolic_mmhg", "diastolic_mmhg", "temperature_c"):
        v = _number(form, f"vitals.{key}")
        if v is not None:
            vitals[key] = v
    conditions = []
    for i, row in enumerate(
        _rows(form, "conditions", CONDITION_ROWS, ("code", "status", "onset", "controlled", "note"))
    ):
        c: dict[str, Any] = {"code": row["code"], "status": row["status"] or "active"}
        if row["onset"]:
            c["onset"] = row["onset"]
        if row["controlled"] not in ("", "true", "false"):
            raise InputError(f"conditions.{i}.controlled: must be yes, no or unknown")
        c["controlled"] = {"": None, "true": True, "false": False}[row["controlled"]]
        if row["note"]:
            c["note"] = row["note"]
        conditions.append(c)
    procedures = []
    for row in _rows(form, "procedures", PROCEDURE_ROWS, ("code", "date", "site")):
        procedures.append({k: v for k, v in row.items() if v})
    medications = []
    for row in _rows(form, "medications", MEDICATION_ROWS, ("code", "name")):
        medications.append({k: v for k, v in row.items() if v})
    pregnant = {"": None, "yes": True, "no": False}.get(_text(form, "pregnancy.pregnant"))
    pregnancy: dict[str, Any] = {"pregnant": pregnant, "weeks": _number(form, "pregnancy.weeks")}
    return {
        "schema": "ashiguard.intake/1",
        "date": _text(form, "date"),
        "client": client,
        "vitals": vitals,
        "conditions": conditions,
        "procedures": procedures,
        "medications": medications,
        "pregnancy": pregnancy,
        "symptoms": sorted(set(symptoms)),
        "notes": _text(form, "notes"),
    }


CARRIED_OVER = ("client.", "conditions.", "procedures.", "medications.")
"""What a new intake version takes from the last one: the client's details and stable history
(conditions, surgeries, medications), to be confirmed; never today's symptoms, vitals,
pregnancy, pain sites or notes."""


def carry_over(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Form values of a new intake version started from the last stored one (see
    :data:`CARRIED_OVER`)."""
    return {k: v for k, v in intake_to_form(payload).items() if k.startswith(CARRIED_OVER)}


def intake_to_form(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Form values that show a stored intake (to start the next version from it)."""
    v: dict[str, Any] = {"date": payload.get("date", ""), "notes": payload.get("notes", "")}
    for k, val in (payload.get("client") or {}).items():
        v[f"client.{k}"] = "" if val is None else val
    for k, val in (payload.get("vitals") or {}).items():
        v[f"vitals.{k}"] = "" if val is None else val
    for kind in ("conditions", "procedures", "medications"):
        for i, row in enumerate(payload.get(kind) or []):
            for k, val in row.items():
                if k == "controlled":
                    val = {None: "", True: "true", False: "false"}[val]
                v[f"{kind}.{i}.{k}"] = "" if val is None else val
    preg = payload.get("pregnancy") or {}
    v["pregnancy.pregnant"] = {None: "", True: "yes", False: "no"}[preg.get("pregnant")]
    v["pregnancy.weeks"] = "" if preg.get("weeks") is None else preg["weeks"]
    v["symptoms"] = list(payload.get("symptoms") or [])
    return v
