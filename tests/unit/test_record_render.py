"""The client record's page layout: blocks flow over A4 pages, numbered, none lost."""

from __future__ import annotations

import re

from pypdf import PdfReader

from ashiguard.adapters.record_render import RecordBlock, write_record_pdf


def test_long_records_flow_over_numbered_a4_pages_and_keep_every_line(tmp_path):
    blocks = [RecordBlock(heading="Treatment sessions (40)", level=1)]
    for i in range(40):
        blocks.append(
            RecordBlock(
                heading=f"Session {i}",
                lines=[("Therapist", "Mia"), ("Notes", f"note-{i} " + "word " * 60)],
                image_note="No recording: no pressure map.",
            )
        )
    blocks.append(RecordBlock(heading="Very long notes", lines=[("", "line\n" * 200 + "END")]))
    out = write_record_pdf(
        blocks,
        tmp_path / "r.pdf",
        title="Client record: A",
        subtitle="Clinic",
        footer="Clinic · client record of A",
        author="Clinic",
    )
    pages = PdfReader(out).pages
    n = len(pages)
    assert n >= 8
    text = ""
    for i, page in enumerate(pages, start=1):
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(w), round(h)) == (595, 842)  # A4 portrait, pt
        t = page.extract_text()
        assert f"page {i} of {n}" in t and "Clinic · client record of A" in t
        text += t
    found = [int(m) for m in re.findall(r"note-(\d+)", text)]
    assert found == list(range(40))  # every session, in order
    assert text.count("line") == 200 and "END" in text
