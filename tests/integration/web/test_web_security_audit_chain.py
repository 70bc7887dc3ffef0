"""The audit log as a hash chain, attacked with raw SQL on SQLite and PostgreSQL (issue 16):
``ashiguard admin verify-audit`` exits 0 saying how many entries check, and 1 naming the first
entry that was edited, deleted or moved; the migration chains existing entries; requests
auditing at the same time never fork the chain."""

from __future__ import annotations

from datetime import datetime

import pytest
from liveserver import client_from, log_in, serving
from sqlalchemy import select, text
from test_web_concurrency import _race
from webhelpers import PASSWORDS

from ashiguard.adapters.db import Database, SqlUnitOfWork, repo
from ashiguard.adapters.db.audit_chain import verify
from ashiguard.adapters.db.models import AuditEntry

pytestmark = pytest.mark.slow


def _verify(run_cli, db, scratch):
    # the database is given by URL; --data-dir only keeps the CLI away from ./data
    return run_cli("admin", "verify-audit", "--database-url", db.url, "--data-dir", str(scratch))


def _activity(app, n_clients=3):
    """Real requests that leave audit entries: a login, clients created and read."""
    with serving(app) as base, client_from(base) as c:
        tok = c.post(
            "/api/v1/auth/token", json={"username": "owner", "password": PASSWORDS["owner"]}
        ).json()["token"]
        bearer = {"Authorization": f"Bearer {tok}"}
        for i in range(n_clients):
            cid = c.post("/api/v1/clients", json={"name": f"Chain {i}"}, headers=bearer).json()
            c.get(f"/api/v1/clients/{cid['id']}", headers=bearer)


def _sql(db, *statements):
    with db.engine.begin() as conn:
        for st in statements:
            conn.execute(text(st))


def test_an_untouched_log_checks_and_the_cli_says_how_many_entries(app, db, run_cli, tmp_path):
    _activity(app)
    with db.session() as s:
        n = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    assert n >= 7
    r = _verify(run_cli, db, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"audit log intact: {n} entries check; newest entry {n}, hash ")


TAMPERING = {
    "edited": (
        ["UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 3"],
        "entry 3 (id ",
        "does not match its hash: edited or moved",
    ),
    "time changed": (
        ["UPDATE audit_log SET at = '2020-01-01 00:00:00' WHERE seq = 2"],
        "entry 2 (id ",
        "edited or moved",
    ),
    "deleted": (["DELETE FROM audit_log WHERE seq = 4"], "entry 4 is missing: deleted", ""),
    "swapped": (
        [
            "UPDATE audit_log SET seq = -2 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 5",
            "UPDATE audit_log SET seq = 5 WHERE seq = -2",
        ],
        "entry 2 (id ",
        "edited or moved",
    ),
    "hash recomputed for an edit": (
        ["UPDATE audit_log SET username = 'someone', hash = repeat('a', 64) WHERE seq = 3"],
        "entry 3 (id ",
        "does not match its hash",
    ),
    "newest deleted": (
        ["DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"],
        "are missing: deleted at the end of the log",
        "",
    ),
    "added by hand": (
        [
            "INSERT INTO audit_log (at, username, action, entity, entity_id, ip, detail) "
            "VALUES ('2026-01-01 00:00:00', 'x', 'read', 'client', '1', '', '')"
        ],
        "has no place in the chain: added outside the app",
        "",
    ),
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_verify_audit_names_the_first_entry_edited_deleted_or_moved(
    app, db, run_cli, tmp_path, kind
):
    statements, first, reason = TAMPERING[kind]
    _activity(app)
    if db.is_sqlite:
        statements = [s.replace("repeat('a', 64)", "'" + "a" * 64 + "'") for s in statements]
    _sql(db, *statements)
    r = _verify(run_cli, db, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    line = r.stdout.strip()
    assert line.startswith("audit log BROKEN at ") and first in line and reason in line, line
    assert len(line.splitlines()) == 1


def test_the_migration_chains_the_entries_written_before_it(db_url, run_cli, tmp_path):
    database = Database(db_url)
    try:
        database.migrate("0004")
        with database.engine.begin() as conn:
            for i in range(5):
                conn.execute(
                    text(
                        "INSERT INTO audit_log (at, username, action, entity, entity_id, ip, "
                        "detail) VALUES (:at, 'old', 'read', 'client', :e, '10.0.0.1', 'é')"
                    ),
                    {"at": datetime(2026, 11, 1, 9, i), "e": str(i)},
                )
        database.migrate()
        with database.session() as s:
            report = verify(s)
            assert report.ok and report.checked == 5, report
            assert s.scalars(select(AuditEntry.seq).order_by(AuditEntry.id)).all() == [
                1,
                2,
                3,
                4,
                5,
            ]
            repo.audit(s, None, "read", "client", 9)  # the app goes on from the migrated head
        r = run_cli(
            "admin",
            "verify-audit",
            "--database-url",
            db_url,
            "--data-dir",
            str(tmp_path),
        )
        assert r.returncode == 0 and "6 entries check" in r.stdout, r.stdout + r.stderr
    finally:
        database.dispose()


def test_requests_auditing_at_the_same_time_never_fork_the_chain(app, db):
    with serving(app) as base:
        with client_from(base) as c:
            tok = c.post(
                "/api/v1/auth/token", json={"username": "owner", "password": PASSWORDS["owner"]}
            ).json()["token"]

        def create(i: int) -> None:
            with client_from(base) as c:
                r = c.post(
                    "/api/v1/clients",
                    json={"name": f"Racer {i}"},
                    headers={"Authorization": f"Bearer {tok}"},
                )
                assert r.status_code == 201, r.text

        assert _race(create) == []

    def write(i: int) -> None:
        with SqlUnitOfWork(db) as uow:
            for k in range(3):
                repo.audit(uow.session, None, "read", "client", f"{i}-{k}")

    assert _race(write) == []
    with db.session() as s:
        report = verify(s)
        seqs = s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert report.ok, report.problem
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 12 * 4 + 1


def test_the_owner_checks_the_chain_on_the_audit_page(app, db):
    _activity(app, n_clients=1)
    with serving(app) as base, client_from(base) as owner:
        log_in(owner, "owner", PASSWORDS["owner"])
        page = owner.get("/admin/audit/check")
        assert page.status_code == 200 and "Intact: all" in page.text
        _sql(db, "UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = 2")
        page = owner.get("/admin/audit/check")
        assert "The audit log was tampered with: entry 2 (id" in page.text
    with db.session() as s:
        checks = s.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "audit_check")
            .order_by(AuditEntry.id)
        ).all()
    assert len(checks) == 2  # each check is audited
    assert checks[0].endswith("entries check") and "; entry 2 (id" in checks[1]
