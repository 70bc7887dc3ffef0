"""A real uvicorn server on loopback for the tests that attack the app over HTTP (issue 16).

The server is configured by ``ashiguard serve``'s own :func:`server_config` (proxy headers,
TLS), runs in a thread and is stopped when the ``with`` block ends. Clients may connect from
any loopback address (``127.0.0.2``, ...: Linux routes all of 127.0.0.0/8 to the loopback
device), which lets a test be two different clients honestly.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from ashiguard.entrypoints.cli.serve import server_config

__all__ = ["client_from", "form_token", "free_port", "log_in", "self_signed", "serving"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    app: Any,
    *,
    trusted_proxies: str = "",
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> Iterator[str]:
    """Run ``app`` in uvicorn on 127.0.0.1 (HTTPS with a certificate); yields its base URL."""
    import uvicorn

    port = free_port()
    config = server_config(
        app,
        "127.0.0.1",
        port,
        trusted_proxies=trusted_proxies,
        certfile=certfile,
        keyfile=keyfile,
        lifespan="off",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"{'https' if certfile else 'http'}://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(30)


def client_from(base: str, address: str = "127.0.0.1", **kw: Any) -> httpx.Client:
    """An HTTP client of ``base`` whose connections come from the loopback ``address``."""
    transport = httpx.HTTPTransport(local_address=address, verify=kw.pop("verify", True))
    return httpx.Client(
        base_url=base, transport=transport, follow_redirects=False, timeout=30, **kw
    )


def form_token(html: str) -> str:
    """The first ``csrf_token`` of a page's forms."""
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf_token on the page"
    return m.group(1)


def log_in(c: httpx.Client, username: str, password: str, **extra: str) -> httpx.Response:
    """Log in through the real login form (its CSRF cookie included); the POST's answer."""
    token = form_token(c.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token, "next": "/"}
    return c.post("/login", data={**data, **extra})


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 made with the openssl CLI."""
    import pytest

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("no openssl CLI to make a test certificate (Debian package openssl)")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key
