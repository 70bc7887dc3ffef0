"""The FHIR adapter modules keep a sorted, complete ``__all__``."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = (
    "ashiguard.adapters.fhir",
    "ashiguard.adapters.fhir._base",
    "ashiguard.adapters.fhir.questionnaire",
    "ashiguard.adapters.fhir.records",
    "ashiguard.adapters.fhir.rxnorm",
    "ashiguard.adapters.fhir.screening_export",
)


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


@pytest.mark.parametrize("name", MODULES)
def test_public_names_are_sorted_exported_and_defined(name: str) -> None:
    mod = importlib.import_module(name)
    exported = list(mod.__all__)
    assert exported == sorted(exported, key=_isort_key)
    assert all(hasattr(mod, n) for n in exported)
    own = {
        n
        for n, obj in vars(mod).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == name
    }
    assert own <= set(exported)


def test_the_package_exports_the_public_api_of_its_modules() -> None:
    package = importlib.import_module("ashiguard.adapters.fhir")
    for name in MODULES[2:]:
        if name.endswith("rxnorm"):
            continue
        assert set(importlib.import_module(name).__all__) <= set(package.__all__)
