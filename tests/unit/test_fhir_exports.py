"""The FHIR package re-exports the public API of its modules."""

from __future__ import annotations

import importlib

MODULES = (
    "ashiguard.adapters.fhir",
    "ashiguard.adapters.fhir._base",
    "ashiguard.adapters.fhir.questionnaire",
    "ashiguard.adapters.fhir.records",
    "ashiguard.adapters.fhir.rxnorm",
    "ashiguard.adapters.fhir.screening_export",
)


def test_the_package_exports_the_public_api_of_its_modules() -> None:
    package = importlib.import_module("ashiguard.adapters.fhir")
    for name in MODULES[2:]:
        if name.endswith("rxnorm"):
            continue
        assert set(importlib.import_module(name).__all__) <= set(package.__all__)
