"""The public names of the sources and simulation modules are sorted and complete."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "ashiguard.adapters.sources",
    "ashiguard.adapters.sources.base",
    "ashiguard.adapters.sources.replay",
    "ashiguard.adapters.sources.simulator",
    "ashiguard.adapters.sources.lsl",
    "ashiguard.domain.simulation",
    "ashiguard.services.simulate",
    "ashiguard.services.record",
]


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's isort-style order: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_lists_every_public_definition(name):
    mod = importlib.import_module(name)
    exported = list(mod.__all__)
    assert exported == sorted(exported, key=_isort_key)
    defined = {
        n
        for n, obj in vars(mod).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", None) == name
    }
    assert defined <= set(exported)
    assert all(hasattr(mod, n) for n in exported)
