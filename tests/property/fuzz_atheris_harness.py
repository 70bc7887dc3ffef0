"""atheris (libFuzzer) harness: the importers and the intake parser on coverage-guided input.

Run by ``test_fuzz_atheris.py`` in a subprocess: ``python fuzz_atheris_harness.py -runs=N
-seed=1 -max_len=L CORPUS_DIR``. Each input goes to ``import_file`` (as a file, every format
in turn) and to ``parse_intake``; anything but an ``InputError`` with a one-line message is a
crash (libFuzzer stops and exits non-zero, printing the input).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from ashiguard.adapters import importers
    from ashiguard.domain.errors import InputError
    from ashiguard.domain.intake import parse_intake

_DIR = Path(tempfile.mkdtemp(prefix="ashiguard-atheris-"))
_SRC = _DIR / "input.txt"


def _refused_in_one_line(exc: InputError) -> None:
    if not str(exc) or len(str(exc).splitlines()) != 1:
        raise AssertionError(f"not a one-line error: {str(exc)!r}")


def one_input(data: bytes) -> None:
    _SRC.write_bytes(data)
    for fmt in (None, *importers.FORMATS):
        try:
            importers.import_file(_SRC, fmt)
        except InputError as exc:
            _refused_in_one_line(exc)
    try:
        parse_intake(data)
    except InputError as exc:
        _refused_in_one_line(exc)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    try:
        atheris.Fuzz()
    finally:
        _SRC.unlink(missing_ok=True)
        os.rmdir(_DIR)


if __name__ == "__main__":
    main()
