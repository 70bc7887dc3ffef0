"""The SQLAlchemy unit of work of the clinic use cases (``services.uow.UnitOfWork``)."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from ashiguard.adapters.db.database import Database

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    """A transaction over the clinic database: commit on success, rollback on an error.

    Parameters
    ----------
    db : Database, optional
        Open a new session on entering and close it on leaving (CLI, benchmarks, live
        sessions, demo).
    session : Session, optional
        Run over an existing session (the web request's): leaving commits or rolls back but
        does not close it, so the request can go on reading (and re-enter for a second unit).

    Exactly one of ``db`` and ``session`` is given.
    """

    def __init__(self, db: Database | None = None, *, session: Session | None = None) -> None:
        if (db is None) == (session is None):
            raise TypeError("SqlUnitOfWork: give exactly one of db and session")
        self._db = db
        self._owned: Session | None = None
        self._session = session

    @property
    def session(self) -> Session:
        """The SQLAlchemy session of this unit (only inside ``with`` for one over ``db``)."""
        s = self._owned or self._session
        if s is None:
            raise RuntimeError("SqlUnitOfWork: use it inside 'with'")
        return s

    def __enter__(self) -> SqlUnitOfWork:
        if self._db is not None:
            if self._owned is not None:
                raise RuntimeError("SqlUnitOfWork: already entered")
            self._owned = self._db.new_session()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        s = self.session
        try:
            if exc_type is None:
                s.commit()
            else:
                s.rollback()
        finally:
            if self._owned is not None:
                self._owned = None
                s.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
