"""The recording and importer modules' public constants and refusals."""

from __future__ import annotations

import pytest


def test_every_format_converts_its_stated_units():
    from ashiguard.adapters.importers import KPA_PER_UNIT

    assert KPA_PER_UNIT["mmhg"] == pytest.approx(101.325 / 760, rel=1e-5)
    assert KPA_PER_UNIT["psi"] == pytest.approx(6.894757, rel=1e-6)
    assert KPA_PER_UNIT["n/cm2"] == 10.0
    assert KPA_PER_UNIT["raw"] is None


def test_writer_refuses_a_path_it_cannot_create(tmp_path):
    from ashiguard.adapters.recording import RecordingWriter
    from ashiguard.domain.errors import InputError

    with pytest.raises(InputError, match="cannot create recording"):
        RecordingWriter(tmp_path / "no" / "dir" / "r.h5", rows=2, cols=2, pitch_mm=5.0)
