"""A screening (``ashiguard.screening/1``) as a FHIR R4 Bundle: a RiskAssessment and Flags.

:func:`screening_to_fhir` builds a ``collection`` Bundle holding one ``RiskAssessment`` (one
prediction per finding) and one safety ``Flag`` per finding that restricts or stops barefoot
work (any decision but ``cleared``). Every resource is checked against its
``fhir.resources.R4B`` model.

Notes
-----
Ids are UUIDs derived from the client, date, rules version and finding (``uuid5``), so exporting
the same screening twice gives the same Bundle: an EHR can detect a re-sent export.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from ashiguard.adapters.fhir._base import DECISION_SYSTEM, FHIR_BASE, validated
from ashiguard.domain.errors import InputError
from ashiguard.domain.screening import Decision, Finding, Screening, rules_version_label

__all__ = ["check_reference", "screening_to_fhir"]

_FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
_RULES_SYSTEM = f"{FHIR_BASE}/CodeSystem/rules-version"
_RULE_SYSTEM = f"{FHIR_BASE}/CodeSystem/screening-rule"
_ASSESSMENT_SYSTEM = f"{FHIR_BASE}/CodeSystem/assessment"
_INTAKE_IDS = f"{FHIR_BASE}/intake"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, FHIR_BASE)
_REFERENCE = re.compile(
    r"(?:[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?"
    r"|urn:uuid:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}"
    r"|https?://\S+/[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})"
)


def check_reference(ref: str, where: str, kind: str | None = None) -> str:
    """``ref`` if it is a FHIR reference (``Patient/123``, ``urn:uuid:...``, absolute URL).

    Raises
    ------
    InputError
        ``WHERE: expected a reference like Patient/123, got ...``.
    """
    example = f"{kind or 'Patient'}/123"
    if not _REFERENCE.fullmatch(ref):
        raise InputError(f"{where}: expected a FHIR reference like {example}, got {ref!r}")
    if kind is not None and not ref.startswith("urn:") and f"{kind}/" not in ref:
        raise InputError(f"{where}: expected a reference to a {kind}, got {ref!r}")
    return ref


def _decision(d: Decision, text: str) -> dict[str, Any]:
    coding = {"system": DECISION_SYSTEM, "code": d.value, "display": d.value}
    return {"coding": [coding], "text": text}


def _rationale(f: Finding) -> str:
    text = f"{f.rule}: {f.reason}"
    if f.facts:
        text += " Because: " + "; ".join(f.facts) + "."
    if not f.restrictions.empty:
        text += f" Restrictions: {f.restrictions.describe()}."
    return text


def _prediction(f: Finding) -> dict[str, Any]:
    return {
        "outcome": _decision(f.decision, f"{f.decision.value} ({f.rule})"),
        "rationale": _rationale(f),
    }


def _basis(s: Screening, extra: Sequence[str]) -> list[dict[str, Any]]:
    intake = {
        "type": "QuestionnaireResponse",
        "identifier": {"system": _INTAKE_IDS, "value": f"{s.client_id}/{s.date.isoformat()}"},
        "display": f"ashiguard intake of client {s.client_id} for {s.date.isoformat()}",
    }
    return [intake] + [{"reference": ref} for ref in extra]


def _summary(s: Screening) -> str:
    return (
        f"ashiguard screening decision for barefoot massage (Ashiatsu): {s.decision.value}; "
        f"restrictions: {s.restrictions.describe()}; rules {s.rules_version}"
    )


def _risk_assessment(s: Screening, patient_ref: str, extra: Sequence[str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": str(_uuid(s, "RiskAssessment")),
        "status": "final",
        "method": {
            "coding": [{"system": _RULES_SYSTEM, "code": s.rules_version}],
            "text": f"ashiguard rules {s.rules_version} ({rules_version_label(s.rules_version)})",
        },
        "code": {
            "coding": [{"system": _ASSESSMENT_SYSTEM, "code": "barefoot-massage-screening"}],
            "text": "Contraindication screening for barefoot massage (Ashiatsu)",
        },
        "subject": {"reference": patient_ref},
        "occurrenceDateTime": s.date.isoformat(),
        "basis": _basis(s, extra),
        "note": [{"text": _summary(s)}],
    }
    if s.findings:
        resource["prediction"] = [_prediction(f) for f in s.findings]
    if not s.restrictions.empty:
        resource["mitigation"] = s.restrictions.describe()
    return resource


def _flag(s: Screening, f: Finding, index: int, patient_ref: str) -> dict[str, Any]:
    text = f"Ashiatsu {f.decision.value.replace('_', ' ')} ({f.rule}): {f.reason}"
    if not f.restrictions.empty:
        text += f" Restrictions: {f.restrictions.describe()}."
    return {
        "resourceType": "Flag",
        "id": str(_uuid(s, f"Flag/{index}/{f.rule}")),
        "status": "active",
        "category": [
            {"coding": [{"system": _FLAG_CATEGORY, "code": "safety", "display": "Safety"}]}
        ],
        "code": {
            "coding": [{"system": _RULE_SYSTEM, "code": f.rule, "display": f.rule}],
            "text": text,
        },
        "subject": {"reference": patient_ref},
        "period": {"start": s.date.isoformat()},
    }


def _uuid(s: Screening, what: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{s.client_id}|{s.date.isoformat()}|{s.rules_version}|{what}")


def screening_to_fhir(
    screening: Screening, patient_ref: str, basis: Sequence[str] = ()
) -> dict[str, Any]:
    """The screening as a FHIR R4 ``collection`` Bundle (JSON).

    Parameters
    ----------
    screening : Screening
        The result of :func:`ashiguard.domain.screening.screen`.
    patient_ref : str
        The client in the EHR, e.g. ``Patient/123``.
    basis : sequence of str
        Further references the assessment rests on (``QuestionnaireResponse/abc``); the intake
        itself is always referenced by identifier (system ``https://ashiguard.org/fhir/intake``,
        value ``CLIENT_ID/DATE``).

    Returns
    -------
    dict
        A Bundle with one RiskAssessment then one Flag per finding whose decision is not
        ``cleared``, in finding order.

    Raises
    ------
    InputError
        When ``patient_ref`` or a ``basis`` entry is not a FHIR reference.
    """
    check_reference(patient_ref, "patient", "Patient")
    for i, ref in enumerate(basis):
        check_reference(ref, f"basis[{i}]")
    resources = [_risk_assessment(screening, patient_ref, basis)]
    resources += [
        _flag(screening, f, i, patient_ref)
        for i, f in enumerate(screening.findings)
        if f.decision is not Decision.CLEARED
    ]
    bundle = {
        "resourceType": "Bundle",
        "id": str(_uuid(screening, "Bundle")),
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": validated(r)} for r in resources],
    }
    return validated(bundle)
