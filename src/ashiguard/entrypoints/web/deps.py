"""Dependencies of the routes beyond login: the request's unit of work, the record id type."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval
from sqlalchemy.orm import Session

from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.entrypoints.web.security import DB_SESSION
from ashiguard.services.uow import MAX_RECORD_ID  # until 2026-12 2**63 - 1: a 500 on PostgreSQL

__all__ = ["MAX_RECORD_ID", "RecordId", "unit_of_work"]


RecordId = Annotated[int, Interval(ge=1, le=MAX_RECORD_ID)]
"""The id of a stored record in a path, a query or a body: refused with a message naming the
field (422 in the API, 400 on pages) before it reaches the database, which would raise an
overflow for ids past its id columns' range."""


async def unit_of_work(s: Session = DB_SESSION) -> SqlUnitOfWork:
    """The request's unit of work, over its database session (the one the login check used).

    ``with uow:`` commits the use case's changes (or rolls them back on an error) and leaves
    the session open for the page that follows; the request commits what is left at its end.
    """
    return SqlUnitOfWork(session=s)
