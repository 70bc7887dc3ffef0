"""``ashiguard serve``: run the clinic web app (uvicorn)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import typer

from ashiguard.entrypoints.cli._common import fail, refusing_bad_input

__all__ = ["SWITCH_INTERVAL_S", "register", "serve", "server_config"]

SWITCH_INTERVAL_S = 0.001


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port (0: any free port)."),
    data_dir: Path = typer.Option(
        Path("data"), "--data-dir", help="Database, recordings, secrets."
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Create the demo clinic and a live simulated session."
    ),
    certfile: Path | None = typer.Option(
        None, "--certfile", help="TLS certificate (PEM) to serve HTTPS; needs --keyfile."
    ),
    keyfile: Path | None = typer.Option(
        None, "--keyfile", help="TLS private key (PEM) of --certfile."
    ),
    colour_scale: float | None = typer.Option(
        None,
        "--colour-scale-kpa",
        help="Top of the live and review colour scale, kPa (default: "
        "ASHIGUARD_COLOUR_SCALE_KPA, else 100).",
    ),
    trusted_proxy: str = typer.Option(
        "",
        "--trusted-proxy",
        help="Comma-separated addresses of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (default: ASHIGUARD_TRUSTED_PROXIES, else none).",
    ),
    broker: str = typer.Option(
        "",
        "--broker",
        help="redis://HOST:PORT/DB: live sessions run on `ashiguard worker` processes "
        "(default: ASHIGUARD_BROKER_URL, else in child processes of this server).",
    ),
) -> None:
    """Run the clinic web app, creating and migrating the database on first start."""
    import uvicorn

    from ashiguard.bootstrap import make_app, open_database
    from ashiguard.settings import Settings

    if not 0 <= port <= 65535:
        fail(f"--port: {port} is not a TCP port")
    tls = _check_tls(certfile, keyfile)
    port = _check_port(host, port)
    extra: dict[str, object] = {"broker_url": broker} if broker else {}
    if trusted_proxy:
        extra["trusted_proxies"] = trusted_proxy
    if colour_scale is not None:
        extra["colour_scale_kpa"] = colour_scale
    with refusing_bad_input():
        settings = Settings.from_env(data_dir, secure_cookies=tls, **extra)
    with refusing_bad_input():
        db = open_database(settings)
        app = make_app(settings, db)
    logins: list[tuple[str, str, str]] = []
    if demo:
        from ashiguard.entrypoints.web.demo import seed_demo, start_demo_session

        typer.echo("preparing the demo clinic ...", err=True)
        logins = seed_demo(settings, db)
        start_demo_session(app)
    config = server_config(
        app,
        host,
        port,
        trusted_proxies=settings.trusted_proxies,
        certfile=certfile if tls else None,
        keyfile=keyfile if tls else None,
    )
    server = uvicorn.Server(config)
    # 8 live sessions are some 30 threads (source, monitor, recording) sharing one GIL: a
    # 1 ms switch interval (default 5 ms) lets the event loop thread that carries the alarms
    # to the browsers take its turn sooner
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    shown = host if ":" not in host else f"[{host}]"
    scheme = "https" if tls else "http"
    where = f"live sessions on workers via {settings.broker_url}" if settings.broker_url else ""
    typer.echo(
        f"ashiguard clinic on {scheme}://{shown}:{port}/  (data: {data_dir.resolve()})"
        + (f"  ({where})" if where else "")
    )
    if logins:
        typer.echo("demo logins (username / password / role):")
        for user, pw, role in logins:
            typer.echo(f"  {user:12} {pw:22} {role}")
    typer.echo("press Ctrl-C to stop", err=True)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its own clean shutdown
        pass
    finally:
        app.state.live.stop_all()
        db.dispose()


def server_config(
    app: Any,
    host: str,
    port: int,
    *,
    trusted_proxies: str = "",
    certfile: Path | None = None,
    keyfile: Path | None = None,
    lifespan: str = "on",
) -> Any:
    """The uvicorn configuration of ``serve`` (the tests' servers use it too).

    Notes
    -----
    The client's address (audit log, login back-off) is the TCP peer's. ``X-Forwarded-For``
    and ``X-Forwarded-Proto`` are believed only from the ``trusted_proxies`` addresses
    (uvicorn would otherwise believe them from 127.0.0.1 by default, so that anyone on the
    machine could claim any address).
    """
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan=lifespan,
        access_log=False,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=trusted_proxies or "",
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
    )


def _check_tls(certfile: Path | None, keyfile: Path | None) -> bool:
    """Whether to serve HTTPS; refuses one file without the other or a missing file."""
    if certfile is None and keyfile is None:
        return False
    if certfile is None or keyfile is None:
        fail("--certfile/--keyfile: give both (certificate and private key) or neither")
    for flag, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if not path.is_file():
            fail(f"{flag}: no file {path}")
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as exc:
        fail(f"--certfile/--keyfile: cannot load the certificate and key: {exc}")
    return True


def _check_port(host: str, port: int) -> int:
    """Fail at once, with a clear message, when the port is taken; port 0 picks a free one.

    The probe socket is closed again: uvicorn binds its own (a socket handed to uvicorn
    answered about 20 requests/s here, against hundreds when uvicorn binds it).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            fail(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror}")
        return int(sock.getsockname()[1])


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
