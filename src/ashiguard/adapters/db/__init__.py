"""Clinic database: SQLAlchemy tables, Alembic migrations (shipped here), queries, unit of work."""

from ashiguard.adapters.db.database import Database, alembic_config, sqlite_url
from ashiguard.adapters.db.uow import SqlUnitOfWork

__all__ = ["Database", "SqlUnitOfWork", "alembic_config", "sqlite_url"]
