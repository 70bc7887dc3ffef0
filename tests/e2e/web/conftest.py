"""Browser tests: a real uvicorn server on a free loopback port and Debian's chromium.

Playwright drives ``/usr/bin/chromium`` (``playwright install`` is never used). A failed test
leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from browserhelpers import USERS

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Practitioner
from ashiguard.bootstrap import make_app, open_database
from ashiguard.entrypoints.web.security import create_user
from ashiguard.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(db: Any) -> None:
    today = date.today()
    with db.session() as s:
        ids = {
            role: create_user(s, name, pw, role, name.title()).id
            for role, (name, pw) in USERS.items()
        }
        s.add(
            Practitioner(
                name="Tess Therapist",
                user_id=ids["therapist"],
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
            "Browser room",
            ("left", "right"),
            rated_load_n=3000.0,
            inspected_on=today - timedelta(days=5),
            inspector="Ivo",
        )


@pytest.fixture(scope="module")
def server(served: tuple[str, Any]) -> str:
    """The base URL of the module's app in a real uvicorn server."""
    return served[0]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The app in a real uvicorn server (SQLite in a temp data dir); yields its base URL and
    the app (tests may set ``app.state.live`` options, e.g. the simulator's)."""
    import uvicorn

    data = tmp_path_factory.mktemp("browser-data")
    settings = Settings(data_dir=data)
    db = open_database(settings)
    _seed(db)
    app = make_app(settings, db)
    app.state.live.speed = 4.0  # simulated sessions run 4x faster than the wall clock
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(30)
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (make system-deps)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context and page; parametrize it indirectly with ``(width, height)`` for
    another viewport (default 1280 x 900)."""
    width, height = getattr(request, "param", (1280, 900))
    # bypass_csp lets Playwright evaluate its wait predicates; the app itself needs no eval
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
