"""novel emed (pressure platform) ``.lst`` exports: recognised and refused in one line.

No emed export is shared with the project and novel publishes no specification of the
``.lst`` layout. The one public reader found (the pressuRe R package's ``load_emed``, MIT)
reads it by page-layout heuristics: pages split at ``Page`` lines and form feeds, a
``Pict-No.:`` line per picture, 8-character fixed-width columns with a ``Force`` column and
row, a ``Sensor size`` line and a time line in ms, summary pictures (``MVP``/``MPP``) to skip,
and a 95 x 64 sensor array assumed. A reader written from that description alone could not be
checked against a real file, and a silently wrong grid is worse than a refusal for a safety
tool, so emed files are detected (``Pict-No.`` pictures, or ``emed`` with ``Sensor size`` in
the head) and refused, naming the file and the reason.
"""

from __future__ import annotations

from ashiguard.adapters.importers._base import Format, ImportedRecording, SourceText

__all__ = ["FORMAT", "REFUSAL", "read_emed"]

REFUSAL = (
    "novel emed .lst export: not supported (no sample file and no published description of "
    "the layout to check a reader against); export the measurement in a format that "
    "'ashiguard import-formats' lists"
)


def _detect(head: str) -> bool:
    low = head.lower()
    return "pict-no." in low or ("emed" in low and "sensor size" in low)


def read_emed(src: SourceText, side: str | None = None) -> ImportedRecording:
    """Refuse an emed export in one line (see module docstring)."""
    raise src.error(None, REFUSAL)


FORMAT = Format(
    name="emed",
    description="novel emed .lst export: recognised and refused (no published layout)",
    detect=_detect,
    read=read_emed,
)
