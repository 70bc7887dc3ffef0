"""Shared CLI behaviour: one-line errors with exit code 2, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer

from ashiguard.domain.errors import DomainError

__all__ = [
    "EXIT_BAD_INPUT",
    "fail",
    "print_json",
    "read_json_object",
    "read_text_arg",
    "refusing_bad_input",
    "tare_words",
]

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print ``ashiguard: error: MESSAGE`` as one line on stderr and exit with code 2."""
    one_line = " ".join(str(message).split())
    typer.echo(f"ashiguard: error: {one_line}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def refusing_bad_input(*extra: type[BaseException]) -> Iterator[None]:
    """Turn the errors of :mod:`ashiguard.domain.errors` (bad input, a missing record, a
    conflict, a refusal with its reasons, a forbidden action) and ``extra`` exception types
    into :func:`fail`: one line on stderr, exit code 2."""
    try:
        yield
    except (DomainError, *extra) as exc:
        reasons = getattr(exc, "reasons", None)
        fail(f"{exc}: {'; '.join(reasons)}" if reasons else str(exc))


def read_text_arg(path: str) -> str:
    """Read a file argument, ``-`` meaning standard input; unreadable files fail with exit 2."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read: {exc.strerror if isinstance(exc, OSError) else exc}")


def read_json_object(path: str, what: str) -> dict[str, Any]:
    """Read a JSON object from a file argument (``-`` = stdin); anything else fails with exit 2.

    ``what`` names the argument in the message, e.g. ``screening`` or ``intake``.
    """
    try:
        data = json.loads(read_text_arg(path))
    except json.JSONDecodeError as exc:
        fail(f"{path}: {what} is not JSON (line {exc.lineno})")
    if not isinstance(data, dict):
        fail(f"{path}: {what} must be a JSON object")
    return data


def print_json(obj: Any, *, default: Callable[[Any], Any] | None = None) -> None:
    """Print ``obj`` as JSON on stdout."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=default))


def tare_words(state: dict[str, Any] | None, sep: str = ", ") -> str:
    """A live session's zeroing in a few words (``LiveSession.tare_state()``): "" when it
    neither zeroes nor calibrates."""
    if not state:
        return ""
    z = state.get("zeroed")
    if state["state"] == "zeroing":
        words = f"zeroing until {state['until_t']:.1f} s: keep the sheet unloaded"
    elif z:
        w = z["window_s"]
        words = (
            f"zeroed on {w[0]:.2f}-{w[1]:.2f} s ({z['frames']} frames, largest offset "
            f"{z['offset_max']:.3g} {z['units']})"
        )
    else:
        words = "not zeroed"
    refused = state.get("refused")
    if refused and state["state"] != "zeroing":
        words += f"; zeroing refused: {refused['reason']}"
    if state.get("calibration"):
        c = state["calibration"]
        words += f"; calibrated, kPa per count {c['kpa_per_count']}"
    return sep + words
