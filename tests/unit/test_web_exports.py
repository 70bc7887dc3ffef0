"""The web app area's modules keep a sorted (ruff RUF022), complete ``__all__``."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = (
    "ashiguard.adapters.db",
    "ashiguard.adapters.db.database",
    "ashiguard.adapters.db.models",
    "ashiguard.adapters.db.repo",
    "ashiguard.bootstrap",
    "ashiguard.entrypoints.web.admin_ops",
    "ashiguard.entrypoints.web.api",
    "ashiguard.entrypoints.web.app",
    "ashiguard.entrypoints.web.body_svg",
    "ashiguard.entrypoints.web.clinic",
    "ashiguard.entrypoints.web.demo",
    "ashiguard.entrypoints.web.forms",
    "ashiguard.entrypoints.web.live",
    "ashiguard.entrypoints.web.pages_admin",
    "ashiguard.entrypoints.web.pages_auth",
    "ashiguard.entrypoints.web.pages_clients",
    "ashiguard.entrypoints.web.pages_sessions",
    "ashiguard.entrypoints.web.plots",
    "ashiguard.entrypoints.web.rendering",
    "ashiguard.entrypoints.web.security",
    "ashiguard.bench.web",
)


@pytest.mark.parametrize("name", MODULES)
def test_public_names_are_sorted_exported_and_defined_here(name: str) -> None:
    mod = importlib.import_module(name)
    exported = list(mod.__all__)
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert all(hasattr(mod, n) for n in exported)
    router = getattr(mod, "router", None)
    endpoints = {r.endpoint.__name__ for r in router.routes} if router is not None else set()
    own = {
        n
        for n, obj in vars(mod).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == name
        and n not in endpoints  # route handlers are reached through ``router``
    }
    assert own <= set(exported), sorted(own - set(exported))
