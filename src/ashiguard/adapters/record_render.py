"""Drawing a client's whole record as an A4 PDF with matplotlib (Agg canvas, PDF backend).

The record is a list of :class:`RecordBlock` (a heading, label/value lines, optionally a PNG
shown at the block's right, e.g. a session's body heatmap); :func:`write_record_pdf` flows
them over as many A4 portrait pages as they need, never splitting a block smaller than a
page, and puts the clinic's name, the record's title and "page i of n" on every page.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

__all__ = ["RecordBlock", "write_record_pdf"]

_A4 = (8.27, 11.69)  # in
_LEFT, _RIGHT = 0.7, 0.7  # in
_TOP, _BOTTOM = 0.75, 0.8  # in
_FONT = 8.5  # pt
_LABEL_W = 1.45  # in
_INK, _MUTED, _RULE = "#1d1d1d", "#555555", "#999999"
_IMAGE_W = 2.1  # in: the body heatmap beside a session's lines
_KEEP_WITH_NEXT = 1.5  # in


@dataclass
class RecordBlock:
    """One part of the record: a ``heading``, then ``lines`` of (label, value) (an empty
    label makes the value a paragraph across the full width) and optionally a PNG ``image``
    drawn at the right with ``image_note`` under it (or only the note, in grey, at the
    right)."""

    heading: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)
    image: bytes | None = None
    image_note: str = ""
    level: int = 2


def _line_h(size: float) -> float:
    return size * 1.42 / 72.0


def _wrap(text: str, width_in: float, size: float) -> list[str]:
    chars = max(12, int(width_in * 72.0 / (size * 0.54)))
    out: list[str] = []
    for para in str(text).splitlines() or [""]:
        out += textwrap.wrap(para, chars, break_long_words=True, replace_whitespace=False) or [""]
    return out


class _Pages:
    """The pages drawn so far and the place (inches from the top) where the next line goes."""

    def __init__(self) -> None:
        self.figs: list[Figure] = []
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        fig = Figure(figsize=_A4)
        FigureCanvasAgg(fig)
        self.figs.append(fig)
        self.y = _TOP

    @property
    def fig(self) -> Figure:
        return self.figs[-1]

    def room(self) -> float:
        return _A4[1] - _BOTTOM - self.y

    def need(self, h: float) -> None:
        if h > self.room() and self.y > _TOP + 0.01:
            self.new_page()

    def text(self, x_in: float, s: str, size: float = _FONT, **kw: Any) -> None:
        kw.setdefault("color", _INK)
        self.fig.text(x_in / _A4[0], 1.0 - self.y / _A4[1], s, fontsize=size, va="top", **kw)

    def rule(self) -> None:
        y = 1.0 - self.y / _A4[1]
        self.fig.add_artist(
            _line((_LEFT / _A4[0], 1.0 - _RIGHT / _A4[0]), (y, y), color=_RULE, lw=0.6)
        )


def _line(xs: tuple[float, float], ys: tuple[float, float], **kw: Any) -> Any:
    from matplotlib.lines import Line2D

    return Line2D(xs, ys, **kw)


def _block_lines(b: RecordBlock, width_in: float) -> list[tuple[str, str]]:
    """The block's lines wrapped to ``width_in``: (label or "", one line of text)."""
    out: list[tuple[str, str]] = []
    for label, value in b.lines:
        if not label:
            out += [("", w) for w in _wrap(value, width_in, _FONT)]
            continue
        wrapped = _wrap(value, width_in - _LABEL_W, _FONT)
        out.append((label, wrapped[0]))
        out += [("\u00a0", w) for w in wrapped[1:]]
    return out


def _image(pages: _Pages, png: bytes, x_in: float, w_in: float) -> float:
    """Draw ``png`` ``w_in`` wide at ``x_in``, top at the current line; returns its height."""
    from matplotlib.image import imread

    img = imread(io.BytesIO(png), format="png")
    h_in = w_in * img.shape[0] / img.shape[1]
    ax = pages.fig.add_axes(
        (x_in / _A4[0], 1.0 - (pages.y + h_in) / _A4[1], w_in / _A4[0], h_in / _A4[1])
    )
    ax.imshow(img, interpolation="antialiased")
    ax.set_axis_off()
    return h_in


