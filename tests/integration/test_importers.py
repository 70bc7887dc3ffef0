"""Importers on the real vendor exports in ../shared/data, values checked against the files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ashiguard.adapters.importers import (
    FORMATS,
    detect_format,
    import_file,
    write_imported,
)
from ashiguard.adapters.recording import open_recording
from ashiguard.domain.errors import InputError

MMHG = 0.133322


@pytest.fixture(scope="module")
def vendor(shared_data):
    return shared_data / "vendor-exports"


def _variant(tmp_path, src, name, edit):
    """A broken copy of a real file, made here (lines edited by ``edit(lines) -> lines``)."""
    raw = src.read_bytes().decode("utf-8-sig")
    nl = "\r\n" if "\r\n" in raw else "\n"
    lines = edit(raw.split(nl))
    out = tmp_path / name
    out.write_text(nl.join(lines), encoding="utf-8")
    return out


def _round_trip(imported, tmp_path):
    out = write_imported(imported, tmp_path / "out.h5")
    return open_recording(out)


# ----------------------------------------------------------------------------- Tekscan


def test_fscan_movie_reads_grid_pitch_period_units_and_sensel_values(vendor, tmp_path):
    r = import_file(vendor / "fscan_testL.asf")
    assert r.source_format == "tekscan"
    assert r.pressure.shape == (205, 60, 21)
    assert r.pitch_mm == pytest.approx(5.08)
    assert r.row_pitch_mm is None
    assert np.diff(r.time) == pytest.approx(np.full(204, 0.032))
    assert (r.units, r.scale_to_kpa) == ("kPa", 1.0)
    assert (r.placement, r.side) == ("foot", "left")  # FrasP01L.fsx
    # "Frame 1" is file line 31; line 81 is its row 49: "B,B,B,0,89,172,238,350,327,..."
    assert np.isnan(r.pressure[0, 49, 0])
    assert r.pressure[0, 49, 4] == 89.0
    assert r.pressure[0, 49, 7] == 350.0
    assert r.pressure[0, 50, 4] == 154.0  # line 82: "B,B,B,59,154,226,..."
    assert r.header["SATURATION_PRESSURE"].startswith("1514.73")
    assert r.started_at == "2017-02-16T11:26:22"
    with _round_trip(r, tmp_path) as rec:
        assert rec.meta.frames == 205
        assert rec.meta.source_format == "tekscan"
        assert rec.meta.source_header["SENSOR_TYPE"] == "FSCAN"
        _, p = rec.read(0, 1)
        assert p[0, 49, 7] == 350.0


def test_iscan_export_keeps_raw_units_and_reads_pitch_in_cm_and_frame_times(vendor):
    r = import_file(vendor / "iscan_test.csv")
    assert r.pressure.shape == (309, 28, 28)
    assert r.pitch_mm == pytest.approx(1.27)
    assert (r.units, r.source_units, r.scale_to_kpa) == ("raw", "raw", None)
    assert r.placement == "other"
    assert r.time[1] == pytest.approx(0.1)  # "Frame 2, 0.1,, ..."
    assert r.time[-1] == pytest.approx(31.1)  # "Frame 309, 31.1,, ...": frames are not even
    # line 31: frame 1, row 2: "B,B,5,0,0,..."
    assert r.pressure[0, 2, 2] == 5.0
    assert np.isnan(r.pressure[0, 0, 0])


@pytest.mark.parametrize(
    ("name", "edit", "match"),
    [
        ("trunc.asf", lambda ls: ls[:5000], r"line 5000: frame 81 has \d+ of 60 rows"),
        (
            "ragged.asf",
            lambda ls: [*ls[:80], ls[80].rsplit(",", 1)[0], *ls[81:]],
            "line 81: expected 21 values, got 20",
        ),
        (
            "units.asf",
            lambda ls: [("UNITS Furlongs" if x.startswith("UNITS") else x) for x in ls],
            r"line 26: pressure unit 'Furlongs' not supported",
        ),
        (
            "cut.asf",
            lambda ls: ls[: ls.index("Frame 205")],
            r"line 12677: file ends without the closing @@",
        ),
        ("empty.asf", lambda ls: [""], "file is empty"),
        (
            "noval.asf",
            lambda ls: [*ls[:80], ls[80].replace("350", "3x0"), *ls[81:]],
            r"line 81: sensel value: '3x0' is not a number",
        ),
    ],
)
def test_broken_tekscan_variants_are_refused_with_the_line(vendor, tmp_path, name, edit, match):
    bad = _variant(tmp_path, vendor / "fscan_testL.asf", name, edit)
    with pytest.raises(InputError, match=match):
        import_file(bad, "tekscan" if name == "empty.asf" else None)


# ----------------------------------------------------------------------------- XSENSOR


def test_xsensor_export_converts_mmhg_and_reads_sensel_size_and_clock(vendor, tmp_path):
    r = import_file(vendor / "xsensor_data.csv")
    assert r.source_format == "xsensor"
    assert r.pressure.shape == (101, 31, 11)
    assert r.pitch_mm == pytest.approx(8.6)
    assert (r.source_units, r.scale_to_kpa) == ("mmHg", MMHG)
    assert (r.placement, r.side) == ("foot", "left")
    # line 67: frame 1464 left foot row 1 "0,0,0,0,0,107.87,0,0,174.74,89.9,0"
    assert r.pressure[0, 1, 5] == pytest.approx(107.87 * MMHG, rel=1e-6)
    # the frame's "Peak Pressure (mmHg),2674.44" is sensel row 5, col 9
    assert np.nanmax(r.pressure[0]) == pytest.approx(2674.44 * MMHG, rel=1e-6)
    assert r.time[:3] == pytest.approx([0.0, 0.013, 0.026])  # 08:21:17.982, .995, 18.008
    assert r.started_at == "2022-08-16T08:21:17.982"
    right = import_file(vendor / "xsensor_data.csv", side="right")
    assert right.side == "right"
    assert right.header["sensor"].endswith("RF S0073")
    with _round_trip(r, tmp_path) as rec:
        assert rec.meta.placement == "foot"


def test_broken_xsensor_variants_are_refused_with_the_line(vendor, tmp_path):
    ragged = _variant(
        tmp_path, vendor / "xsensor_data.csv", "r.csv", lambda ls: [*ls[:66], "0,0,1", *ls[67:]]
    )
    with pytest.raises(InputError, match="line 67: expected 11 values, got 3"):
        import_file(ragged)
    units = _variant(
        tmp_path,
        vendor / "xsensor_data.csv",
        "u.csv",
        lambda ls: [("Units:,bar" if x.startswith("Units:") else x) for x in ls],
    )
    with pytest.raises(InputError, match="line 3: pressure unit 'bar' not supported"):
        import_file(units)
    trunc = _variant(tmp_path, vendor / "xsensor_data.csv", "t.csv", lambda ls: ls[:80])
    with pytest.raises(InputError, match=r"line 80: sensor .*-LF S0073: 8 of 31 rows"):
        import_file(trunc)


# ----------------------------------------------------------------------------- pliance


def test_pliance_sensors_by_number_become_a_grid_whose_load_matches_the_force_table(vendor):
    r = import_file(vendor / "pliance_test.asc")
    assert r.source_format == "pliance"
    assert r.pressure.shape == (281, 29, 28)  # sensors 4..896: 28 columns of 29
    assert (r.pitch_mm, r.row_pitch_mm) == (5.28, 10.28)  # x[c] / y[c] spacing in cm
    assert r.time[0] == pytest.approx(5.79167)
    assert np.diff(r.time) == pytest.approx(np.full(280, 1 / 24), abs=1e-5)
    assert not np.isnan(r.pressure).any()
    # the file's force table: "6.00000   54.097" N; area of each sensor 0.5428 cm2
    k = int(np.argmin(np.abs(r.time - 6.0)))
    assert np.sum(r.pressure[k]) * 0.5428e-4 * 1e3 == pytest.approx(54.097, abs=0.01)
    assert r.header["mat type"] == "s2160_001"


def test_broken_pliance_variants_are_refused_with_the_line(vendor, tmp_path):
    ragged = _variant(
        tmp_path, vendor / "pliance_test.asc", "r.asc", lambda ls: [*ls[:20], ls[20][:-8], *ls[21:]]
    )
    with pytest.raises(InputError, match="line 21: expected 813 values, got 812"):
        import_file(ragged)
    trunc = _variant(tmp_path, vendor / "pliance_test.asc", "t.asc", lambda ls: ls[:700])
    with pytest.raises(InputError, match=r"line 700: sensor geometry line 'sensor' missing"):
        import_file(trunc)
    units = _variant(
        tmp_path,
        vendor / "pliance_test.asc",
        "u.asc",
        lambda ls: [x.replace("pressure values in kPa", "pressure values in hPa") for x in ls],
    )
    with pytest.raises(InputError, match="line 4: pressure unit 'hPa' not supported"):
        import_file(units)


# ----------------------------------------------------------------------------- pedar


def test_pedar_export_becomes_two_insoles_of_99_sensors(vendor, tmp_path):
    r = import_file(vendor / "pedar_example.asc")
    assert r.pressure is None
    assert set(r.insoles) == {"left", "right"}
    left = r.insoles["left"]
    assert left.pressure.shape == (1505, 99)
    assert left.sensor_ids == tuple(range(1, 100))
    assert np.diff(left.time) == pytest.approx(np.full(1504, 0.01))
    # line 20: "0.10000  32.500  45.000  45.000  25.000 ..." (left sensors 1, 2)
    assert left.time[9] == pytest.approx(0.1)
    assert left.pressure[9, :2].tolist() == [32.5, 45.0]
    assert np.isnan(left.force).all()  # no sensor areas in the export
    with _round_trip(r, tmp_path) as rec:
        assert rec.meta.insoles == ("left", "right")
        assert rec.meta.frames == 0
        ins = rec.insoles()
        assert ins["right"].attrs["sensor_ids"][-1] == 99


def test_broken_pedar_is_refused_with_the_line(vendor, tmp_path):
    ragged = _variant(
        tmp_path, vendor / "pedar_example.asc", "r.asc", lambda ls: [*ls[:30], "1.2 3 4", *ls[31:]]
    )
    with pytest.raises(InputError, match="line 31: expected 199 values, got 3"):
        import_file(ragged)
    back = _variant(
        tmp_path, vendor / "pedar_example.asc", "b.asc", lambda ls: [*ls[:30], ls[12], *ls[31:]]
    )
    with pytest.raises(InputError, match=r"line 31: time 0.03 s not after 0.2 s"):
        import_file(back)


# ----------------------------------------------------------------------------- Moticon


def test_moticon_export_becomes_two_insoles_in_kpa_with_force_and_cop(shared_data, tmp_path):
    r = import_file(shared_data / "moticon" / "230927_102114.txt")
    assert r.source_format == "moticon"
    assert r.scale_to_kpa == 10.0
    left, right = r.insoles["left"], r.insoles["right"]
    assert left.pressure.shape == (1687, 16)  # the left insole starts at 0.50 s
    assert right.pressure.shape == (1737, 16)
    assert left.time[0] == pytest.approx(0.5)
    # line 70: t 0.60, left pressure 1 = 6.75 N/cm2, left force 408 N, right p1 6.00, force 392
    i = int(np.argmin(np.abs(left.time - 0.6)))
    assert left.pressure[i, 0] == pytest.approx(67.5)
    assert left.force[i] == 408.0
    j = int(np.argmin(np.abs(right.time - 0.6)))
    assert right.pressure[j, 0] == pytest.approx(60.0)
    assert right.force[j] == 392.0
    assert left.cop_norm.shape == (1687, 2)
    assert r.started_at == "2023-09-27T10:21:14.922"
    with _round_trip(r, tmp_path) as rec:
        assert rec.meta.insoles == ("left", "right")
        assert rec.summary()["insoles"]["left"]["rate_hz"] == pytest.approx(100.0)


def test_broken_moticon_is_refused_with_the_line(shared_data, tmp_path):
    src = shared_data / "moticon" / "230927_102114.txt"
    ragged = _variant(tmp_path, src, "r.txt", lambda ls: [*ls[:40], ls[40] + "\t1", *ls[41:]])
    with pytest.raises(InputError, match="line 41: expected 53 tab-separated fields, got 54"):
        import_file(ragged)
    units = _variant(
        tmp_path, src, "u.txt", lambda ls: [*ls[:8], ls[8].replace("N/cm²", "g"), *ls[9:]]
    )
    with pytest.raises(InputError, match="line 9: pressure unit 'g' not supported"):
        import_file(units)


# ----------------------------------------------------------------------------- PoPu


def test_popu_tactilus_snapshots_are_under_client_frames_in_kpa(shared_data, tmp_path):
    path = shared_data / "popu" / "tactilus" / "prone1_0.json"
    r = import_file(path)
    raw = json.loads(path.read_text())
    assert r.pressure.shape == (10, 64, 27)
    assert (r.placement, r.source_units, r.pitch_mm) == ("under_client", "mmHg", 25.4)
    first = np.asarray(raw["snapshots"]["0"]["tactilus_readings"], dtype=float).reshape(64, 27)
    np.testing.assert_allclose(r.pressure[0], first * MMHG, rtol=1e-6)
    assert np.nanmax(r.pressure[0]) == pytest.approx(104 * MMHG, rel=1e-6)
    # snapshot ids 200410352192 -> 35:21.92, 200410352244 -> 35:22.44
    assert r.time[:2] == pytest.approx([0.0, 0.52])
    assert r.client == {"height_cm": 190.0, "weight_kg": 96.0}
    assert r.started_at == "2020-04-10"
    with _round_trip(r, tmp_path) as rec:
        assert rec.meta.origin_mm is None
        assert rec.meta.client["weight_kg"] == 96.0
        assert rec.meta.placement == "under_client"


def test_popu_sensomatt_is_kept_in_raw_units(shared_data):
    r = import_file(shared_data / "popu" / "sensomatt" / "empty1.json")
    assert r.pressure.shape == (10, 12, 6)
    assert (r.units, r.scale_to_kpa) == ("raw", None)
    assert r.pressure[0].min() == 479.0  # an empty bed reads about 480 everywhere


def test_broken_popu_files_are_refused_naming_the_field(shared_data, tmp_path):
    raw = json.loads((shared_data / "popu" / "tactilus" / "prone1_0.json").read_text())
    raw["snapshots"]["3"]["tactilus_readings"] = raw["snapshots"]["3"]["tactilus_readings"][:-5]
    bad = tmp_path / "short.json"
    bad.write_text(json.dumps(raw, indent=1))
    with pytest.raises(InputError, match=r"snapshots.3.tactilus_readings: 1723 values"):
        import_file(bad)
    cut = tmp_path / "cut.json"
    cut.write_text((shared_data / "popu" / "tactilus" / "prone1_0.json").read_text()[:3000])
    with pytest.raises(InputError, match="line 1: not valid JSON"):
        import_file(cut)


# ----------------------------------------------------------------------------- detection


def test_every_real_file_is_detected_from_its_content_not_its_name(shared_data, tmp_path):
    cases = {
        "vendor-exports/fscan_testL.asf": "tekscan",
        "vendor-exports/iscan_test.csv": "tekscan",
        "vendor-exports/xsensor_data.csv": "xsensor",
        "vendor-exports/pliance_test.asc": "pliance",
        "vendor-exports/pedar_example.asc": "pedar",
        "moticon/230927_102137.txt": "moticon",
        "popu/tactilus/prone2_1.json": "popu",
    }
    for rel, fmt in cases.items():
        text = (shared_data / rel).read_bytes()[:8192].decode("utf-8-sig", errors="replace")
        assert detect_format(text) == fmt, rel
        renamed = tmp_path / "export.dat"
        renamed.write_bytes((shared_data / rel).read_bytes())
        assert import_file(renamed).source_format == fmt
    assert set(FORMATS) == set(cases.values()) | {"emed"}  # emed: recognised, refused


def test_unknown_formats_and_bad_options_are_refused(tmp_path, vendor):
    other = tmp_path / "notes.txt"
    other.write_text("just some text\n1,2,3\n")
    with pytest.raises(InputError, match=r"notes\.txt: unknown export format"):
        import_file(other)
    with pytest.raises(InputError, match="--format: 'bmp' is not one of"):
        import_file(vendor / "fscan_testL.asf", "bmp")
    with pytest.raises(InputError, match="--side does not apply to pedar"):
        import_file(vendor / "pedar_example.asc", side="left")
    with pytest.raises(InputError, match=r"fscan_testL\.asf: line 1: not valid JSON"):
        import_file(vendor / "fscan_testL.asf", "popu")


# ----------------------------------------------------------------------------- every format

REAL = {
    "tekscan": "vendor-exports/fscan_testL.asf",
    "xsensor": "vendor-exports/xsensor_data.csv",
    "pliance": "vendor-exports/pliance_test.asc",
    "pedar": "vendor-exports/pedar_example.asc",
    "moticon": "moticon/230927_102114.txt",
    "popu": "popu/tactilus/prone1_0.json",
}


@pytest.mark.parametrize("fmt", sorted(REAL))
def test_an_empty_file_is_refused_for_every_format(tmp_path, fmt):
    empty = tmp_path / f"empty.{fmt}"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match=rf"empty\.{fmt}: file is empty"):
        import_file(empty, fmt)


@pytest.mark.parametrize(
    ("fmt", "keep", "match"),
    [
        ("pedar", 900, r"line 900: data ends at 8.9 s but the header says 15.050 s"),
        ("moticon", 1000, r"line 1000: data ends at 9.9 s but Duration says 17.496 s"),
        ("tekscan", 12000, r"line 12000: frame 194 has 3 of 60 rows"),
        ("xsensor", 30000, r"line 29997: FRAME has no grid for sensor .*-LF S0073, .*-RF S0073"),
    ],
)
def test_files_cut_after_a_whole_line_are_refused_as_truncated(
    shared_data, tmp_path, fmt, keep, match
):
    cut = _variant(tmp_path, shared_data / REAL[fmt], f"cut.{fmt}", lambda ls: ls[:keep])
    with pytest.raises(InputError, match=match):
        import_file(cut)
