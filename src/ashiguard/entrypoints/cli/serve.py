"""``ashiguard serve``: run the clinic web app (uvicorn)."""

from __future__ import annotations

import socket
from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import fail, refusing_bad_input


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port (0: any free port)."),
    data_dir: Path = typer.Option(
        Path("data"), "--data-dir", help="Database, recordings, secrets."
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Create the demo clinic and a live simulated session."
    ),
) -> None:
    """Run the clinic web app, creating and migrating the database on first start."""
    import uvicorn

    from ashiguard.bootstrap import Settings, make_app, open_database

    if not 0 <= port <= 65535:
        fail(f"--port: {port} is not a TCP port")
    port = _check_port(host, port)
    settings = Settings.from_env(data_dir)
    with refusing_bad_input():
        db = open_database(settings)
    app = make_app(settings, db)
    logins: list[tuple[str, str, str]] = []
    if demo:
        from ashiguard.entrypoints.web.demo import seed_demo, start_demo_session

        typer.echo("preparing the demo clinic ...", err=True)
        logins = seed_demo(settings, db)
        start_demo_session(app)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    shown = host if ":" not in host else f"[{host}]"
    typer.echo(f"ashiguard clinic on http://{shown}:{port}/  (data: {data_dir.resolve()})")
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
