"""Errors the domain and the use cases raise: bad input, a missing record, a refusal.

Every entrypoint turns them into one line for the user, mapped once per entrypoint: on the CLI
(``entrypoints/cli/_common.py``) each is one line on stderr and exit code 2; in the web app
(``entrypoints/web/app.py``) :class:`InputError` answers 422 (API) or 400 (pages),
:class:`NotFound` 404, :class:`Conflict` and :class:`Refused` 409 (the API body of a refusal
carries its ``reasons``), :class:`Forbidden` 403. Messages are one line and name the offending
field, rule, file, line or record.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Conflict", "DomainError", "Forbidden", "InputError", "NotFound", "Refused"]


class DomainError(Exception):
    """Base of every error ashiguard reports to its user as one line."""


class InputError(DomainError, ValueError):
    """Input that ashiguard refuses; the message names the field, line or rule at fault."""


class NotFound(DomainError, LookupError):
    """A record that does not exist, e.g. ``session 42 not found``."""


class Conflict(DomainError):
    """A change the record's state does not allow, e.g. ``session 42 is signed``."""


class Refused(Conflict):
    """A use case refused for reasons the user can act on (e.g. the readiness gate).

    Parameters
    ----------
    message : str
        One line naming what was refused.
    reasons : iterable of str
        Every reason, one line each, in the order they were found.
    """

    def __init__(self, message: str, reasons: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.reasons: list[str] = list(reasons)


class Forbidden(DomainError):
    """The user's role may not do this (names the role and the action)."""
