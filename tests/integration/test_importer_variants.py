"""Vendor variants of the real exports (issue 14): columns read by their header name, extra
columns kept as aux channels or annotations, pliance's force table imported."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ashiguard.adapters.importers import import_file, write_imported
from ashiguard.adapters.recording import open_recording


def _moticon_table(shared_data):
    text = (shared_data / "moticon" / "230927_102114.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    k = next(i for i, line in enumerate(lines) if line.startswith("# time"))
    names = lines[k][2:].split("\t")
    rows = [line.split("\t") for line in lines[k + 1 :] if line.strip()]
    return lines[:k], names, rows


def _write_moticon(path, head, names, rows):
    body = ["\t".join(r) for r in rows]
    path.write_text("\n".join([*head, "# " + "\t".join(names), *body]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def rich_moticon(shared_data, tmp_path):
    """The shared Moticon file with the columns a richer export carries, inserted here:
    event labels as text, per-insole events, total force, centre of pressure, COP velocity."""
    head, names, rows = _moticon_table(shared_data)
    extra = [
        "event label",
        "left events",
        "total force[N]",
        "center of pressure X[mm]",
        "center of pressure Y[mm]",
        "COP velocity[mm/s]",
    ]
    out = []
    for n, r in enumerate(rows):
        label = "heel strike" if n == 100 else ("toe off" if n == 150 else "")
        left_event = "L contact" if n == 120 else ""
        out.append([*r[:1], label, *r[1:26], left_event, *r[26:], "912.5", "1,5", "-2.25", "30"])
    names = [*names[:1], extra[0], *names[1:26], extra[1], *names[26:], *extra[2:]]
    return _write_moticon(tmp_path / "rich.txt", head, names, out)


def test_a_moticon_export_with_text_events_and_more_columns_imports(
    shared_data, rich_moticon, tmp_path
):
    plain = import_file(shared_data / "moticon" / "230927_102114.txt")
    r = import_file(rich_moticon)
    for side in ("left", "right"):
        np.testing.assert_array_equal(r.insoles[side].pressure, plain.insoles[side].pressure)
        np.testing.assert_array_equal(r.insoles[side].force, plain.insoles[side].force)
    texts = [(a["column"], a["text"]) for a in r.annotations]
    assert texts == [
        ("event label", "heel strike"),
        ("left events", "L contact"),
        ("event label", "toe off"),
    ]
    assert r.annotations[0]["t"] == pytest.approx(1.0)
    extras = r.aux["extras"]
    assert extras.columns == (
        "right steps",
        "left steps",
        "total force",
        "center of pressure X",
        "center of pressure Y",
        "COP velocity",
    )
    assert extras.units == ("", "", "N", "mm", "mm", "mm/s")
    assert extras.values[0, 2:].tolist() == [912.5, 1.5, -2.25, 30.0]  # "1,5": decimal comma
    with open_recording(write_imported(r, tmp_path / "rich.h5")) as rec:
        assert [a["text"] for a in rec.annotations()] == ["heel strike", "L contact", "toe off"]
        assert set(rec.aux()) == {"extras", "left_imu", "right_imu"}
        summary = rec.summary()
    assert summary["annotations"] == 3
    assert "COP velocity [mm/s]" in summary["aux"]["extras"]["columns"]


def test_moticon_imu_is_kept_per_foot_with_its_units(shared_data):
    r = import_file(shared_data / "moticon" / "230927_102114.txt")
    imu = r.aux["left_imu"]
    assert imu.columns == (
        "left acceleration X",
        "left acceleration Y",
        "left acceleration Z",
        "left angular X",
        "left angular Y",
        "left angular Z",
    )
    assert imu.units == ("g", "g", "g", "dps", "dps", "dps")
    np.testing.assert_array_equal(imu.time, r.insoles["left"].time)
    # acceleration Z of a standing foot is about 1 g
    assert np.nanmedian(imu.values[:, 2]) == pytest.approx(1.0, abs=0.2)


def test_moticon_columns_in_another_order_give_the_same_insoles(shared_data, tmp_path):
    head, names, rows = _moticon_table(shared_data)
    order = list(reversed(range(len(names))))
    shuffled = _write_moticon(
        tmp_path / "o.txt", head, [names[k] for k in order], [[r[k] for k in order] for r in rows]
    )
    a = import_file(shared_data / "moticon" / "230927_102114.txt")
    b = import_file(shuffled)
    for side in ("left", "right"):
        np.testing.assert_array_equal(a.insoles[side].pressure, b.insoles[side].pressure)
        np.testing.assert_array_equal(a.insoles[side].cop_norm, b.insoles[side].cop_norm)
        assert a.insoles[side].sensor_ids == b.insoles[side].sensor_ids


def test_moticon_without_imu_force_and_cop_columns_imports_pressures_alone(shared_data, tmp_path):
    head, names, rows = _moticon_table(shared_data)
    keep = [
        k for k, n in enumerate(names) if n == "time" or re.match(r"(left|right) pressure \d", n)
    ]
    bare = _write_moticon(
        tmp_path / "b.txt", head, [names[k] for k in keep], [[r[k] for k in keep] for r in rows]
    )
    r = import_file(bare)
    assert r.insoles["left"].pressure.shape == (1687, 16)
    assert np.isnan(r.insoles["left"].force).all()
    assert r.insoles["left"].cop_norm is None
    assert r.aux == {}


def test_pliance_force_table_is_kept_as_an_aux_channel_in_n_and_mm(shared_data, tmp_path):
    r = import_file(shared_data / "vendor-exports" / "pliance_test.asc")
    ch = r.aux["force_cop"]
    assert ch.columns == ("force", "cop x", "cop y")
    assert ch.units == ("N", "mm", "mm")
    assert ch.time.shape == (1067,)
    i = int(np.searchsorted(ch.time, 6.0))
    # the file's force table: "6.00000   54.097   6.065  25.568" (N, cm, cm)
    assert ch.values[i].tolist() == pytest.approx([54.097, 60.65, 255.68], rel=1e-5)
    assert np.isnan(ch.values[0, 1])  # "-": no centre of pressure without load
    with open_recording(write_imported(r, tmp_path / "p.h5")) as rec:
        assert rec.aux()["force_cop"].units == ("N", "mm", "mm")


# ----------------------------------------------------------------------------- sensor faults


def test_the_fscan_samples_dead_sensel_is_found_on_import_and_shown_by_info(shared_data, tmp_path):
    r = import_file(shared_data / "vendor-exports" / "fscan_testL.asf")
    # row 17, column 7 reads 0 in all 205 frames while its neighbours reach 101 and 42 kPa
    assert [(f.row, f.col, f.kind) for f in r.sensel_faults] == [(17, 7, "dead")]
    assert r.sensor_max_kpa == pytest.approx(1514.73)  # SATURATION_PRESSURE 1514.73 KPa
    assert any("1 dead sensel(s) at (row, col) [17, 7]" in n for n in r.notes)
    with open_recording(write_imported(r, tmp_path / "f.h5")) as rec:
        assert rec.sensel_faults() == [{"row": 17, "col": 7, "kind": "dead", "value": 0.0}]
        assert rec.summary()["sensel_faults"] == rec.sensel_faults()


def test_the_analysis_treats_a_stuck_saturated_sensel_as_missing_and_reports_it(
    shared_data, tmp_path
):
    from ashiguard.domain.alarms import AlarmConfig
    from ashiguard.services.analyze import analyze_recording

    r = import_file(shared_data / "vendor-exports" / "pliance_test.asc")
    assert r.sensel_faults == []
    r.pressure[:, 0, 0] = 1200.0  # a corner sensel stuck at the top from power-on
    r.sensel_faults = None  # as a recording that was not imported: found by the analysis
    out = write_imported(r, tmp_path / "p.h5")
    result = analyze_recording(out, AlarmConfig())
    assert result.summary["sensel_faults"] == [
        {"row": 0, "col": 0, "kind": "saturated", "value": 1200.0}
    ]
    assert not [a for a in result.alerts if a.kind == "sensor_fault"]


# ----------------------------------------------------------------------------- tare, calibration


def test_a_tare_window_removes_each_sensels_offset_and_the_recording_keeps_it(
    shared_data, tmp_path
):
    from ashiguard.adapters.importers import apply_corrections

    plain = import_file(shared_data / "vendor-exports" / "fscan_testL.asf")
    r = import_file(shared_data / "vendor-exports" / "fscan_testL.asf")
    offsets = np.random.default_rng(5).uniform(2, 12, plain.shape).astype(np.float32)
    r.pressure += offsets  # a sensor that drifted off zero since its last power-on
    # frames 19 to 28 (0.61 to 0.9 s): the foot in the air, all zero in the export
    apply_corrections(r, tare_window=(0.6, 0.9))
    np.testing.assert_allclose(r.pressure, plain.pressure, atol=1e-4)
    with open_recording(write_imported(r, tmp_path / "t.h5")) as rec:
        tare = rec.summary()["tare"]
        stored = rec.mat_attrs()["tare_offsets"]
    assert tare["window_s"] == pytest.approx([0.608, 0.896])
    assert tare["frames"] == 10 and tare["units"] == "kPa"
    np.testing.assert_allclose(
        np.nan_to_num(stored), np.where(np.isnan(plain.pressure[0]), 0, offsets), atol=1e-4
    )


def test_a_calibration_turns_raw_counts_into_kpa_and_is_kept_with_the_recording(
    shared_data, tmp_path
):
    from ashiguard.adapters.importers import apply_corrections

    cal = tmp_path / "sensomatt.csv"
    cal.write_text("row,col,kpa_per_count\n*,*,0.01\n0,0,0.02\n", encoding="utf-8")
    src = shared_data / "popu" / "sensomatt" / "prone1_0.json"
    raw = import_file(src)
    assert raw.units == "raw"
    r = apply_corrections(import_file(src), calibration=cal)
    assert r.units == "kPa" and r.scale_to_kpa is None
    np.testing.assert_allclose(r.pressure[:, 1:, 1:], raw.pressure[:, 1:, 1:] * 0.01, rtol=1e-6)
    np.testing.assert_allclose(r.pressure[:, 0, 0], raw.pressure[:, 0, 0] * 0.02, rtol=1e-6)
    with open_recording(write_imported(r, tmp_path / "c.h5")) as rec:
        assert rec.meta.units == "kPa"
        assert rec.summary()["calibration"]["file"] == "sensomatt.csv"
        assert rec.mat_attrs()["calibration_kpa_per_count"][0][0] == pytest.approx(0.02)


def test_without_a_calibration_raw_counts_stay_raw_and_a_kpa_export_refuses_one(
    shared_data, tmp_path
):
    from ashiguard.adapters.importers import apply_corrections
    from ashiguard.domain.errors import InputError

    r = apply_corrections(
        import_file(shared_data / "popu" / "sensomatt" / "empty1.json"), tare_window=(0, 100)
    )
    assert r.units == "raw"  # counts are never called kPa
    cal = tmp_path / "c.json"
    cal.write_text('{"schema": "ashiguard.calibration/1", "kpa_per_count": 2}', encoding="utf-8")
    with pytest.raises(InputError, match="already in kPa; a calibration turns raw counts"):
        apply_corrections(
            import_file(shared_data / "vendor-exports" / "pliance_test.asc"), calibration=cal
        )


def test_the_cli_imports_with_a_tare_window_and_refuses_a_loaded_one(
    run_cli, shared_data, tmp_path
):
    src = str(shared_data / "vendor-exports" / "fscan_testL.asf")
    ok = run_cli("import", src, "-o", str(tmp_path / "a.h5"), "--tare-window", "0.6:0.9")
    assert ok.returncode == 0, ok.stderr
    assert "tare: each sensel's mean over 10 frames" in ok.stdout
    info = run_cli("info", str(tmp_path / "a.h5"))
    assert "tare        0.608 to 0.896 s, 10 frames" in info.stdout
    bad = run_cli("import", src, "-o", str(tmp_path / "b.h5"), "--tare-window", "0:1")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "changes by" in bad.stderr
    assert not (tmp_path / "b.h5").exists()


# ----------------------------------------------------------------------------- drift


def _drifting_fscan(shared_data):
    """The F-Scan walk with a baseline creeping up 0 -> 8 kPa (linear, per sensel 4 to 8)."""
    plain = import_file(shared_data / "vendor-exports" / "fscan_testL.asf")
    r = import_file(shared_data / "vendor-exports" / "fscan_testL.asf")
    gain = np.random.default_rng(9).uniform(4, 8, plain.shape)
    ramp = (r.time / r.time[-1])[:, None, None] * gain[None]
    r.pressure += ramp.astype(np.float32)
    return plain, r, gain


def test_a_baseline_creeping_while_unloaded_is_measured_and_corrected_on_import(
    shared_data, tmp_path
):
    from ashiguard.adapters.importers import apply_corrections

    plain, r, gain = _drifting_fscan(shared_data)
    apply_corrections(r, drift=True)
    # the six swing phases anchor the baseline; between them the ramp is linear, so only the
    # frames before the first anchor (0.75 s) and after the last (6.4 s) keep a little
    t = r.time
    inside = (t >= 0.8) & (t <= 6.4)
    err = np.nanmax(np.abs(r.pressure[inside] - plain.pressure[inside]))
    assert err < 0.05
    report = json.loads(r.mat_attrs["drift_corrected"])
    assert report["anchors"] == 6
    change = gain * (6.4 - 0.752) / r.time[-1]  # the ramp between the first and last anchor
    assert report["baseline_change_max"] == pytest.approx(np.nanmax(change), rel=0.02)
    with open_recording(write_imported(r, tmp_path / "d.h5")) as rec:
        s = rec.summary()
    assert s["drift_corrected"]["anchors"] == 6
    assert abs(s["drift"]["baseline_change_max"]) < 0.05  # what is left after the correction


def test_info_and_the_analysis_report_drift_they_find_in_a_recording(
    shared_data, tmp_path, run_cli
):
    from ashiguard.domain.alarms import AlarmConfig
    from ashiguard.services.analyze import analyze_recording

    _, r, gain = _drifting_fscan(shared_data)
    out = write_imported(r, tmp_path / "raw.h5")
    info = run_cli("info", str(out))
    assert "drift       baseline change +" in info.stdout
    assert "over 6 unloaded stretches" in info.stdout
    result = analyze_recording(out, AlarmConfig())
    drift = result.summary["drift"]
    assert drift["anchors"] == 6 and drift["corrected_on_import"] is None
    assert drift["baseline_change_max"] == pytest.approx(
        np.nanmax(gain) * 5.65 / r.time[-1], rel=0.05
    )


def test_a_recording_with_no_unloaded_stretch_says_drift_is_not_measurable(shared_data, tmp_path):
    r = import_file(shared_data / "vendor-exports" / "xsensor_data.csv")
    with open_recording(write_imported(r, tmp_path / "x.h5")) as rec:
        drift = rec.summary()["drift"]
    assert drift["baseline_change_max"] is None and drift["anchors"] < 2


# ----------------------------------------------------------------------------- emed


@pytest.mark.parametrize(
    "text",
    [
        "novel emed\nSensor size: 0.5 x 0.5 cm\n",
        "Page 1\n\n\n\n\n\n\n\nPict-No.: 1 of 40\n",
        "anything else a .lst may hold\n",
    ],
)
def test_a_novel_emed_lst_export_is_refused_in_one_line_naming_the_reason(tmp_path, text):
    from ashiguard.domain.errors import InputError

    f = tmp_path / "walk.lst"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        import_file(f)
    msg = str(exc.value)
    assert msg.startswith("walk.lst: novel emed .lst export: not supported")
    assert "\n" not in msg


def test_the_cli_refuses_an_emed_export_with_exit_2_and_no_recording(run_cli, tmp_path):
    f = tmp_path / "platform.txt"
    f.write_text("Page 1\nPict-No.: 1\n", encoding="utf-8")
    done = run_cli("import", str(f), "-o", str(tmp_path / "e.h5"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("ashiguard: error: platform.txt: novel emed .lst export")
    assert not (tmp_path / "e.h5").exists()


def test_insole_sensors_are_tared_and_drift_corrected_and_info_shows_both(shared_data, tmp_path):
    import dataclasses

    from ashiguard.adapters.importers import apply_corrections
    from ashiguard.domain.errors import InputError

    r = import_file(shared_data / "moticon" / "230927_102114.txt")
    left = r.insoles["left"]
    # the left foot's first swing: every sensor below 20 kPa from about 2.55 to 2.65 s
    swing = (left.time >= 2.56) & (left.time <= 2.64)
    assert np.nanmax(left.pressure[swing]) < 20.0
    original_mean = np.nanmean(left.pressure[swing], axis=0)
    r.insoles["left"] = dataclasses.replace(left, pressure=left.pressure + 7.5)
    # the right foot stands still then (838 N): a tare there would zero a real load
    with pytest.raises(InputError, match=r"right insole: --tare-window: sensel \[0, \d+\] reads"):
        apply_corrections(r, tare_window=(2.56, 2.64))
    del r.insoles["right"]  # a walk has no window with both feet in the air
    apply_corrections(r, tare_window=(2.56, 2.64), drift=True)
    ins = r.insoles["left"]
    np.testing.assert_allclose(ins.attrs["tare_offsets"], original_mean + 7.5, atol=1e-4)
    assert ins.attrs["tare_frames"] == int(swing.sum())
    assert json.loads(ins.attrs["drift_corrected"])["anchors"] == 8
    np.testing.assert_array_equal(ins.force, left.force)  # the insole's own force is kept
    with open_recording(write_imported(r, tmp_path / "m.h5")) as rec:
        s = rec.summary()["insoles"]["left"]
    assert s["tare_window_s"] == pytest.approx([2.56, 2.64])
    assert s["drift_corrected"]["anchors"] == 8 and s["drift"]["anchors"] >= 2
    from ashiguard.domain.alarms import AlarmConfig
    from ashiguard.services.analyze import analyze_recording

    both = apply_corrections(import_file(shared_data / "moticon" / "230927_102114.txt"), drift=True)
    out = write_imported(both, tmp_path / "both.h5")
    drift = analyze_recording(out, AlarmConfig()).summary["drift"]
    assert set(drift) == {"left", "right"} and drift["left"]["anchors"] >= 2


def test_a_calibration_for_insoles_in_kpa_is_refused(shared_data, tmp_path):
    from ashiguard.adapters.importers import apply_corrections
    from ashiguard.domain.errors import InputError

    cal = tmp_path / "c.json"
    cal.write_text('{"schema": "ashiguard.calibration/1", "kpa_per_count": 2}', encoding="utf-8")
    r = import_file(shared_data / "moticon" / "230927_102114.txt")
    with pytest.raises(InputError, match="--calibration: applies to grid recordings in raw"):
        apply_corrections(r, calibration=cal)
