from __future__ import annotations

from ashiguard import __version__


def test_version_prints_the_package_version(run_cli):
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"ashiguard {__version__}"


def test_help_lists_every_command_with_one_line(run_cli):
    from ashiguard.entrypoints.cli import _COMMAND_MODULES

    r = run_cli("--help")
    assert r.returncode == 0
    assert "bench" in r.stdout
    assert len(_COMMAND_MODULES) >= 1


def test_unknown_bench_part_is_refused_with_exit_2(run_cli):
    r = run_cli("bench", "no-such-part")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "unknown bench part 'no-such-part'" in r.stderr
