"""The client intake (contract section 2, ``ashiguard.intake/1``) and its validation.

:func:`parse_intake` turns a JSON text or an already decoded object into a frozen
:class:`Intake`, or raises :class:`~ashiguard.domain.errors.InputError` naming the first field
at fault (``vitals.systolic_mmhg: ...``, ``procedures[0].date: ...``).

Notes
-----
Validation is strict on purpose, because a silently dropped fact can clear a client who should
not be treated:

- unknown fields are refused (a misspelt ``sytolic_mmhg`` must not vanish);
- numbers must be JSON numbers (``"150"`` is refused), dates ``YYYY-MM-DD`` strings;
- values outside a physiological range are refused (systolic 50-300 mmHg, diastolic
  20-200 mmHg, systolic above diastolic, temperature 30-45 C, height 40-260 cm, weight 2-400 kg);
- no event (onset, procedure, birth) may lie after the screening ``date``.

Codes that are not in the contract are accepted and kept: the screening reports each one as an
``unknown-code`` finding that needs clearance (see docs/screening.md), never ignores them.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ashiguard.domain.errors import InputError

__all__ = [
    "INTAKE_SCHEMA",
    "Client",
    "Code",
    "Condition",
    "Intake",
    "IsoDate",
    "Medication",
    "Pregnancy",
    "Procedure",
    "Status",
    "Vitals",
    "age_on",
    "decode_document",
    "format_validation_error",
    "parse_intake",
]

INTAKE_SCHEMA = "ashiguard.intake/1"

Status = Literal["active", "history", "resolved"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a calendar date: {value!r}") from None


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


# JSON arrays arrive as lists; they are kept as tuples so that an Intake is immutable.
_LIST = Field(strict=False)


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, allow_inf_nan=False, str_max_length=4000
    )


class Client(_Model):
    """Who the intake is for; only ``id`` is required."""

    id: Annotated[str, Field(min_length=1, max_length=200)]
    birth_date: IsoDate | None = None
    sex: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    height_cm: Annotated[float, Field(ge=40, le=260)] | None = None
    weight_kg: Annotated[float, Field(ge=2, le=400)] | None = None


class Vitals(_Model):
    """Blood pressure (mmHg) and temperature (C) measured on the screening day."""

    systolic_mmhg: Annotated[float, Field(ge=50, le=300)] | None = None
    diastolic_mmhg: Annotated[float, Field(ge=20, le=200)] | None = None
    temperature_c: Annotated[float, Field(ge=30, le=45)] | None = None

    @model_validator(mode="after")
    def _pressure_pair(self) -> Vitals:
        s, d = self.systolic_mmhg, self.diastolic_mmhg
        if s is not None and d is not None and s <= d:
            raise ValueError(f"systolic {s:g} mmHg must be above diastolic {d:g} mmHg")
        return self


class Condition(_Model):
    """A condition the client has or had."""

    code: Code
    status: Status = "active"
    onset: IsoDate | None = None
    controlled: bool | None = None
    note: str = ""


class Procedure(_Model):
    """A surgical procedure and its date."""

    code: Code
    date: IsoDate | None = None
    site: Annotated[str, Field(max_length=200)] | None = None


class Medication(_Model):
    """A medication class the client takes (``name`` is the product, free text)."""

    code: Code
    name: Annotated[str, Field(max_length=200)] | None = None


class Pregnancy(_Model):
    """Whether the client is pregnant, and since how many weeks."""

    pregnant: bool | None = None
    weeks: Annotated[int, Field(ge=0, le=45)] | None = None

    @model_validator(mode="after")
    def _weeks_need_pregnancy(self) -> Pregnancy:
        if self.weeks is not None and self.pregnant is not True:
            raise ValueError("weeks is given but pregnant is not true")
        return self


class Intake(_Model):
    """One client's intake for one screening day (contract section 2)."""

    schema_: Literal["ashiguard.intake/1"] = Field(alias="schema")
    date: IsoDate
    client: Client
    vitals: Vitals = Vitals()
    conditions: Annotated[tuple[Condition, ...], _LIST] = ()
    procedures: Annotated[tuple[Procedure, ...], _LIST] = ()
    medications: Annotated[tuple[Medication, ...], _LIST] = ()
    pregnancy: Pregnancy = Pregnancy()
    symptoms: Annotated[tuple[Code, ...], _LIST] = ()
    notes: str = ""

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _nothing_after_the_screening_date(self) -> Intake:
        day = self.date
        if self.client.birth_date is not None and self.client.birth_date > day:
            _after("client.birth_date", self.client.birth_date, day)
        for i, c in enumerate(self.conditions):
            if c.onset is not None and c.onset > day:
                _after(f"conditions[{i}].onset", c.onset, day)
        for i, p in enumerate(self.procedures):
            if p.date is not None and p.date > day:
                _after(f"procedures[{i}].date", p.date, day)
        return self

    def to_json(self) -> dict[str, Any]:
        """The intake as a JSON-ready ``ashiguard.intake/1`` object."""
        return self.model_dump(mode="json", by_alias=True)


