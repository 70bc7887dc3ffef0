"""Benchmarks behind ``ashiguard bench`` (contract section 6, ``ashiguard.bench/1``).

Each part is a module ``ashiguard.bench.<part>`` with ``run(quick: bool) -> list[BenchResult]``.
Speed goals are checked here, by printed numbers, never by timed assertions in tests.
"""

from __future__ import annotations

import importlib
import os
import platform
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["PARTS", "BenchResult", "machine_info", "report", "run_parts"]

# Parts in the order they run; each is a module of this package.
PARTS: tuple[str, ...] = (
    "screen",
    "mechanics",
    "recording",
    "monitor",
    "web",
    "live",
    "batch",
    "browser",
    "soak",
)


@dataclass(frozen=True)
class BenchResult:
    """One measured number, with its unit and goal."""

    name: str
    value: float
    unit: str
    goal: float | None
    better: Literal["lower", "higher"]
    detail: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the goal is met (None when there is no goal)."""
        if self.goal is None:
            return None
        return self.value <= self.goal if self.better == "lower" else self.value >= self.goal


def machine_info() -> dict[str, Any]:
    """Cores, Python and the BLAS numpy was built with, printed with every report."""
    import numpy as np

    blas = "unknown"
    try:
        cfg: Any = np.show_config(mode="dicts")
        blas = str(cfg["Build Dependencies"]["blas"]["name"])
    except Exception:  # pragma: no cover - numpy without the dict config
        pass
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": blas,
        "machine": platform.machine(),
    }


def run_parts(
    parts: Iterable[str], *, quick: bool, progress: Callable[[str], None] | None = None
) -> list[BenchResult]:
    """Run the named parts in order and collect their results."""
    results: list[BenchResult] = []
    for part in parts:
        if progress is not None:
            progress(part)
        module = importlib.import_module(f"{__name__}.{part}")
        results.extend(module.run(quick=quick))
    return results


def report(results: list[BenchResult]) -> dict[str, Any]:
    """The ``ashiguard.bench/1`` JSON object."""
    return {
        "schema": "ashiguard.bench/1",
        "machine": machine_info(),
        "results": [asdict(r) | {"met": r.met} for r in results],
    }
