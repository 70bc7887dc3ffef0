from __future__ import annotations

import typer

from ashiguard import __version__
from ashiguard.entrypoints import cli


def test_version_prints_the_package_version(run_cli):
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"ashiguard {__version__}"


def test_help_lists_every_command_with_its_whole_first_line(run_cli):
    cli._load_commands()
    group = typer.main.get_command(cli.app)
    commands = group.commands  # type: ignore[attr-defined]
    r = run_cli("--help")
    assert r.returncode == 0
    listing = " ".join(r.stdout.split())
    assert len(commands) >= len(cli._COMMAND_MODULES)
    for name, command in commands.items():
        first_line = " ".join(command.help.strip().splitlines()[0].split())
        assert f"{name} {first_line}" in listing, name


def test_unknown_bench_part_is_refused_with_exit_2(run_cli):
    r = run_cli("bench", "no-such-part")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "unknown bench part 'no-such-part'" in r.stderr
