"""The ``ashiguard`` command line.

Each command lives in its own module of this package and exposes ``register(app)``. Heavy
imports stay inside the command functions so that ``ashiguard --help`` starts fast.
Bad input anywhere ends as one line on standard error and exit code 2 (see ``_common``).
"""

from __future__ import annotations

import importlib

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
)

# Modules that register commands, in the order they appear in --help.
_COMMAND_MODULES: tuple[str, ...] = ("bench",)


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


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(app)


def main() -> None:
    """Run the command line (console script ``ashiguard``)."""
    _load_commands()
    app()
