"""Fuzzing every importer with mutations of the real vendor files (issue 16).

Each mutated export must end in a successful import or one :class:`InputError` with a
one-line message, never another exception; an import that fails leaves nothing at the output
path. Mutations: truncation, flipped bytes, inserted cells, numbers replaced by huge numbers
or NaN/inf text, deleted and repeated lines, header values replaced, other encodings and line
ends. Budget: ``MAX_EXAMPLES`` per file, derandomized.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ashiguard.adapters.importers import import_file, write_imported
from ashiguard.domain.errors import InputError

MAX_EXAMPLES = 100
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

VENDOR_FILES = [
    "vendor-exports/fscan_testL.asf",
    "vendor-exports/iscan_test.csv",
    "vendor-exports/xsensor_data.csv",
    "vendor-exports/pliance_test.asc",
    "vendor-exports/pedar_example.asc",
    "moticon/230927_102114.txt",
    "popu/tactilus/prone1_0.json",
    "popu/sensomatt/prone1_0.json",
]

HOSTILE_NUMBERS = [
    b"1e309",
    b"-1e309",
    b"NaN",
    b"nan",
    b"inf",
    b"-Infinity",
    b"1e38",
    b"-1e38",
    b"3.4e39",
    b"99999999999999999999999999",
    b"4294967297",
    b"100000",
    b"-1",
    b"0",
    b"",
    b"0x1F",
    b"1_000",
    b"\xef\xbc\x91\xef\xbc\x92",  # fullwidth digits
    b"1e-400",
]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")

_cache: dict[str, bytes] = {}


def _original(shared_data: Path, name: str) -> bytes:
    if name not in _cache:
        _cache[name] = (shared_data / name).read_bytes()
    return _cache[name]


KINDS = [
    "truncate",
    "flip",
    "insert_cell",
    "number",
    "header_number",
    "delete_line",
    "repeat_line",
    "encoding",
]
ENCODINGS = ["bom", "crlf", "cr", "utf-16", "nul_tail", "latin-1"]

# one edit: (kind, position as a fraction of the file, a value: index into a table or a byte)
edits = st.lists(
    st.tuples(st.sampled_from(KINDS), st.floats(0, 1), st.integers(0, 255)),
    min_size=1,
    max_size=3,
)


def mutate(data: bytes, plan: list[tuple[str, float, int]]) -> bytes:
    """``data`` with the edits of ``plan`` applied in order."""
    for kind, where, value in plan:
        n = len(data)
        pos = min(int(where * n), max(n - 1, 0))
        if kind == "truncate":
            data = data[:pos]
        elif kind == "flip" and n:
            data = data[:pos] + bytes([data[pos] ^ (value or 1)]) + data[pos + 1 :]
        elif kind == "insert_cell":
            sep = data.find(b",", pos)
            sep = sep if sep >= 0 else data.find(b"\t", pos)
            if sep >= 0:
                cell = HOSTILE_NUMBERS[value % 8] if value % 9 else b"7"
                data = data[:sep] + data[sep : sep + 1] + cell + data[sep:]
        elif kind in ("number", "header_number"):
            start = pos if kind == "number" else int(where * min(n, 3000))
            m = _NUMBER.search(data, start)
            if m:
                hostile = HOSTILE_NUMBERS[value % len(HOSTILE_NUMBERS)]
                data = data[: m.start()] + hostile + data[m.end() :]
        elif kind in ("delete_line", "repeat_line"):
            lines = data.split(b"\n")
            k = min(int(where * len(lines)), len(lines) - 1)
            lines[k : k + 1] = [] if kind == "delete_line" else [lines[k], lines[k]]
            data = b"\n".join(lines)
        elif kind == "encoding":
            enc = ENCODINGS[value % len(ENCODINGS)]
            if enc == "bom":
                data = b"\xef\xbb\xbf" + data
            elif enc == "crlf":
                data = data.replace(b"\n", b"\r\n")
            elif enc == "cr":
                data = data.replace(b"\n", b"\r")
            elif enc == "utf-16":
                data = data.decode("utf-8", "replace").encode("utf-16")
            elif enc == "nul_tail":
                data = data + b"\x00" * 16
            else:
                data = data.replace(b"kPa", "kPä".encode("latin-1"))
    return data


def _one_line(exc: InputError) -> str:
    msg = str(exc)
    assert msg and len(msg.splitlines()) == 1, repr(msg)
    assert "Traceback" not in msg
    return msg


def import_or_refuse(data: bytes, name: str, workdir: Path) -> str | None:
    """Import ``data`` and write it; returns the error message or None. Anything but an
    InputError fails the test; a failed write leaves nothing at the output path."""
    src = workdir / name
    src.write_bytes(data)
    out = workdir / "out.h5"
    out.unlink(missing_ok=True)
    try:
        imported = import_file(src)
        write_imported(imported, out)
    except InputError as exc:
        assert not out.exists(), f"a failed import left {out.name}"
        return _one_line(exc)
    assert out.exists()
    return None


@pytest.mark.parametrize("name", VENDOR_FILES)
def test_a_mutated_vendor_export_imports_or_is_refused_in_one_line(shared_data, name):
    original = _original(shared_data, name)
    base = Path(name).name

    @FUZZ
    @given(plan=edits)
    def attack(plan: list[tuple[str, float, int]]) -> None:
        with tempfile.TemporaryDirectory() as d:
            import_or_refuse(mutate(original, plan), base, Path(d))

    attack()


# --------------------------------------------------------------- generated text, any format

FORMAT_HEADS = [
    "DATA_TYPE MOVIE\nROWS 2\nCOLS 2\n",
    "Units:,kPa\nFRAME,1\nSENSOR,x\n",
    "file name:\tx.asc\nmat type\tpliance\n",
    "file name:\tx.asc\nsensor type:\tinsole\n",
    "# time\tleft pressure 1[N/cm²]\n",
    '{"tactilus_rows": 2, "tactilus_columns": 2, "snapshots": ',
    "",
]


@FUZZ
@given(
    head=st.sampled_from(FORMAT_HEADS),
    body=st.text(
        alphabet=st.sampled_from(list('0123456789.,-eE \t\n:;[]{}"BNaIinf@FrmeROWSCL')),
        max_size=400,
    )
    | st.text(max_size=200),
)
def test_generated_text_after_each_formats_header_imports_or_is_refused_in_one_line(head, body):
    with tempfile.TemporaryDirectory() as d:
        import_or_refuse((head + body).encode("utf-8", "surrogatepass"), "gen.txt", Path(d))


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_are_refused_in_one_line(data):
    with tempfile.TemporaryDirectory() as d:
        import_or_refuse(data, "bytes.bin", Path(d))


# ------------------------------------------------ declared sizes refused before allocation


def _replace_line(data: bytes, key: bytes, line: bytes) -> bytes:
    out = re.sub(rb"(?m)^" + re.escape(key) + rb".*$", line, data, count=1)
    assert out != data, key
    return out


def _peak_mib(fn) -> tuple[str | None, float]:
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            fn()
            msg = None
        except InputError as exc:
            msg = _one_line(exc)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return msg, peak


HUGE_DECLARATIONS = [
    ("vendor-exports/fscan_testL.asf", b"ROWS", b"ROWS 100000", "grid 100000 x 21"),
    ("vendor-exports/fscan_testL.asf", b"COLS", b"COLS 100000", "grid 60 x 100000"),
    ("vendor-exports/fscan_testL.asf", b"END_FRAME", b"END_FRAME 4000000000", "frames of 60"),
    ("vendor-exports/xsensor_data.csv", b"Rows,", b"Rows,100000", "grid 100000 x 11"),
    ("vendor-exports/xsensor_data.csv", b"Columns,", b"Columns,100000", "grid 31 x 100000"),
]


@pytest.mark.parametrize(("name", "key", "line", "said"), HUGE_DECLARATIONS)
def test_a_huge_declared_size_is_refused_before_anything_is_allocated(
    shared_data, tmp_path, name, key, line, said
):
    src = tmp_path / Path(name).name
    src.write_bytes(_replace_line(_original(shared_data, name), key, line))
    msg, peak = _peak_mib(lambda: import_file(src))
    assert msg is not None and said in msg and "line" in msg, msg
    assert peak < 64, f"{peak:.0f} MiB allocated before the refusal"


def test_a_popu_mat_declaring_100000_by_100000_sensels_is_refused_before_allocation(tmp_path):
    import json

    src = tmp_path / "huge.json"
    snapshots = {"0": {"id": "1", "tactilus_readings": [0, 0]}}
    src.write_text(
        json.dumps({"tactilus_rows": 100000, "tactilus_columns": 100000, "snapshots": snapshots})
    )
    msg, peak = _peak_mib(lambda: import_file(src))
    assert msg is not None and "grid 100000 x 100000" in msg, msg
    assert peak < 64


def test_a_moticon_file_with_many_columns_and_blank_lines_allocates_only_its_samples(
    shared_data, tmp_path
):
    text = _original(shared_data, "moticon/230927_102114.txt").decode()
    head, _, _ = text.partition("\n0.")
    src = tmp_path / "wide.txt"
    # 200,000 blank lines once reserved a row each, times every column, before reading
    src.write_text(head.rstrip("\n") + "\t" + "\t".join(["x"] * 20000) + "\n" * 200_000)
    msg, peak = _peak_mib(lambda: import_file(src))
    assert msg is not None, "imported a file without samples"
    assert peak < 64, f"{peak:.0f} MiB allocated for a file without samples"


@pytest.mark.parametrize(
    ("name", "find", "put", "said"),
    [
        ("vendor-exports/fscan_testL.asf", b"Frame 2", b"Frame 2, nan", "frame time 'nan'"),
        ("vendor-exports/fscan_testL.asf", b"Frame 3", b"Frame 3, inf", "frame time 'inf'"),
        ("vendor-exports/iscan_test.csv", b"B,B,5,", b"B,B,1e39,", "value 1e+39"),
        ("vendor-exports/pliance_test.asc", b"   0.000   0.000", b"   0.000   4e38", "value 4e+38"),
        ("vendor-exports/xsensor_data.csv", b"\n0,", b"\n-1e309,", "value -inf"),
    ],
)
def test_nan_inf_and_numbers_beyond_float32_are_refused_naming_where(
    shared_data, tmp_path, name, find, put, said
):
    data = _original(shared_data, name)
    assert find in data
    msg = import_or_refuse(data.replace(find, put, 1), Path(name).name, tmp_path)
    assert msg is not None and said in msg, msg


# ------------------------------------------------------------------------------- the CLI


def test_the_cli_refuses_a_broken_export_with_one_line_exit_2_and_leaves_no_recording(
    shared_data, tmp_path, run_cli
):
    data = _original(shared_data, "vendor-exports/fscan_testL.asf")
    src = tmp_path / "broken.asf"
    src.write_bytes(data.replace(b"Frame 3", b"Frame 3, 1e999", 1))
    out = tmp_path / "out.h5"
    r = run_cli("import", str(src), "-o", str(out))
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("ashiguard: error: broken.asf: line ")
    assert list(tmp_path.iterdir()) == [src], "a failed import left files behind"


def test_a_failed_import_leaves_an_earlier_recording_at_the_output_path_untouched(
    shared_data, tmp_path
):
    good = tmp_path / "good.asf"
    good.write_bytes(_original(shared_data, "vendor-exports/fscan_testL.asf"))
    out = tmp_path / "out.h5"
    write_imported(import_file(good), out)
    before = out.read_bytes()
    imported = import_file(good)
    imported.time[5] = imported.time[4]  # the writer refuses time that does not increase
    with pytest.raises(InputError) as err:
        write_imported(imported, out)
    assert "out.h5" in str(err.value) and ".importing" not in str(err.value)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.asf", "out.h5"]


@pytest.mark.parametrize("name", VENDOR_FILES)
def test_the_cli_refuses_each_formats_truncated_export_in_one_line(
    shared_data, tmp_path, run_cli, name
):
    data = _original(shared_data, name)
    cut = len(data) // 2
    if name.endswith("xsensor_data.csv"):  # not in the GROUP statistics (never imported)
        cut = data.find(b"SENSELS", data.rfind(b"\nSENSOR,", 0, cut)) + 60
    src = tmp_path / Path(name).name
    src.write_bytes(data[:cut])
    out = tmp_path / "out.h5"
    r = run_cli("import", str(src), "-o", str(out))
    assert r.returncode == 2, (name, r.returncode, r.stderr[-500:])
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"ashiguard: error: {src.name}"), r.stderr
    assert sorted(tmp_path.iterdir()) == [src], "the failed import left files behind"
