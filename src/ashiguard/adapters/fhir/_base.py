"""Shared pieces of the FHIR adapters: canonical URLs, code systems, validation.

Notes
-----
Resources are built as plain JSON objects and then checked by constructing the matching
``fhir.resources.R4B`` model (FHIR 4.3, wire-compatible with R4 for every resource used here);
``fhir.resources`` 8 defaults to R5, whose Questionnaire, RiskAssessment and Flag differ.
"""

from __future__ import annotations

import importlib
import re
from datetime import date, timedelta
from typing import Any

from ashiguard.domain.errors import InputError

__all__ = [
    "ASHIGUARD_CODES",
    "DECISION_SYSTEM",
    "FHIR_BASE",
    "LOINC",
    "RXNORM",
    "SNOMED",
    "fhir_date",
    "fhir_day_range",
    "validated",
]

FHIR_BASE = "https://ashiguard.org/fhir"
ASHIGUARD_CODES = f"{FHIR_BASE}/CodeSystem/intake-codes"
DECISION_SYSTEM = f"{FHIR_BASE}/CodeSystem/screening-decision"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

_DATE_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def fhir_date(value: object, where: str) -> date:
    """The calendar date of a FHIR ``date`` or ``dateTime`` (the day as written, any offset).

    Raises
    ------
    InputError
        ``WHERE: expected a FHIR date ...`` for anything else (partial dates included).
    """
    text = value if isinstance(value, str) else ""
    m = _DATE_PREFIX.match(text)
    if m is None or (len(text) > 10 and text[10] != "T"):
        raise InputError(f"{where}: expected a FHIR date YYYY-MM-DD[Thh:mm:ss...], got {value!r}")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise InputError(f"{where}: not a calendar date: {value!r}") from None


_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?")


def fhir_day_range(value: object, where: str) -> tuple[date, date]:
    """First and last possible day of a FHIR date, partial dates (``1960``, ``1960-05``) too.

    Raises
    ------
    InputError
        ``WHERE: expected a FHIR date ...`` when ``value`` is no FHIR date or dateTime.
    """
    m = _PARTIAL.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        day = fhir_date(value, where)
        return day, day
    year = int(m.group(1))
    if m.group(2) is None:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(m.group(2))
    if not 1 <= month <= 12:
        raise InputError(f"{where}: not a calendar month: {value!r}")
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, 1), date(year, month, last)


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Check ``resource`` against its ``fhir.resources.R4B`` model and return it unchanged.

    Raises
    ------
    ValueError
        When the model refuses it: a bug in ashiguard, never the user's input.
    """
    kind = str(resource["resourceType"])
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    getattr(module, kind).model_validate(resource)
    return resource
