"""The report area's public modules keep a sorted (ruff RUF022), complete ``__all__``."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = ("ashiguard.services.report", "ashiguard.adapters.report_render")


@pytest.mark.parametrize("name", MODULES)
def test_report_modules_export_every_public_name_sorted(name: str) -> None:
    mod = importlib.import_module(name)
    exported = list(mod.__all__)
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
