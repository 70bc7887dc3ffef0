"""Concurrent writers on real SQLite and PostgreSQL (issue 16): intakes for one client and new
clients submitted at the same time are each stored exactly once, with their own version or
reference, and nobody gets an error; a database locked for too long answers 503 with
Retry-After and stores nothing."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date

import pytest
from sqlalchemy import select
from webhelpers import PASSWORDS

from ashiguard.adapters.db import SqlUnitOfWork
from ashiguard.adapters.db.models import Client, Intake, Screening
from ashiguard.services import clinic
from ashiguard.services.uow import Actor

WRITERS = 12


def _race(fn, n: int = WRITERS) -> list[BaseException]:
    """Run ``fn(i)`` in ``n`` threads released together; the exceptions they raised."""
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            fn(i)
        except BaseException as exc:  # collected and reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_concurrent_intakes_for_one_client_each_get_their_own_version(db, users):
    desk = Actor(users["front_desk"], "front_desk", "Front Desk", "front_desk")
    with SqlUnitOfWork(db) as uow:
        client = clinic.create_client(uow, {"name": "Busy Client"}, desk, "127.0.0.1")
        cid, ref = client.id, client.ref

    def submit(i: int) -> None:
        intake = {
            "schema": "ashiguard.intake/1",
            "date": date.today().isoformat(),
            "client": {"id": ref, "height_cm": 160 + i, "weight_kg": 60},
        }
        with SqlUnitOfWork(db) as uow:
            clinic.store_intake(uow, cid, intake, [], desk, "127.0.0.1")

    errors = _race(submit)
    assert errors == []
    with db.session() as s:
        rows = s.scalars(select(Intake).where(Intake.client_id == cid)).all()
        heights = sorted(r.payload["client"]["height_cm"] for r in rows)
        versions = sorted(r.version for r in rows)
        screenings = s.scalars(select(Screening).where(Screening.client_id == cid)).all()
    assert heights == [160 + i for i in range(WRITERS)]  # every one stored exactly once
    assert versions == list(range(1, WRITERS + 1))
    assert len(screenings) == WRITERS


def test_clients_created_at_the_same_time_each_get_their_own_reference(db, users):
    desk = Actor(users["front_desk"], "front_desk", "Front Desk", "front_desk")

    def create(i: int) -> None:
        with SqlUnitOfWork(db) as uow:
            clinic.create_client(uow, {"name": f"Walk In {i}"}, desk, "127.0.0.1")

    errors = _race(create)
    assert errors == []
    with db.session() as s:
        clients = s.scalars(select(Client)).all()
    assert sorted(c.name for c in clients) == sorted(f"Walk In {i}" for i in range(WRITERS))
    assert len({c.ref for c in clients}) == WRITERS


def test_a_database_locked_past_its_busy_timeout_answers_503_with_retry_after(client, db):
    if not db.is_sqlite:
        pytest.skip("SQLite's one-writer lock")
    r = client.post(
        "/api/v1/auth/token", json={"username": "front_desk", "password": PASSWORDS["front_desk"]}
    )
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process writing for longer than 5 s
        r = client.post("/api/v1/clients", json={"name": "Waits Too Long"}, headers=h)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1"
    assert "nothing was stored" in r.json()["detail"]
    r = client.post("/api/v1/clients", json={"name": "Waits Too Long"}, headers=h)
    assert r.status_code == 201  # once the lock is gone, the same request goes through
    names = [c["name"] for c in client.get("/api/v1/clients", headers=h).json()["clients"]]
    assert names == ["Waits Too Long"]  # stored once
