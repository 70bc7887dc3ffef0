"""Property-based fuzzing of the whole JSON API from its own OpenAPI document (issue 16).

schemathesis reads ``/api/v1/openapi.json`` from a real uvicorn server (SQLite in a temporary
data directory, one user per role) and sends every operation generated requests, valid and
invalid, with an owner's bearer token. Every answer must be no 5xx, carry a status code and a
content type the document declares for that operation, and match the declared schema.

Budget: ``MAX_EXAMPLES`` per operation, derandomized (the same requests on every run).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from serverhelpers import running_server
from webhelpers import PASSWORDS

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Practitioner
from ashiguard.adapters.db.uow import SqlUnitOfWork
from ashiguard.bootstrap import make_app, open_database
from ashiguard.entrypoints.web.security import create_user
from ashiguard.services import clinic, treatments
from ashiguard.settings import Settings

MAX_EXAMPLES = 40
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _seed(db: Any) -> None:
    today = date.today()
    with db.session() as s:
        for role, pw in PASSWORDS.items():
            create_user(s, role, pw, role, role.replace("_", " ").title())
        s.add(
            Practitioner(
                name="Fuzz Therapist",
                technique="ashiatsu",
                certification="Ashiatsu Guild",
                certified_on=today - timedelta(days=200),
                certified_until=today + timedelta(days=200),
                training_hours=100,
                mass_kg=60.0,
                active=True,
            )
        )
        repo.add_room_with_bars(
            s,
            "Fuzz room",
            ("left", "right"),
            rated_load_n=3000.0,
            inspected_on=today - timedelta(days=5),
            inspector="Ivo",
        )
    # record 1 of each kind exists, so generated small ids reach real records too
    with SqlUnitOfWork(db) as uow:
        client = clinic.create_client(uow, {"name": "Fuzz Client", "sex": "female"}, None, "")
        intake = {
            "schema": "ashiguard.intake/1",
            "date": today.isoformat(),
            "client": {"id": client.ref, "birth_date": "1980-01-02", "height_cm": 170},
            "conditions": [{"code": "hypertension", "status": "active", "controlled": True}],
        }
        _, screening = clinic.store_intake(uow, client.id, intake, ["calf_left"], None, "")
        treatments.create_session(
            uow,
            client_id=client.id,
            practitioner_id=1,
            room_id=1,
            screening_id=screening.id,
            source="sim:mixed",
            actor=None,
            ip="",
        )  # nothing runs it: the app ends it when it starts


@pytest.fixture(scope="module", params=BACKENDS)
def api_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server (SQLite, or a fresh PostgreSQL database) and an owner's bearer token."""
    import httpx

    data: Path = tmp_path_factory.mktemp("fuzz-data")
    db_url = ""
    if request.param == "postgres":
        db_url = request.getfixturevalue("pg_server").new_database()
    settings_ = Settings(data_dir=data, database_url=db_url)
    db = open_database(settings_)
    _seed(db)
    app = make_app(settings_, db)
    with running_server(app) as url:
        r = httpx.post(
            f"{url}/api/v1/auth/token",
            json={"username": "owner", "password": PASSWORDS["owner"]},
        )
        assert r.status_code == 200, r.text
        yield url, {"Authorization": f"Bearer {r.json()['token']}"}
    app.state.live.stop_all()
    db.dispose()
    if db_url:
        request.getfixturevalue("pg_server").drop_database(db_url)


@pytest.fixture(scope="module")
def api_schema(api_server: tuple[str, dict[str, str]]) -> Any:
    url, auth = api_server
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json", headers=auth)
    schema.base_url = url
    return schema


def _takes_input(dependant: Any) -> bool:
    if dependant.path_params or dependant.query_params or dependant.body_params:
        return True
    return any(_takes_input(d) for d in dependant.dependencies)


def _operations() -> list[Any]:
    """Every (method, path, mode) to attack, from the API's own routes: valid requests for
    every operation, invalid ones for those that take input (path, query or body)."""
    from ashiguard.entrypoints.web.api import router

    out = []
    for route in router.routes:
        if not getattr(route, "include_in_schema", False):
            continue
        takes_input = _takes_input(route.dependant)
        for method in sorted(route.methods - {"HEAD"}):
            out.append(pytest.param(method, route.path, GenerationMode.POSITIVE))
            if takes_input:
                out.append(pytest.param(method, route.path, GenerationMode.NEGATIVE))
    return out


# schemathesis' lazy pytest fixture loader reads ``request.node._nodeid``, which pytest 9.2
# no longer has, so each operation's strategy is drawn by Hypothesis here instead
@pytest.mark.parametrize(("method", "path", "mode"), _operations())
def test_every_api_operation_answers_as_its_openapi_document_declares(
    api_schema, api_server, method, path, mode
):
    _, auth = api_server
    operation = api_schema[path][method]

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def attack(case: Any) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS)

    attack()


# ----------------------------------------------------------- regressions found by the fuzzer


def _bearer(client: Any, role: str = "owner") -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": role, "password": PASSWORDS[role]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_openapi_422_was_a_list_of_pydantic_errors_but_the_app_sends_one_line(client):
    h = _bearer(client)
    spec = client.get("/api/v1/openapi.json", headers=h).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    declared = spec["paths"]["/api/v1/audit"]["get"]["responses"]
    for code in ("401", "403", "422", "503"):
        schema = declared[code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}, code
    r = client.get("/api/v1/audit", params={"since": "yesterday"}, headers=h)
    assert r.status_code == 422
    assert r.json() == {"detail": r.json()["detail"]}
    assert isinstance(r.json()["detail"], str) and "since" in r.json()["detail"]


def test_a_body_of_bytes_that_are_not_utf8_was_an_undocumented_400_and_is_now_bad_input(client):
    h = {**_bearer(client), "Content-Type": "application/json"}
    r = client.post("/api/v1/clients", content=b"w\xfff", headers=h)
    assert r.status_code == 422, r.text
    assert r.json() == {"detail": "body: not JSON text (UTF-8)"}
    assert client.get("/api/v1/clients", headers=h).json()["total"] == 0


def test_an_id_past_postgresqls_integer_was_a_server_error_and_is_now_refused(client, as_role):
    h = _bearer(client)
    for path in ("clients", "intakes", "screenings", "sessions"):
        r = client.get(f"/api/v1/{path}/40678020109", headers=h)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["detail"].endswith("less than or equal to 2147483647"), r.json()
    r = client.post(
        "/api/v1/rooms/2147483648/bars", json={"label": "x", "rated_load_n": 1}, headers=h
    )
    assert r.status_code == 422
    assert client.get("/api/v1/clients/2147483647", headers=h).status_code == 404
    assert as_role("owner").get("/clients/40678020109").status_code == 400


def test_an_unknown_page_answers_the_clinic_error_page_and_an_unknown_api_path_json(as_role):
    c = as_role("owner")
    page = c.get("/no-such-page<b>")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page /no-such-page&lt;b&gt; here." in page.text
    api = c.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not Found"}