class _AfterDate(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _after(field: str, value: date, day: date) -> None:
    raise _AfterDate(field, f"{value.isoformat()} is after the screening date {day.isoformat()}")


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day`` (a 29 February birthday counts from 1 March)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _key(part)
    return out


def _key(name: str) -> str:
    """A field name as typed, or quoted (JSON) when it is empty, long or not printable text."""
    if name and len(name) <= 60 and name.isprintable() and not any(c in name for c in ' ."'):
        return name
    return json.dumps(name[:60])


def format_validation_error(exc: ValidationError, where: str = "") -> str:
    """One line naming the first field at fault: ``vitals.systolic_mmhg: ...``."""
    err = exc.errors(include_url=False)[0]
    ctx_error = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _AfterDate):
        field, msg = ctx_error.field, str(ctx_error)
    else:
        field = _loc(tuple(err["loc"])) or where or "intake"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (not in the format; check the spelling)"
        elif err["type"] in ("tuple_type", "list_type"):
            msg = f"expected a list (got {_short(err.get('input'))})"
        elif err["type"] != "value_error" and "input" in err:
            msg = f"{msg} (got {_short(err['input'])})"
    more = exc.error_count() - 1
    tail = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return " ".join(f"{field}: {msg}{tail}".splitlines())  # one line, whatever was typed


def _short(value: object) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    if not text.isprintable():
        text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def decode_document(data: object, what: str, schema: str) -> dict[str, Any]:
    """A JSON object (decoded, or JSON text) whose ``schema`` is ``schema``.

    Raises
    ------
    InputError
        ``WHAT: not valid JSON: ...``, ``WHAT: expected a JSON object``, ``schema: expected ...``.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{what}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        except UnicodeDecodeError:
            raise InputError(f"{what}: not valid JSON: the bytes are not UTF-8 text") from None
        except ValueError:  # Python's limit on the digits of an integer (4300)
            raise InputError(f"{what}: not valid JSON: a number with thousands of digits") from None
        except RecursionError:
            raise InputError(
                f"{what}: not valid JSON: arrays or objects nested too deeply"
            ) from None
    if not isinstance(data, dict):
        raise InputError(f"{what}: expected a JSON object, got {type(data).__name__}")
    if data.get("schema") != schema:
        raise InputError(f"schema: expected {schema!r}, got {data.get('schema')!r}")
    return data


def parse_intake(data: dict[str, Any] | str | bytes) -> Intake:
    """Validate an ``ashiguard.intake/1`` object (decoded, or as JSON text).

    Parameters
    ----------
    data : dict or str or bytes
        The intake, already decoded from JSON or as JSON text.

    Returns
    -------
    Intake
        The validated, frozen intake.

    Raises
    ------
    InputError
        With one line naming the first field at fault.
    """
    if isinstance(data, str | bytes):
        try:  # fast path: pydantic parses the JSON text itself
            return Intake.model_validate_json(data)
        except ValidationError:
            pass  # decode again below, for the same one-line message as a decoded object
    data = decode_document(data, "intake", INTAKE_SCHEMA)
    try:
        return Intake.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(exc)) from None
