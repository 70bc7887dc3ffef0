"""A student's progress over attempts: time in band and overshoot per attempt (matplotlib, Agg).

Built on :class:`matplotlib.figure.Figure` and the Agg canvas (no pyplot, no global state).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from ashiguard.domain.training import AttemptScore

__all__ = ["PdfTable", "progress_figure", "progress_pdf", "progress_png"]

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
    fig = Figure(figsize=(max(4.0, 0.6 * n + 2.0), 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    progress_figure(fig, scores, labels)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def progress_figure(
    fig: Figure, scores: Sequence[AttemptScore], labels: Sequence[str] | None = None
) -> None:
    """Draw the progress plot of :func:`progress_png` on ``fig`` (two axes)."""
    n = len(scores)
    xs = list(range(1, n + 1))
    names = list(labels) if labels is not None else [str(x) for x in xs]
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


_A4_IN = (8.27, 11.69)
_ROWS_PER_PAGE = 30
_FIRST_PAGE_ROWS = 10


@dataclass(frozen=True)
class PdfTable:
    """A table of the progress report: heading, column names, rows of text."""

    heading: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] | None = None


def _text_page(pdf: PdfPages, title: str, lines: Sequence[str], table: PdfTable | None) -> None:
    fig = Figure(figsize=_A4_IN)
    FigureCanvasAgg(fig)
    fig.text(0.07, 0.95, title, fontsize=15, weight="bold", va="top")
    y = 0.9
    for line in lines:
        fig.text(0.07, y, line, fontsize=9.5, va="top", wrap=True)
        y -= 0.028
    if table is not None:
        _draw_table(fig, table, list(table.rows), table.heading, y - 0.02)
    pdf.savefig(fig)


def _draw_table(
    fig: Figure, table: PdfTable, chunk: Sequence[tuple[str, ...]], heading: str, top: float
) -> None:
    rows = list(chunk) or [("none",) + ("",) * (len(table.columns) - 1)]
    fig.text(0.07, top, heading, fontsize=13, weight="bold", va="top")
    height = min(top - 0.08, 0.026 * (len(rows) + 1))
    ax = fig.add_axes((0.05, top - 0.03 - height, 0.9, height))
    ax.axis("off")
    t = ax.table(
        cellText=[list(r) for r in rows],
        colLabels=list(table.columns),
        colWidths=list(table.widths) if table.widths else None,
        loc="upper left",
        cellLoc="left",
        bbox=(0.0, 0.0, 1.0, 1.0),
    )
    t.auto_set_font_size(False)
    t.set_fontsize(7.5)
    for (r, _c), cell in t.get_celld().items():
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#eeeeee")


def _table_pages(pdf: PdfPages, table: PdfTable) -> None:
    rows = list(table.rows)
    chunks = [rows[i : i + _ROWS_PER_PAGE] for i in range(0, len(rows), _ROWS_PER_PAGE)] or [[]]
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=_A4_IN)
        FigureCanvasAgg(fig)
        more = f" (continued, {k + 1} of {len(chunks)})" if k else ""
        _draw_table(fig, table, chunk, table.heading + more, 0.95)
        pdf.savefig(fig)


def progress_pdf(
    path: str | Path | io.BytesIO,
    title: str,
    lines: Sequence[str],
    tables: Sequence[PdfTable],
    scores: Sequence[AttemptScore],
    labels: Sequence[str],
) -> None:
    """A student's progress report as an A4 PDF: a first page of ``lines`` under ``title``
    (with the first table when it is short), then each table (30 rows a page) and the
    progress plot of :func:`progress_png`."""
    meta = {"Title": title, "Author": "ashiguard", "Subject": "training progress report"}
    with PdfPages(path, metadata=meta) as pdf:
        first = tables[0] if tables and len(tables[0].rows) <= _FIRST_PAGE_ROWS else None
        _text_page(pdf, title, lines, first)
        for table in tables[1:] if first is not None else tables:
            _table_pages(pdf, table)
        if scores:
            fig = Figure(figsize=(_A4_IN[0], _A4_IN[1] * 0.6), layout="constrained")
            FigureCanvasAgg(fig)
            progress_figure(fig, scores, labels)
            pdf.savefig(fig)
