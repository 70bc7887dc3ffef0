"""Clinic database: SQLAlchemy tables, Alembic migrations (shipped here) and queries."""

from ashiguard.adapters.db.database import Database, alembic_config, sqlite_url

__all__ = ["Database", "alembic_config", "sqlite_url"]
