"""Shared fixtures: the ../shared folder and a subprocess runner for the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project (real vendor files and public datasets)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}: clone the project beside shared/")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


def _run_cli(
    *args: str, input: str | None = None, timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("COLUMNS", "120")
    return subprocess.run(
        [sys.executable, "-m", "ashiguard", *map(str, args)],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or PROJECT_ROOT,
        env=env,
    )


@pytest.fixture(scope="session")
def run_cli() -> CliRunner:
    """Run ``ashiguard ARGS...`` in a subprocess; returns the CompletedProcess (text)."""
    return _run_cli
