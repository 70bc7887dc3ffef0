"""The monitor area's public modules keep a sorted (ruff RUF022), complete ``__all__``."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = (
    "ashiguard.domain.alarms",
    "ashiguard.domain.analysis",
    "ashiguard.services.analyze",
    "ashiguard.services.monitor",
)


@pytest.mark.parametrize("name", MODULES)
def test_public_names_are_sorted_exported_and_defined_here(name: str) -> None:
    mod = importlib.import_module(name)
    exported = list(mod.__all__)
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert all(hasattr(mod, n) for n in exported)
    own = {
        n
        for n, obj in vars(mod).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == name
    }
    assert own <= set(exported)
