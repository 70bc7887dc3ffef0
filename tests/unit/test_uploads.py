"""Uploads are judged by their content, stored under random names and read back by them only."""

from __future__ import annotations

import io
import os
import stat

import pytest
from PIL import Image

from ashiguard.adapters.uploads import MAX_UPLOAD_BYTES, UploadStore, display_name, sniff
from ashiguard.domain.errors import InputError, NotFound

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def png_bytes(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(out, "JPEG", comment=comment)
    return out.getvalue()


def test_a_pdf_a_png_and_a_jpeg_are_recognised_by_their_content():
    assert sniff(PDF) == "application/pdf"
    assert sniff(png_bytes()) == "image/png"
    assert sniff(jpeg_bytes()) == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"#!/bin/sh\nrm -rf /\n", "not a PDF, PNG or JPEG"),
        (b"<!doctype html><script>alert(1)</script>", "not a PDF, PNG or JPEG"),
        (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "not a readable PNG"),
        (b"\xff\xd8\xff<script>alert(1)</script>", "not a readable JPEG"),
        (b"", "empty"),
        (PDF[:-7], "cut short"),
        (
            PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /JS (app.alert(1)) >>"),
            "active content (/JS)",
        ),
        (PDF.replace(b"/Type /Catalog", b"/Names << /JavaScript 3 0 R >>"), "(/JavaScript)"),
    ],
)
def test_anything_else_is_refused_naming_the_field(data, message):
    with pytest.raises(InputError, match=r"^letter: ") as exc:
        sniff(data)
    assert message in str(exc.value)


def test_polyglots_with_markup_in_or_after_a_real_image_are_refused():
    with pytest.raises(InputError, match="data after the end of the PNG"):
        sniff(png_bytes() + b"<html><script>alert(1)</script></html>")
    with pytest.raises(InputError, match="markup"):
        sniff(jpeg_bytes(comment=b"<script>alert(1)</script>"))
    with pytest.raises(InputError, match="markup"):
        sniff(jpeg_bytes() + b"<svg onload=alert(1)>")
    with pytest.raises(InputError, match="markup"):
        sniff(PDF.replace(b"trailer", b"<html><body>hi</body></html>\ntrailer"))


def test_a_file_over_the_limit_is_refused_and_so_is_a_pixel_bomb():
    with pytest.raises(InputError, match="larger than 5 MB"):
        sniff(PDF + b"0" * MAX_UPLOAD_BYTES)
    with pytest.raises(InputError, match="too large"):
        sniff(png_bytes((8000, 6000)))


def test_stored_files_get_random_names_private_modes_and_come_back_by_that_name(tmp_path):
    store = UploadStore(tmp_path)
    a = store.save(PDF, "application/pdf")
    b = store.save(PDF, "application/pdf")
    assert a.path != b.path and a.path.startswith("uploads/") and a.path.endswith(".pdf")
    assert a.size == len(PDF) and len(a.sha256) == 64
    assert store.read(a.path) == PDF
    assert stat.S_IMODE(os.stat(tmp_path / "uploads").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / a.path).st_mode) == 0o600
    store.delete(a.path)
    with pytest.raises(NotFound):
        store.read(a.path)


@pytest.mark.parametrize(
    "path",
    ["../secret.key", "uploads/../secret.key", "uploads/x.pdf", "/etc/passwd", "recordings/a.h5"],
)
def test_only_stored_names_are_read_never_a_path_from_outside(tmp_path, path):
    (tmp_path / "secret.key").write_text("s")
    with pytest.raises(NotFound):
        UploadStore(tmp_path).read(path)


def test_the_clients_file_name_is_kept_as_text_only():
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\Users\\ada\\letter.pdf") == "letter.pdf"
    assert display_name("a\x00b\r\nc.pdf") == "abc.pdf"
    assert display_name("") == "letter"
    assert len(display_name("x" * 500)) == 200
