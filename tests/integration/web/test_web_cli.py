"""``ashiguard admin`` and ``ashiguard serve`` through the real CLI (subprocesses)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
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


@pytest.mark.slow
def test_admin_refuses_a_bad_role_password_or_name_with_one_line_and_exit_2(tmp_path):
    data = tmp_path / "data"
    cases = (
        (("create-user", "rita", "--role", "boss"), "first-owner-pass", "role: must be one of"),
        (("create-user", "rita"), "too-short", "password: at least 12 characters"),
        (("create-user", "bad name!"), "first-owner-pass", "username: letters, digits"),
    )
    for args, password, start in cases:
        r = _admin(*args, "--data-dir", str(data), password=password)
        assert r.returncode == 2 and r.stdout == "", r.stderr
        assert r.stderr.startswith(f"ashiguard: error: {start}") and r.stderr.count("\n") == 1
    listed = _admin("list-users", "--data-dir", str(data))
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


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


def _self_signed(tmp_path):
    """A throw-away certificate for 127.0.0.1 made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl CLI to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.mark.slow
def test_serve_with_a_certificate_answers_https_and_sets_secure_cookies(tmp_path):
    cert, key = _self_signed(tmp_path)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ashiguard",
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            str(port),
            "--certfile",
            str(cert),
            "--keyfile",
            str(key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=PROJECT_ROOT,
    )
    trust = ssl.create_default_context(cafile=str(cert))
    base = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"{base}/healthz", timeout=2, verify=trust)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        assert r.json() == {"status": "ok", "database": "ok"}
        login = httpx.get(f"{base}/login", timeout=5, verify=trust)
        assert login.status_code == 200
        cookies = login.headers.get_list("set-cookie")
        assert cookies and all("secure" in c.lower() for c in cookies)
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served on that port
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"https://127.0.0.1:{port}/" in out


def test_serve_refuses_a_certificate_without_its_key_with_exit_2(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    for args, message in (
        (["--certfile", str(cert)], "--certfile/--keyfile: give both"),
        (["--certfile", str(cert), "--keyfile", str(tmp_path / "nope.pem")], "--keyfile: no file"),
        (["--certfile", str(cert), "--keyfile", str(cert)], "cannot load the certificate"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "ashiguard", "serve", "--data-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=60,
        )
        assert r.returncode == 2 and r.stdout == "", r.stderr
        assert r.stderr.startswith("ashiguard: error: ") and message in r.stderr
        assert r.stderr.count("\n") == 1
