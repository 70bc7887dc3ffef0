"""The unit of work the clinic use cases run in, and who they run for.

A use case takes a :class:`UnitOfWork` and does all its reads and writes through
``uow.session`` (the SQLAlchemy session over the clinic tables of
:mod:`ashiguard.adapters.db.models`, with the queries of :mod:`ashiguard.adapters.db.repo`).
The caller decides the transaction's extent::

    with SqlUnitOfWork(db) as uow:          # commits on success, rolls back on an error
        client = create_client(uow, fields, actor, ip)

A use case that must keep a write although it then raises (the audit entry of a refusal)
calls ``uow.commit()`` itself before raising. The implementation lives in
:mod:`ashiguard.adapters.db.uow`; the web app runs each request in one (over the request's
database session), the CLI, the benchmarks and the live sessions open their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ashiguard.domain.errors import Forbidden, InputError, NotFound

__all__ = ["MAX_RECORD_ID", "Actor", "UnitOfWork", "fetch", "parse_record_id", "require_role"]

MAX_RECORD_ID = 2**31 - 1
"""The largest id a record can have: the id columns are ``Integer``, PostgreSQL's 32-bit
``integer`` (SQLite's are 64-bit). A larger id never names a record, and the database would
answer it with an overflow error rather than "not found"."""


@dataclass(frozen=True)
class Actor:
    """The user a use case runs for, as plain values (audit entries name them).

    ``None`` in place of an actor means the clinic's own administration (the ``ashiguard
    admin`` CLI, the demo): no role check, audited as ``-``.
    """

    id: int
    username: str
    display_name: str
    role: str

    @classmethod
    def of(cls, user: Any) -> Actor:
        """The actor of a stored user row."""
        return cls(user.id, user.username, user.display_name, user.role)


class UnitOfWork(Protocol):
    """One transaction over the clinic database (context manager).

    Entering gives the unit of work itself; leaving commits when the block succeeded and rolls
    back when it raised (the error propagates).
    """

    session: Session

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Commit what was done so far (the unit of work stays usable)."""
        ...

    def rollback(self) -> None:
        """Undo what was done since the last commit."""
        ...


def require_role(actor: Actor | None, roles: tuple[str, ...], action: str) -> None:
    """Raise :class:`Forbidden` unless ``actor`` has one of ``roles`` (``None``: the clinic's
    own administration, always allowed). The web routes check roles first; this is the use
    cases' own guard."""
    if actor is not None and actor.role not in roles:
        raise Forbidden(f"role {actor.role!r} may not {action}")


def parse_record_id(text: object, field: str) -> int:
    """A record id typed in a form: ASCII digits, 1 to :data:`MAX_RECORD_ID`.

    Raises
    ------
    InputError
        ``field: no such record '²'`` for anything else (other digits, signs, spaces,
        numbers too large for the database).
    """
    s = str(text)
    if s.isascii() and s.isdigit() and len(s) <= 10 and 1 <= int(s) <= MAX_RECORD_ID:
        return int(s)
    raise InputError(f"{field}: no such record {s[:30]!r}")


def fetch(uow: UnitOfWork, model: Any, ident: int) -> Any:
    """The row of ``model`` with primary key ``ident``, or :class:`NotFound` naming it
    (e.g. ``client 7 not found``)."""
    row = uow.session.get(model, ident)
    if row is None:
        raise NotFound(f"{model.__tablename__[:-1]} {ident} not found")
    return row
