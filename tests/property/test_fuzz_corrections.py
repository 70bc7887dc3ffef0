"""Calibration files and stored correction attrs are hostile input too (issues 14, 16): a
calibration file ends in a calibration or one InputError line; a recording whose fault,
tare or drift attrs are damaged is refused by ``info`` in one line, never a traceback."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ashiguard.adapters.recording import RecordingWriter, open_recording
from ashiguard.domain.errors import InputError
from ashiguard.domain.zeroing import parse_calibration

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

_PIECES = st.sampled_from(
    [
        '{"schema": "ashiguard.calibration/1", ',
        '"kpa_per_count": ',
        "0.5",
        "-1",
        "1e999",
        "NaN",
        "[[1, 2, 3], [4, 5, 6]]",
        "[[1]]",
        '"x"',
        "}",
        "row,col,kpa_per_count\n",
        "*,*,0.1\n",
        "0,0,2\n",
        "1,2,nan\n",
        "9,9,1\n",
        "a,b,c\n",
        ",,,\n",
        "\ufeff",
        "\x00",
    ]
)


@FUZZ
@given(st.lists(_PIECES, max_size=8).map("".join) | st.text(max_size=200))
def test_a_calibration_file_is_read_or_refused_in_one_line(text):
    try:
        cal = parse_calibration(text, "cal", 2, 3)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("cal")
    else:
        assert cal.kpa_per_count.shape == (2, 3)
        assert np.isfinite(cal.kpa_per_count).all() and (cal.kpa_per_count > 0).all()


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("sensel_faults", "not json"),
        ("sensel_faults", '[{"row": 99, "col": 0, "kind": "dead", "value": 0}]'),
        ("sensel_faults", '[{"row": 0, "col": 0, "kind": "dead", "value": "x"}]'),
        ("tare_window_s", "[1, 2, 3]"),
        ("tare_window_s", "nope"),
        ("calibration", "[1]"),
        ("drift_corrected", "{"),
    ],
)
def test_info_refuses_a_recording_with_damaged_correction_attrs_in_one_line(
    tmp_path, run_cli, attr, value
):
    path = tmp_path / "r.h5"
    with RecordingWriter(path, rows=3, cols=3, pitch_mm=5.0, placement="other") as w:
        w.append(np.arange(60) * 0.01, np.zeros((60, 3, 3), dtype=np.float32))
    with h5py.File(path, "r+") as f:
        f["mat"].attrs[attr] = value
    done = run_cli("info", str(path))
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1 and "/mat" in done.stderr
    with open_recording(path) as rec, pytest.raises(InputError):
        rec.summary()
