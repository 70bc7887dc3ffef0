"""``ashiguard admin`` and ``ashiguard serve`` through the real CLI (subprocesses)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from webhelpers import PROJECT_ROOT


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "ASHIGUARD_DATABASE_URL"}
    env.update(extra)
    return env


def _admin(*args, password="first-owner-pass", cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "ashiguard", "admin", *args],
        capture_output=True,
        text=True,
        env=_env(ASHIGUARD_PASSWORD=password),
        cwd=cwd or PROJECT_ROOT,
        timeout=120,
    )


@pytest.mark.slow
def test_admin_creates_the_first_owner_and_refuses_bad_input_with_exit_2(tmp_path):
    data = tmp_path / "data"
    r = _admin("create-user", "olivia", "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"id": 1, "username": "olivia", "role": "owner"}
    assert (data / "ashiguard.sqlite3").is_file()
    again = _admin("create-user", "olivia", "--data-dir", str(data))
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.strip() == "ashiguard: error: username: 'olivia' is taken"
    listed = _admin("list-users", "--data-dir", str(data))
    assert [u["username"] for u in json.loads(listed.stdout)] == ["olivia"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_migrates_on_first_start_answers_healthz_and_stops_on_ctrl_c(tmp_path):
    data = tmp_path / "data"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ashiguard", "serve", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=PROJECT_ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        assert r.json() == {"status": "ok", "database": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/clients", timeout=5).status_code == 303
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/clients", timeout=5).status_code == 401
        taken = subprocess.run(
            [
                sys.executable,
                "-m",
                "ashiguard",
                "serve",
                "--data-dir",
                str(data),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=60,
        )
        assert taken.returncode == 2 and taken.stdout == ""
        assert re.fullmatch(
            r"ashiguard: error: --host/--port: cannot listen on 127\.0\.0\.1:\d+: .+\n",
            taken.stderr,
        )
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"http://127.0.0.1:{port}/" in out
    assert (data / "ashiguard.sqlite3").is_file()


def test_serve_refuses_an_unsupported_database_url_with_exit_2(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "ashiguard", "serve", "--data-dir", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        env=_env(ASHIGUARD_DATABASE_URL="mysql://x/y"),
        timeout=60,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert "ASHIGUARD_DATABASE_URL: unsupported database URL scheme" in r.stderr
