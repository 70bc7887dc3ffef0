"""Uploaded documents (physicians' clearance letters): checked by their content, stored under
a random name in ``DATA_DIR/uploads``, read back by that name only.

Notes
-----
- The type comes from the bytes, never from the file name or the browser's content type: a
  PDF starts with ``%PDF-`` and ends with ``%%EOF``; a PNG or JPEG must start with its magic
  bytes *and* decode completely with Pillow as that format (a PNG also may carry nothing after
  its ``IEND`` chunk).
- Active content is refused in every type: HTML or SVG markup and script URLs anywhere in the
  file (a polyglot that a browser could read as a page), and PDF actions that run or launch
  something (``/JavaScript``, ``/JS``, ``/Launch``, ``/EmbeddedFile``, ``/RichMedia``,
  ``/XFA``). A PDF's compressed object streams are not opened: that is what serving every
  letter as a download (``Content-Disposition: attachment``, ``nosniff``) is for.
- Size: at most :data:`MAX_UPLOAD_BYTES`; callers stop reading past it (the web app also
  refuses a larger request body before reading it).
- Names: the stored name is 32 random hex digits and the sniffed type's extension, created
  with ``O_EXCL`` and mode 0600 in a 0700 directory outside the static files. The name the
  client's file had is kept only as text (:func:`display_name`), never joined to a path.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ashiguard.domain.errors import InputError, NotFound

__all__ = [
    "EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "MAX_UPLOAD_BYTES",
    "UPLOADS_DIR",
    "StoredUpload",
    "UploadStore",
    "display_name",
    "sniff",
]

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
"""Largest accepted upload, bytes (5 MiB)."""

MAX_IMAGE_PIXELS = 40_000_000
"""Largest image accepted, pixels (a letter scanned at 600 dpi is about 35 million)."""

UPLOADS_DIR = "uploads"
"""The folder of the data directory that holds uploads."""

EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
"""The accepted types (as sniffed) and the extension of their stored files."""

_STORED = re.compile(r"[0-9a-f]{32}\.(pdf|png|jpg)")
_MARKUP = re.compile(
    rb"<(script|html|body|iframe|svg|object|embed)[\s>/]|<!doctype|<\?xml|javascript:",
    re.IGNORECASE,
)
_PDF_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.DOTALL)
_PDF_ACTIONS = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def _pdf(data: bytes, field: str) -> None:
    if not re.match(rb"%PDF-[12]\.\d", data):
        raise InputError(f"{field}: not a PDF (it must start with %PDF-)")
    if b"%%EOF" not in data[-2048:]:
        raise InputError(f"{field}: the PDF is cut short (no %%EOF at its end)")
    found = _PDF_ACTIONS.search(_PDF_STREAM.sub(b"stream endstream", data))
    if found:
        what = found.group(1).decode()
        raise InputError(f"{field}: the PDF holds active content (/{what}); print it to PDF again")


def _png_end(data: bytes) -> int:
    """Where the PNG's IEND chunk ends (walking the chunks), or -1."""
    pos = len(_PNG)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos
    return -1


def _image(data: bytes, fmt: str, field: str) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise InputError(f"{field}: the image is too large ({width} x {height} pixels)")
            img.verify()
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            img.load()
    except InputError:
        raise
    except Exception:  # Pillow raises many kinds for a broken file
        raise InputError(f"{field}: not a readable {fmt} image") from None
    if fmt == "PNG" and _png_end(data) != len(data):
        raise InputError(f"{field}: data after the end of the PNG image")


def sniff(data: bytes, field: str = "letter") -> str:
    """The media type of an upload from its content: ``application/pdf``, ``image/png`` or
    ``image/jpeg``; :class:`InputError` naming ``field`` for anything else (empty, too large,
    another type, a broken image, active content)."""
    if not data:
        raise InputError(f"{field}: the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"{field}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    if data.startswith(b"%PDF-"):
        kind = "application/pdf"
        _pdf(data, field)
    elif data.startswith(_PNG):
        kind = "image/png"
        _image(data, "PNG", field)
    elif data.startswith(_JPEG):
        kind = "image/jpeg"
        _image(data, "JPEG", field)
    else:
        raise InputError(f"{field}: not a PDF, PNG or JPEG file (judged by its content)")
    visible = _PDF_STREAM.sub(b"stream endstream", data) if kind == "application/pdf" else data
    if _MARKUP.search(visible):
        raise InputError(f"{field}: the file holds web page or script markup; refused")
    return kind


def display_name(name: str) -> str:
    """The client's file name as text to show: its last path part, without control
    characters, at most 200 characters ("letter" when nothing is left)."""
    last = re.split(r"[\\/]", name or "")[-1]
    clean = "".join(c for c in last if unicodedata.category(c)[0] != "C").strip()
    return clean[:200] or "letter"


@dataclass(frozen=True)
class StoredUpload:
    """A stored upload: its path relative to the data directory, type, size and SHA-256."""

    path: str
    media_type: str
    size: int
    sha256: str


class UploadStore:
    """The uploads folder of a data directory (created 0700 on first use)."""

    def __init__(self, data_dir: Path | str) -> None:
        self.root = Path(data_dir) / UPLOADS_DIR

    def save(self, data: bytes, media_type: str) -> StoredUpload:
        """Write checked bytes (``media_type`` as :func:`sniff` said) under a new random name."""
        import hashlib

        ext = EXTENSIONS[media_type]
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = secrets.token_hex(16) + ext
        fd = os.open(self.root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return StoredUpload(
            f"{UPLOADS_DIR}/{name}", media_type, len(data), hashlib.sha256(data).hexdigest()
        )

    def _file(self, path: str) -> Path:
        folder, _, name = path.partition("/")
        if folder != UPLOADS_DIR or not _STORED.fullmatch(name):
            raise NotFound(f"upload {path!r} not found")
        return self.root / name

    def read(self, path: str) -> bytes:
        """The bytes of a stored upload (``uploads/<random>.<ext>`` only; NotFound otherwise)."""
        file = self._file(path)
        if not file.is_file():
            raise NotFound(f"upload {path!r} not found")
        return file.read_bytes()

    def delete(self, path: str) -> None:
        """Remove a stored upload (a record that was not stored after all)."""
        self._file(path).unlink(missing_ok=True)
