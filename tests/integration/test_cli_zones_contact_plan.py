"""The ``zones``, ``contact`` and ``plan`` commands, run as the user runs them."""

from __future__ import annotations

import json

import pytest

from ashiguard.domain.zones import ZONES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_zones_writes_a_png_of_the_body(run_cli, tmp_path):
    out = tmp_path / "zones.png"
    r = run_cli("zones", "--height-cm", "175", "-o", out)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 20_000
    assert str(out) in r.stdout


def test_zones_json_lists_polygons_and_centroids(run_cli):
    r = run_cli("zones", "--height-cm", "160", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [z["zone"] for z in doc["zones"]] == list(ZONES)
    assert doc["landmarks_mm"]["height_mm"] == 1600.0
    assert all(len(z["centroid_mm"]) == 2 for z in doc["zones"])


def test_zones_takes_measured_landmarks(run_cli):
    r = run_cli("zones", "--height-cm", "175", "--landmark", "t12=320", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["landmarks_mm"]["t12"] == 320.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--height-cm", "175", "--landmark", "t12", "--json"), "--landmark: 't12' is not"),
        (("--height-cm", "175", "--landmark", "t12=900", "--json"), "landmarks.l5s1"),
        (("--height-cm", "12", "--json"), "landmarks.height_mm"),
        (("--height-cm", "tall", "--json"), "--height-cm"),
        (("--height-cm", "175"), "give -o FILE.png and/or --json"),
        (("--height-cm", "175", "-o", "out.txt"), "--output"),
    ],
)
def test_zones_bad_input_exits_2_with_one_line(run_cli, tmp_path, args, message):
    r = run_cli("zones", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and message in r.stderr
    assert not (tmp_path / "out.txt").exists()


def test_contact_json_rows_have_area_mean_and_peak_stress_by_depth(run_cli):
    r = run_cli("contact", "--load-n", "300", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["contact"] for row in rows] == [
        "foot",
        "heel",
        "forefoot",
        "elbow",
        "forearm",
        "thumb",
    ]
    for row in rows:
        assert set(row) == {"contact", "area_cm2", "mean_kpa", "peak_sigma_z_kpa"}
        assert set(row["peak_sigma_z_kpa"]) == {"20", "45", "80"}
        assert row["mean_kpa"] == pytest.approx(300.0 / row["area_cm2"] * 10.0, rel=1e-3)
    means = {row["contact"]: row["mean_kpa"] for row in rows}
    assert max(means, key=means.get) == "thumb"
    assert min(means, key=means.get) == "foot"


def test_contact_table_prints_every_contact(run_cli):
    r = run_cli("contact", "--load-n", "250")
    assert r.returncode == 0, r.stderr
    for name in ("foot", "heel", "forefoot", "elbow", "forearm", "thumb", "σz 45 mm"):
        assert name in r.stdout


@pytest.mark.parametrize("load", ["0", "abc"])
def test_contact_refuses_a_bad_load_with_exit_2(run_cli, load):
    r = run_cli("contact", "--load-n", load)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("ashiguard: error: ") and r.stderr.count("\n") == 1
    assert "load" in r.stderr


def _screening_file(tmp_path, decision="modify", avoid=("kidney_left",), fraction=0.5):
    doc = {
        "schema": "ashiguard.screening/1",
        "client_id": "c-9",
        "date": "2026-11-24",
        "decision": decision,
        "findings": [
            {
                "rule": "kidney-disorder" if decision == "modify" else "dvt",
                "decision": decision,
                "reason": "kidney stones in the past",
                "sources": ["policy"],
                "restrictions": {
                    "avoid_zones": list(avoid),
                    "max_load_fraction": fraction,
                    "max_pressure_kpa": None,
                },
            }
        ],
        "restrictions": {
            "avoid_zones": list(avoid),
            "max_load_fraction": fraction,
            "max_pressure_kpa": None,
        },
        "rules_version": "test",
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    return path


def test_plan_json_follows_the_screening_restrictions(run_cli, tmp_path):
    path = _screening_file(tmp_path)
    r = run_cli("plan", "--screening", path, "--therapist-kg", "70", "--height-cm", "170", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "ashiguard.plan/1"
    assert doc["zones"]["kidney_left"]["allowed"] is False
    lumbar = doc["zones"]["erector_lumbar_left"]
    assert lumbar["allowed"] and lumbar["max_load_fraction"] == 0.5
    assert "max_load_fraction 0.5" in lumbar["reason"] and "kidney-disorder" in lumbar["reason"]
    assert len(lumbar["centroid_mm"]) == 2


def test_plan_text_shows_the_table(run_cli, tmp_path):
    r = run_cli("plan", "--screening", _screening_file(tmp_path), "--therapist-kg", "70")
    assert r.returncode == 0, r.stderr
    assert "erector_lumbar_left" in r.stdout and "decision modify" in r.stdout


def test_plan_for_a_declined_client_says_no_barefoot_work_and_exits_0(run_cli, tmp_path):
    path = _screening_file(tmp_path, decision="decline", avoid=(), fraction=None)
    r = run_cli("plan", "--screening", path, "--therapist-kg", "70")
    assert r.returncode == 0, r.stderr
    assert "No barefoot work" in r.stdout and "dvt" in r.stdout
    j = run_cli("plan", "--screening", path, "--therapist-kg", "70", "--json")
    assert json.loads(j.stdout)["barefoot_work"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--therapist-kg", "heavy"), "--therapist-kg"),
        (("--therapist-kg", "7"), "therapist_mass_kg"),
        (("--therapist-kg", "70", "--height-cm", "x"), "--height-cm"),
    ],
)
def test_plan_refuses_bad_numbers_with_exit_2(run_cli, tmp_path, args, message):
    r = run_cli("plan", "--screening", _screening_file(tmp_path), *args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and message in r.stderr


def test_plan_refuses_an_invalid_screening_naming_the_field(run_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "ashiguard.screening/1", "client_id": "c"}))
    r = run_cli("plan", "--screening", bad, "--therapist-kg", "70")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1
    missing = run_cli("plan", "--screening", tmp_path / "none.json", "--therapist-kg", "70")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_bench_mechanics_reports_stress_and_raster_times(run_cli):
    r = run_cli("bench", "mechanics", "--quick", "--json")
    assert r.returncode == 0, r.stderr
    results = {x["name"]: x for x in json.loads(r.stdout)["results"]}
    assert set(results) == {"stress_3_depths_ms", "zone_raster_ms"}
    for x in results.values():
        assert x["unit"] == "ms" and x["better"] == "lower" and x["value"] > 0
    assert "128x48" in results["stress_3_depths_ms"]["detail"]


def test_plan_takes_a_comfort_ceiling_that_only_lowers_and_says_where_it_came_from(
    run_cli, tmp_path
):
    path = _screening_file(tmp_path)
    source = "3 'too much' markers in the last 5 visits, lowest at 34 kPa"
    r = run_cli(
        "plan", "--screening", path, "--therapist-kg", "70", "--comfort-kpa", "20",
        "--comfort-source", source, "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["comfort_ceiling"] == {"kpa": 20.0, "zones": {}, "source": source}
    lumbar = doc["zones"]["erector_lumbar_left"]
    assert lumbar["max_pressure_kpa"] == 20.0 and lumbar["level"] == 3
    assert lumbar["reason"] == f"client's comfort ceiling 20 kPa ({source})"
    assert doc["zones"]["kidney_left"]["allowed"] is False
    r = run_cli("plan", "--screening", path, "--therapist-kg", "70", "--comfort-kpa", "0")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == "ashiguard: error: --comfort-kpa: must be > 0 kPa, got '0'"
