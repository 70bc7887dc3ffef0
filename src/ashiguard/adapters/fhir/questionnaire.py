"""The ashiguard intake as a FHIR R4 Questionnaire, and intakes as QuestionnaireResponses.

Every item's ``linkId`` is the intake field path (``client.height_cm``, ``conditions.onset``),
so an answer maps to exactly one field. Repeating groups (``conditions``, ``procedures``,
``medications``) hold one response item per entry, in order.

Notes
-----
Codes are ``open-choice`` items: the answer options are the contract codes, coded in SNOMED CT
where ``domain/codes.py`` knows the concept and in the ashiguard intake code system otherwise
(``display`` is always the contract code). Reading a response also accepts any SNOMED CT
concept ``code_for_snomed`` maps to the item's kind, and free text (``valueString``) for codes
outside the contract, which the screening then flags as ``unknown-code``. An answer coded in
any other system, a SNOMED CT concept of another kind, or an unknown ``linkId`` is refused:
a fact must never be dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ashiguard.adapters.fhir._base import ASHIGUARD_CODES, FHIR_BASE, SNOMED, validated
from ashiguard.domain.codes import (
    CONDITION_CODES,
    MEDICATION_CODES,
    PROCEDURE_CODES,
    SNOMED_CT,
    SYMPTOM_CODES,
    CodeKind,
    code_for_snomed,
)
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import Intake, parse_intake

__all__ = [
    "QUESTIONNAIRE_URL",
    "QUESTIONNAIRE_VERSION",
    "intake_to_questionnaire_response",
    "questionnaire",
    "questionnaire_response_to_intake",
]

QUESTIONNAIRE_URL = f"{FHIR_BASE}/Questionnaire/ashiguard-intake"
QUESTIONNAIRE_VERSION = "1"  # follows the intake format ashiguard.intake/1
_CANONICAL = f"{QUESTIONNAIRE_URL}|{QUESTIONNAIRE_VERSION}"
_GENDER = "http://hl7.org/fhir/administrative-gender"
_GENDERS = ("male", "female", "other", "unknown")
_UNIT_EXT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
_UCUM = "http://unitsofmeasure.org"
_STATUSES = ("active", "history", "resolved")
_CODES_BY_KIND: dict[CodeKind, tuple[str, ...]] = {
    "condition": CONDITION_CODES,
    "procedure": PROCEDURE_CODES,
    "medication": MEDICATION_CODES,
    "symptom": SYMPTOM_CODES,
}


@dataclass(frozen=True)
class _Field:
    """One answerable item: ``key`` in the intake object, FHIR ``type``, value kind."""

    key: str
    text: str
    type: str  # FHIR item type
    value: str  # "string", "date", "decimal", "integer", "boolean", "code", "sex", "status"
    kind: CodeKind | None = None
    unit: str | None = None
    required: bool = False
    repeats: bool = False


@dataclass(frozen=True)
class _Group:
    key: str
    text: str
    fields: tuple[_Field, ...]
    repeats: bool = False


_CLIENT = _Group(
    "client",
    "Client",
    (
        _Field("id", "Client id", "string", "string", required=True),
        _Field("birth_date", "Birth date", "date", "date"),
        _Field("sex", "Sex", "open-choice", "sex"),
        _Field("height_cm", "Standing height (cm)", "decimal", "decimal", unit="cm"),
        _Field("weight_kg", "Body weight (kg)", "decimal", "decimal", unit="kg"),
    ),
)
_VITALS = _Group(
    "vitals",
    "Vital signs measured on the screening day",
    (
        _Field(
            "systolic_mmhg", "Systolic blood pressure (mmHg)", "decimal", "decimal", unit="mm[Hg]"
        ),
        _Field(
            "diastolic_mmhg", "Diastolic blood pressure (mmHg)", "decimal", "decimal", unit="mm[Hg]"
        ),
        _Field("temperature_c", "Body temperature (C)", "decimal", "decimal", unit="Cel"),
    ),
)
_CONDITIONS = _Group(
    "conditions",
    "Conditions the client has or had",
    (
        _Field("code", "Condition", "open-choice", "code", kind="condition", required=True),
        _Field("status", "Status", "choice", "status"),
        _Field("controlled", "Controlled (e.g. by medication)", "boolean", "boolean"),
        _Field("onset", "Onset date", "date", "date"),
        _Field("note", "Note", "string", "string"),
    ),
    repeats=True,
)
_PROCEDURES = _Group(
    "procedures",
    "Surgical procedures",
    (
        _Field("code", "Procedure", "open-choice", "code", kind="procedure", required=True),
        _Field("date", "Date", "date", "date"),
        _Field("site", "Site (e.g. left, L4-L5)", "string", "string"),
    ),
    repeats=True,
)
_MEDICATIONS = _Group(
    "medications",
    "Medications",
    (
        _Field("code", "Medication class", "open-choice", "code", kind="medication", required=True),
        _Field("name", "Product name", "string", "string"),
    ),
    repeats=True,
)
_PREGNANCY = _Group(
    "pregnancy",
    "Pregnancy",
    (
        _Field("pregnant", "Pregnant", "boolean", "boolean"),
        _Field("weeks", "Weeks of pregnancy", "integer", "integer"),
    ),
)
_TOP_DATE = _Field("date", "Screening date", "date", "date", required=True)
_SYMPTOMS = _Field(
    "symptoms", "Symptoms today", "open-choice", "code", kind="symptom", repeats=True
)
_NOTES = _Field("notes", "Notes", "text", "string")
_GROUPS = (_CLIENT, _VITALS, _CONDITIONS, _PROCEDURES, _MEDICATIONS, _PREGNANCY)


# --------------------------------------------------------------------------- Questionnaire


def _coding_for(kind: CodeKind, code: str) -> dict[str, str]:
    sid = SNOMED_CT.get((kind, code))
    if sid is not None:
        return {"system": SNOMED, "code": sid, "display": code}
    return {"system": ASHIGUARD_CODES, "code": code, "display": code}


def _options(f: _Field) -> list[dict[str, Any]]:
    if f.value == "code" and f.kind is not None:
        return [{"valueCoding": _coding_for(f.kind, c)} for c in _CODES_BY_KIND[f.kind]]
    if f.value == "sex":
        return [{"valueCoding": {"system": _GENDER, "code": g, "display": g}} for g in _GENDERS]
    if f.value == "status":
        return [{"valueString": s} for s in _STATUSES]
    return []


def _item(f: _Field, link_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": f.text, "type": f.type}
    if f.unit is not None:
        unit = {"system": _UCUM, "code": f.unit, "display": f.unit}
        item["extension"] = [{"url": _UNIT_EXT, "valueCoding": unit}]
    if f.required:
        item["required"] = True
    if f.repeats:
        item["repeats"] = True
    if options := _options(f):
        item["answerOption"] = options
    return item


def _group_item(g: _Group) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": g.key, "text": g.text, "type": "group"}
    if g.repeats:
        item["repeats"] = True
    item["item"] = [_item(f, f"{g.key}.{f.key}") for f in g.fields]
    return item


def questionnaire() -> dict[str, Any]:
    """The ashiguard intake (``ashiguard.intake/1``) as a FHIR R4 ``Questionnaire`` (JSON).

    Returns
    -------
    dict
        A Questionnaire with canonical ``url`` and ``version``; every ``linkId`` is the intake
        field path. Checked against the ``fhir.resources.R4B`` model.
    """
    items = [_item(_TOP_DATE, "date"), _group_item(_CLIENT), _group_item(_VITALS)]
    items += [_group_item(g) for g in (_CONDITIONS, _PROCEDURES, _MEDICATIONS, _PREGNANCY)]
    items += [_item(_SYMPTOMS, "symptoms"), _item(_NOTES, "notes")]
    return validated(
        {
            "resourceType": "Questionnaire",
            "id": "ashiguard-intake",
            "url": QUESTIONNAIRE_URL,
            "version": QUESTIONNAIRE_VERSION,
            "name": "AshiguardIntake",
            "title": "ashiguard intake for barefoot massage (Ashiatsu) screening",
            "status": "active",
            "subjectType": ["Patient"],
            "description": (
                "Client intake screened for contraindications to barefoot massage; each "
                "linkId is the field path of the ashiguard.intake/1 JSON format."
            ),
            "item": items,
        }
    )


# --------------------------------------------------------------------------- Intake -> QR


def _answer(f: _Field, value: Any) -> dict[str, Any]:
    if f.value == "code" and f.kind is not None:
        if value in _CODES_BY_KIND[f.kind]:
            return {"valueCoding": _coding_for(f.kind, value)}
        return {"valueString": value}
    if f.value == "sex":
        if value in _GENDERS:
            return {"valueCoding": {"system": _GENDER, "code": value, "display": value}}
        return {"valueString": value}
    key = {
        "string": "valueString",
        "status": "valueString",
        "date": "valueDate",
        "decimal": "valueDecimal",
        "integer": "valueInteger",
        "boolean": "valueBoolean",
    }[f.value]
    return {key: value}


def _answered(f: _Field, link_id: str, value: Any) -> dict[str, Any] | None:
    if value is None or value == "" or value == []:
        return None
    values = value if f.repeats else [value]
    return {"linkId": link_id, "text": f.text, "answer": [_answer(f, v) for v in values]}


def _group_answers(g: _Group, obj: dict[str, Any]) -> dict[str, Any] | None:
    items = [_answered(f, f"{g.key}.{f.key}", obj.get(f.key)) for f in g.fields]
    present = [i for i in items if i is not None]
    return {"linkId": g.key, "text": g.text, "item": present} if present else None


def intake_to_questionnaire_response(intake: Intake) -> dict[str, Any]:
    """The intake as a completed FHIR R4 ``QuestionnaireResponse`` (JSON) of :func:`questionnaire`.

    Fields that are not given (``None``, empty text, empty lists) have no item.
    """
    data = intake.to_json()
    items: list[dict[str, Any] | None] = [_answered(_TOP_DATE, "date", data["date"])]
    for g in _GROUPS:
        if g.repeats:
            items += [_group_answers(g, entry) for entry in data[g.key]]
        else:
            items.append(_group_answers(g, data[g.key]))
    items.append(_answered(_SYMPTOMS, "symptoms", data["symptoms"]))
    items.append(_answered(_NOTES, "notes", data["notes"]))
    return validated(
        {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": _CANONICAL,
            "status": "completed",
            "authored": data["date"],
            "item": [i for i in items if i is not None],
        }
    )


# --------------------------------------------------------------------------- QR -> Intake


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _code_value(f: _Field, answer: dict[str, Any], where: str) -> str:
    if "valueString" in answer:
        text = answer["valueString"]
        if not isinstance(text, str):
            raise InputError(f"{where}.valueString: expected a string")
        return text
    coding = _obj(answer.get("valueCoding"), f"{where}.valueCoding")
    system, code = coding.get("system"), coding.get("code")
    if not isinstance(code, str):
        raise InputError(f"{where}.valueCoding.code: expected a code string, got {code!r}")
    if f.value == "sex":
        if system != _GENDER:
            raise InputError(f"{where}.valueCoding.system: expected {_GENDER}, got {system!r}")
        return code
    if system == ASHIGUARD_CODES:
        return code
    if system == SNOMED:
        mapped = code_for_snomed(code)
        if mapped is None or mapped[0] != f.kind:
            raise InputError(f"{where}.valueCoding: SNOMED CT {code} is not a known {f.kind} code")
        return mapped[1]
    raise InputError(
        f"{where}.valueCoding.system: expected {SNOMED} or {ASHIGUARD_CODES}, got {system!r}"
    )


_VALUE_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "string": ("valueString", str),
    "status": ("valueString", str),
    "date": ("valueDate", str),
    "decimal": ("valueDecimal", (int, float)),
    "integer": ("valueInteger", int),
    "boolean": ("valueBoolean", bool),
}


def _value(f: _Field, answer: object, where: str) -> Any:
    answer = _obj(answer, where)
    if f.value in ("code", "sex"):
        return _code_value(f, answer, where)
    key, types = _VALUE_KEYS[f.value]
    if key not in answer:
        raise InputError(f"{where}: expected {key}, got {sorted(answer) or 'nothing'}")
    value = answer[key]
    if not isinstance(value, types) or (f.value != "boolean" and isinstance(value, bool)):
        raise InputError(f"{where}.{key}: expected a {f.value}, got {json.dumps(value)}")
    return value


def _read_field(f: _Field, item: dict[str, Any], where: str) -> Any:
    answers = _list(item.get("answer"), f"{where}.answer")
    values = [_value(f, a, f"{where}.answer[{i}]") for i, a in enumerate(answers)]
    if f.repeats:
        return values
    if len(values) > 1:
        raise InputError(f"{where}.answer: expected one answer, got {len(values)}")
    return values[0] if values else None


def _read_fields(
    fields: Sequence[_Field], prefix: str, items: Iterable[Any], where: str
) -> dict[str, Any]:
    by_link = {f"{prefix}{f.key}": f for f in fields}
    out: dict[str, Any] = {}
    for i, raw in enumerate(items):
        item = _obj(raw, f"{where}[{i}]")
        link = item.get("linkId")
        here = f"{where}[{i}] ({link})"
        f = by_link.get(link) if isinstance(link, str) else None
        if f is None:
            raise InputError(f"{here}: unknown linkId (not an item of {_CANONICAL})")
        if f.key in out:
            raise InputError(f"{here}: item given twice")
        value = _read_field(f, item, here)
        if value is not None:
            out[f.key] = value
    return out


def questionnaire_response_to_intake(qr: dict[str, Any] | str | bytes) -> Intake:
    """Read a ``QuestionnaireResponse`` of :func:`questionnaire` back into an :class:`Intake`.

    Parameters
    ----------
    qr : dict or str or bytes
        The QuestionnaireResponse, decoded or as JSON text.

    Raises
    ------
    InputError
        One line naming the item at fault (``item[3] (conditions): ...``) or, for values the
        intake refuses, the intake field (``vitals.systolic_mmhg: ...``).
    """
    if isinstance(qr, str | bytes):
        try:
            qr = json.loads(qr)
        except json.JSONDecodeError as exc:
            raise InputError(f"QuestionnaireResponse: not valid JSON: {exc.msg}") from None
    doc = _obj(qr, "QuestionnaireResponse")
    if doc.get("resourceType") != "QuestionnaireResponse":
        raise InputError(
            f"resourceType: expected 'QuestionnaireResponse', got {doc.get('resourceType')!r}"
        )
    if doc.get("status") == "entered-in-error":
        raise InputError("status: the QuestionnaireResponse is entered-in-error")
    source = doc.get("questionnaire")
    if source is not None and source not in (_CANONICAL, QUESTIONNAIRE_URL):
        raise InputError(f"questionnaire: expected {_CANONICAL!r}, got {source!r}")
    groups = {g.key: g for g in _GROUPS}
    top = {f.key: f for f in (_TOP_DATE, _SYMPTOMS, _NOTES)}
    data: dict[str, Any] = {"schema": "ashiguard.intake/1"}
    for i, raw in enumerate(_list(doc.get("item"), "item")):
        item = _obj(raw, f"item[{i}]")
        link = item.get("linkId")
        here = f"item[{i}] ({link})"
        if isinstance(link, str) and link in top:
            if link in data:
                raise InputError(f"{here}: item given twice")
            value = _read_field(top[link], item, here)
            if value is not None:
                data[link] = value
        elif isinstance(link, str) and link in groups:
            g = groups[link]
            fields = _read_fields(g.fields, f"{g.key}.", _list(item.get("item"), here), here)
            if g.repeats:
                data.setdefault(g.key, []).append(fields)
            elif g.key in data:
                raise InputError(f"{here}: group given twice")
            else:
                data[g.key] = fields
        else:
            raise InputError(f"{here}: unknown linkId (not an item of {_CANONICAL})")
    data.setdefault("client", {})
    return parse_intake(data)
