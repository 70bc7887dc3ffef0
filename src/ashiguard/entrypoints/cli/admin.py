"""``ashiguard admin``: user administration of the clinic database."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import fail, print_json, refusing_bad_input

__all__ = ["register"]

admin_app = typer.Typer(help="Administer the clinic database (users).", no_args_is_help=True)

PASSWORD_ENV = "ASHIGUARD_PASSWORD"


@admin_app.command("create-user")
def create_user_cmd(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(
        "owner", "--role", help="owner, therapist, front_desk, researcher or instructor."
    ),
    display_name: str = typer.Option("", "--name", help="Name shown in the app."),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The app's data directory."),
) -> None:
    """Create a user (the first owner); password prompted or read from ASHIGUARD_PASSWORD."""
    from ashiguard.adapters.db import SqlUnitOfWork
    from ashiguard.bootstrap import open_database
    from ashiguard.services.clinic_admin import create_user
    from ashiguard.settings import Settings

    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    settings = Settings.from_env(data_dir)
    with refusing_bad_input():
        db = open_database(settings)
        try:
            with SqlUnitOfWork(db) as uow:
                user = create_user(
                    uow, username, password, role, display_name, actor=None, via="via cli"
                )
                out = {"id": user.id, "username": user.username, "role": user.role}
        finally:
            db.dispose()
    print_json(out)


@admin_app.command("list-users")
def list_users_cmd(
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The app's data directory."),
) -> None:
    """List the users as JSON."""
    from ashiguard.adapters.db import SqlUnitOfWork
    from ashiguard.bootstrap import open_database
    from ashiguard.services.clinic_admin import list_users
    from ashiguard.settings import Settings

    settings = Settings.from_env(data_dir)
    with refusing_bad_input():
        db = open_database(settings)
        try:
            with SqlUnitOfWork(db) as uow:
                rows = [
                    {"id": u.id, "username": u.username, "role": u.role, "active": u.active}
                    for u in list_users(uow)
                ]
        finally:
            db.dispose()
    print_json(rows)


def _settings(data_dir: Path, database_url: str) -> object:
    from ashiguard.settings import Settings

    settings = Settings.from_env(data_dir)
    if database_url:
        from dataclasses import replace

        settings = replace(settings, database_url=database_url)
    return settings


@admin_app.command("reset-link")
def reset_link_cmd(
    username: str = typer.Argument(..., help="Whose password to reset."),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The app's data directory."),
    database_url: str = typer.Option(
        "",
        "--database-url",
        help="The clinic database (default: ASHIGUARD_DATABASE_URL, else "
        "the SQLite file in --data-dir).",
    ),
    base_url: str = typer.Option(
        "http://127.0.0.1:8000", "--base-url", help="Where the clinic app is reached."
    ),
    hours: float = typer.Option(24.0, "--hours", help="How long the link works, hours."),
) -> None:
    """Print a one-time password reset link for a user (older links stop working)."""
    from ashiguard.adapters.db import SqlUnitOfWork
    from ashiguard.bootstrap import open_database
    from ashiguard.services.accounts import make_reset_link

    with refusing_bad_input():
        db = open_database(_settings(data_dir, database_url))  # type: ignore[arg-type]
        try:
            with SqlUnitOfWork(db) as uow:
                link = make_reset_link(uow, username, actor=None, hours=hours, via="via cli")
        finally:
            db.dispose()
    typer.echo(f"{base_url.rstrip('/')}/reset/{link.token}")
    typer.echo(
        f"one-time link for {link.username}, valid until {link.expires_at} UTC; "
        "give it to them in person",
        err=True,
    )


@admin_app.command("verify-audit")
def verify_audit_cmd(
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The app's data directory."),
    database_url: str = typer.Option(
        "",
        "--database-url",
        help="The clinic database (default: ASHIGUARD_DATABASE_URL, else the SQLite file in "
        "--data-dir).",
    ),
) -> None:
    """Check the audit log's hash chain: exit 0 if intact, 1 naming the first bad entry."""
    from ashiguard.adapters.db.audit_chain import verify
    from ashiguard.bootstrap import open_database

    with refusing_bad_input():
        db = open_database(_settings(data_dir, database_url))  # type: ignore[arg-type]
    try:
        with db.session() as s:
            report = verify(s)
    finally:
        db.dispose()
    if not report.ok:
        typer.echo(
            f"audit log BROKEN at {report.problem} ({report.checked} entries before it check)"
        )
        raise typer.Exit(1)
    typer.echo(
        f"audit log intact: {report.checked} entries check; newest entry {report.head_seq}, "
        f"hash {report.head_hash} (keep this line: a later check must extend it)"
    )


@admin_app.command("migrate")
def migrate_cmd(
    revision: str = typer.Argument("head", help="Target revision (head, base or an id)."),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The app's data directory."),
) -> None:
    """Upgrade (or with 'base' downgrade) the database schema."""
    from ashiguard.bootstrap import open_database
    from ashiguard.settings import Settings

    settings = Settings.from_env(data_dir)
    with refusing_bad_input():
        db = open_database(settings, migrate=False)
    try:
        if revision == "base":
            db.downgrade("base")
        else:
            db.migrate(revision)
    except Exception as exc:  # alembic reports unknown revisions with its own types
        fail(f"revision: {exc}")
    finally:
        db.dispose()
    typer.echo(f"database at {revision}")


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin", help="Administer the clinic database (users).")