def _draw_block(pages: _Pages, b: RecordBlock) -> None:
    full = _A4[0] - _LEFT - _RIGHT
    has_side = b.image is not None or bool(b.image_note)
    text_w = full - (_IMAGE_W + 0.2 if has_side else 0.0)
    lines = _block_lines(b, text_w)
    head_size = 13.0 if b.level == 1 else 10.5
    head_h = _line_h(head_size) + 0.06 if b.heading else 0.0
    image_h = 0.0
    if b.image is not None:
        from matplotlib.image import imread

        shape = imread(io.BytesIO(b.image), format="png").shape
        image_h = _IMAGE_W * shape[0] / shape[1] + 0.3
    elif b.image_note:
        image_h = 0.5
    body_h = max(len(lines) * _line_h(_FONT), image_h)
    if not lines and not has_side:
        body_h = _KEEP_WITH_NEXT  # a section heading is not left alone at a page's foot
    pages.need(min(head_h + body_h, _A4[1] - _TOP - _BOTTOM))
    if b.heading:
        pages.text(_LEFT, b.heading, head_size, fontweight="bold")
        pages.y += head_h
    top, page = pages.y, len(pages.figs)
    side_bottom = top
    if has_side:  # first, on this page: the whole block was made to fit when it can
        x = _LEFT + full - _IMAGE_W
        h = _image(pages, b.image, x, _IMAGE_W) if b.image is not None else 0.0
        pages.y = top + h + 0.05
        for w in _wrap(b.image_note, _IMAGE_W, 7.0) if b.image_note else []:
            pages.text(x, w, 7.0, color=_MUTED)
            pages.y += _line_h(7.0)
        side_bottom = pages.y
        pages.y = top
    for label, text in lines:
        if pages.room() < _line_h(_FONT):
            pages.new_page()
        if label:
            pages.text(_LEFT, label if label != "\u00a0" else "", color=_MUTED)
            pages.text(_LEFT + _LABEL_W, text)
        else:
            pages.text(_LEFT, text)
        pages.y += _line_h(_FONT)
    bottom = pages.y if len(pages.figs) > page else max(pages.y, side_bottom)
    pages.y = bottom + 0.12


def write_record_pdf(
    blocks: Sequence[RecordBlock],
    out: str | Path,
    *,
    title: str,
    subtitle: str,
    footer: str,
    author: str,
) -> Path:
    """Write the record as A4 portrait pages: ``title`` and ``subtitle`` at the top of the
    first page, the blocks flowing after, ``footer`` and "page i of n" on every page."""
    pages = _Pages()
    pages.text(_LEFT, title, 16.0, fontweight="bold")
    pages.y += _line_h(16.0) + 0.02
    for line in _wrap(subtitle, _A4[0] - _LEFT - _RIGHT, 8.0):
        pages.text(_LEFT, line, 8.0, color=_MUTED)
        pages.y += _line_h(8.0)
    pages.y += 0.08
    pages.rule()
    pages.y += 0.15
    for b in blocks:
        _draw_block(pages, b)
    n = len(pages.figs)
    meta = {"Title": title, "Author": author, "Subject": "client record", "Creator": "ashiguard"}
    with PdfPages(out, metadata=meta) as pdf:
        for i, fig in enumerate(pages.figs, start=1):
            fig.text(_LEFT / _A4[0], 0.4 / _A4[1], footer, fontsize=7, color=_MUTED)
            fig.text(
                1.0 - _RIGHT / _A4[0],
                0.4 / _A4[1],
                f"page {i} of {n}",
                fontsize=7,
                color=_MUTED,
                ha="right",
            )
            pdf.savefig(fig, dpi=200)
    return Path(out)
