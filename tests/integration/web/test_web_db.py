"""The clinic database: migrations up and down on SQLite and PostgreSQL, SQLite pragmas."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from ashiguard.adapters.db import Database
from ashiguard.adapters.db.models import Base

TABLES = {
    "users",
    "web_sessions",
    "api_tokens",
    "practitioners",
    "rooms",
    "bars",
    "bar_inspections",
    "clients",
    "intakes",
    "screenings",
    "treatment_sessions",
    "audit_log",
    "soap_notes",
    "note_addenda",
    "note_templates",
}


def test_migrations_upgrade_from_empty_and_downgrade_back(db_url):
    database = Database(db_url)
    try:
        assert not TABLES & set(inspect(database.engine).get_table_names())
        database.migrate()
        assert set(inspect(database.engine).get_table_names()) >= TABLES
        database.downgrade("base")
        left = set(inspect(database.engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        database.migrate()
        assert set(inspect(database.engine).get_table_names()) >= TABLES
    finally:
        database.dispose()


def test_migrated_schema_matches_the_table_classes(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrating_twice_changes_nothing(db):
    from alembic.script import ScriptDirectory

    from ashiguard.adapters.db.database import alembic_config

    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    from ashiguard.adapters.db import sqlite_url

    database = Database(sqlite_url(tmp_path / "x.sqlite3"))
    database.migrate()
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()


def test_foreign_keys_are_enforced_on_both_backends(db):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from ashiguard.adapters.db.models import Intake
    from ashiguard.adapters.db.repo import utcnow

    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Intake(client_id=999, version=1, payload={}, pain_sites=[], created_at=utcnow()))
        s.flush()
