"""A student's progress over attempts: time in band and overshoot per attempt (matplotlib, Agg).

Built on :class:`matplotlib.figure.Figure` and the Agg canvas (no pyplot, no global state).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ashiguard.domain.training import AttemptScore

__all__ = ["progress_png"]

_PASS = "#2e7d32"
_FAIL = "#c62828"


def progress_png(scores: Sequence[AttemptScore], labels: Sequence[str] | None = None) -> bytes:
    """PNG of attempts in order: time in band (%) above, overshoot integral (kPa·s) below;
    bars green when the attempt passed, red when it failed.

    Parameters
    ----------
    scores : sequence of AttemptScore
        The attempts, oldest first.
    labels : sequence of str, optional
        One x-axis label per attempt (default ``1``, ``2``, ...).
    """
    n = len(scores)
    xs = list(range(1, n + 1))
    names = list(labels) if labels is not None else [str(x) for x in xs]
    fig = Figure(figsize=(max(4.0, 0.6 * n + 2.0), 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    colours = [_PASS if s.passed else _FAIL for s in scores]
    top.bar(xs, [100 * s.in_band_fraction for s in scores], color=colours)
    top.set_ylim(0, 105)
    top.set_ylabel("time in band, %")
    top.set_title("Progress (green: passed, red: failed)", fontsize=10)
    bottom.bar(xs, [s.overshoot_kpa_s for s in scores], color=colours)
    bottom.set_ylabel("overshoot, kPa·s")
    bottom.set_xlabel("attempt")
    bottom.set_xticks(xs, names, rotation=30 if n > 8 else 0)
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()
