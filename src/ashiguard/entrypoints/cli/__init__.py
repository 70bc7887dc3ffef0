"""The ``ashiguard`` command line.

Each command lives in its own module of this package and exposes ``register(app)``. Heavy
imports stay inside the command functions so that ``ashiguard --help`` starts fast.
Bad input anywhere ends as one line on standard error and exit code 2 (see ``_common``).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer

from ashiguard import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="ashiguard",
    help="Safety platform for barefoot massage (Ashiatsu).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
)

# Modules that register commands, in the order they appear in --help.
_COMMAND_MODULES: tuple[str, ...] = (
    "screen",
    "ready",
    "demo",
    "zones",
    "contact",
    "plan",
    "registering",
    "serve",
    "worker",
    "admin",
    "importing",
    "info",
    "simulate",
    "record",
    "analyze",
    "analyze_batch",
    "report",
    "monitor",
    "fhir",
    "bench",
    "train",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ashiguard {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Show the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Safety platform for barefoot massage (Ashiatsu)."""


_loaded: list[str] = []


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        if name not in _loaded:
            importlib.import_module(f"{__name__}.{name}").register(app)
            _loaded.append(name)


def _full_first_lines(group: Any) -> None:
    # click cuts each command's help to 45 characters in the command list; show the whole
    # first line of the docstring instead, so `ashiguard --help` reads one full line each.
    for sub in getattr(group, "commands", {}).values():
        if sub.short_help is None and sub.help:
            sub.short_help = sub.help.strip().splitlines()[0]


def main() -> None:
    """Run the command line (console script ``ashiguard``)."""
    _load_commands()
    command = typer.main.get_command(app)
    _full_first_lines(command)
    command(prog_name="ashiguard")
