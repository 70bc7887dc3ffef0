"""Dependencies of the routes beyond login: the request's unit of work."""

from __future__ import annotations

from fastapi import Depends
from sqlalchemy.orm import Session

from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.entrypoints.web.security import db_session

__all__ = ["unit_of_work"]


async def unit_of_work(s: Session = Depends(db_session)) -> SqlUnitOfWork:
    """The request's unit of work, over its database session (the one the login check used).

    ``with uow:`` commits the use case's changes (or rolls them back on an error) and leaves
    the session open for the page that follows; the request commits what is left at its end.
    """
    return SqlUnitOfWork(session=s)
