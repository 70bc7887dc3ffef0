"""``ashiguard worker``: run the live sessions that the clinic's web processes start."""

from __future__ import annotations

from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import refusing_bad_input

__all__ = ["register"]


def worker(
    broker: str = typer.Option(
        "", "--broker", help="redis://HOST:PORT/DB (default: ASHIGUARD_BROKER_URL)."
    ),
    data_dir: Path = typer.Option(
        Path("data"), "--data-dir", help="Database (SQLite) and recordings, shared with serve."
    ),
    name: str | None = typer.Option(None, "--name", help="Worker id (default: host-pid-random)."),
) -> None:
    """Run live sessions for any web process on the broker (Ctrl-C ends them cleanly)."""
    import signal

    from ashiguard.bootstrap import make_worker, open_database
    from ashiguard.settings import Settings

    extra = {"broker_url": broker} if broker else {}
    with refusing_bad_input():
        settings = Settings.from_env(data_dir, **extra)
        db = open_database(settings)
        w = make_worker(settings, db, ident=name)
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    typer.echo(f"ashiguard worker {w.id} on {settings.broker_url} (data: {data_dir.resolve()})")
    try:
        w.run()
    except KeyboardInterrupt:
        w.stop()
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
