"""The public names of the recording and importer modules: sorted, complete, importable."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "ashiguard.adapters.recording",
    "ashiguard.adapters.importers",
    "ashiguard.adapters.importers.tekscan",
    "ashiguard.adapters.importers.xsensor",
    "ashiguard.adapters.importers.novel",
    "ashiguard.adapters.importers.moticon",
    "ashiguard.adapters.importers.popu",
    "ashiguard.bench.recording",
]


def _kind(name: str) -> int:
    if name.isupper():
        return 0
    return 1 if name[0].isupper() else 2


@pytest.mark.parametrize("name", MODULES)
def test_module_all_is_sorted_and_every_name_exists(name):
    module = importlib.import_module(name)
    # isort style, as ruff RUF022 keeps it: CONSTANTS, then Classes, then functions
    assert module.__all__ == sorted(module.__all__, key=lambda n: (_kind(n), n))
    for export in module.__all__:
        assert hasattr(module, export), f"{name}.{export}"


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
