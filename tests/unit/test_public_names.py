"""One rule for the whole package's public names (docs/TEAM.md).

Every module has an ``__all__`` sorted the way ruff's RUF022 sorts it (CONSTANTS of two or more
characters, then Classes, then functions and variables, each alphabetical), naming only what
exists, and listing every public class and function the module defines. CLI command modules
export ``register``; the command functions it hands to typer, and the route handlers of a
web module's ``router``, need not be listed (they are reached through typer or the router).
Not checked: ``__main__``
(it runs the CLI), the Alembic migration scripts (Alembic loads them by path) and packages that
define nothing public.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import ashiguard

SKIPPED = ("ashiguard.__main__", "ashiguard.adapters.db.migrations")
CLI = "ashiguard.entrypoints.cli."


def _modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(ashiguard.__path__, "ashiguard.")
        if not m.name.startswith(SKIPPED)
    )


def _ruf022_key(name: str) -> tuple[int, str]:
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def _typer_commands(mod: ModuleType) -> set[object]:
    """The callbacks a CLI module's ``register`` hands to typer."""
    import typer

    app = typer.Typer()
    mod.register(app)
    groups = [g.typer_instance for g in app.registered_groups if g.typer_instance is not None]
    commands = [c for a in (app, *groups) for c in a.registered_commands]
    return {c.callback for c in commands}


def _handlers(mod: ModuleType) -> set[object]:
    """Functions reached through typer or a FastAPI router, not by import."""
    if mod.__name__.startswith(CLI) and hasattr(mod, "register"):
        return _typer_commands(mod)
    router = getattr(mod, "router", None)
    return {r.endpoint for r in router.routes} if router is not None else set()


def _own_public(mod: ModuleType) -> set[str]:
    commands = _handlers(mod)
    return {
        n
        for n, obj in vars(mod).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == mod.__name__
        and obj not in commands
    }


def test_the_walk_finds_every_area() -> None:
    names = _modules()
    for area in ("domain.zones", "adapters.recording", "services.monitor", "entrypoints.web.app"):
        assert f"ashiguard.{area}" in names


@pytest.mark.parametrize("name", _modules())
def test_public_names_are_sorted_complete_and_defined(name: str) -> None:
    mod = importlib.import_module(name)
    is_package = hasattr(mod, "__path__")
    if not hasattr(mod, "__all__"):
        assert is_package and not _own_public(mod), f"{name} has no __all__"
        return
    exported = list(mod.__all__)
    if name.startswith(CLI) and not name.endswith("._common") and not is_package:
        assert "register" in exported
    assert exported == sorted(exported, key=_ruf022_key)
    missing = [n for n in exported if not hasattr(mod, n)]
    assert not missing, f"exported but not defined: {missing}"
    unlisted = _own_public(mod) - set(exported)
    assert not unlisted, f"public but not in __all__: {sorted(unlisted)}"
