"""Importing real Synthea FHIR R4 records (shared/data/fhir/synthea) as intakes."""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ashiguard.adapters.fhir import ImportResult, intake_from_bundle
from ashiguard.adapters.fhir.rxnorm import medication_class
from ashiguard.domain.errors import InputError
from ashiguard.domain.screening import screen

SYNTHEA = Path(__file__).resolve().parents[3] / "shared" / "data" / "fhir" / "synthea"
BUNDLES = sorted(p.name for p in SYNTHEA.glob("*.json"))
ON = date(2026, 11, 25)


@cache
def _text(name: str) -> str:
    return (SYNTHEA / name).read_text()


def _bundle(prefix: str) -> dict[str, Any]:
    (name,) = [n for n in BUNDLES if n.startswith(prefix)]
    return json.loads(_text(name))


def _import(prefix: str, on: date = ON) -> ImportResult:
    return intake_from_bundle(_bundle(prefix), on=on)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_shared_folder_holds_the_seventeen_synthea_bundles(shared_data):
    assert (shared_data / "fhir" / "synthea") == SYNTHEA
    assert len(BUNDLES) == 17


@pytest.mark.parametrize("name", BUNDLES)
def test_every_real_bundle_gives_a_screenable_intake_or_a_clear_refusal(name):
    raw = json.loads(_text(name))
    patients = _resources(raw, "Patient")
    if not patients:
        with pytest.raises(InputError, match=r"^bundle: no Patient resource in bundle \(found "):
            intake_from_bundle(_text(name), on=ON)
        return
    if any(k.startswith("deceased") for k in patients[0]):
        with pytest.raises(InputError, match=r"^Patient/[0-9a-f-]+\.deceasedDateTime: the record"):
            intake_from_bundle(_text(name), on=ON)
        return
    result = intake_from_bundle(_text(name), on=ON)
    assert result.intake.date == ON
    assert result.intake.client.id == patients[0]["id"]
    assert result.intake.client.birth_date == date.fromisoformat(patients[0]["birthDate"])
    assert result.intake.notes.startswith(f"Imported from FHIR record Patient/{patients[0]['id']}")
    screening = screen(result.intake)
    assert screening.client_id == patients[0]["id"]


def test_osteoporosis_and_alendronate_make_the_screening_decline():
    result = _import("Sina_Yundt")
    osteo = [c for c in result.intake.conditions if c.code == "osteoporosis"]
    assert len(osteo) == 1
    assert (osteo[0].status, osteo[0].onset) == ("active", date(2018, 3, 29))
    assert "64859006" in osteo[0].note
    assert [m.code for m in result.intake.medications] == ["bisphosphonate"]
    s = screen(result.intake)
    assert s.decision.value == "decline"
    assert {"osteoporosis", "low-bone-density"} <= {f.rule for f in s.findings}


def _panels(bundle: dict[str, Any], on: date) -> list[tuple[date, dict[str, float]]]:
    panels = []
    for obs in _resources(bundle, "Observation"):
        if obs["code"]["coding"][0]["code"] == "55284-4":
            day = date.fromisoformat(obs["effectiveDateTime"][:10])
            values = {
                c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
                for c in obs["component"]
            }
            if day <= on:
                panels.append((day, values))
    return panels


def test_a_blood_pressure_measured_on_the_screening_day_is_the_intakes_reading():
    bundle = _bundle("Antonio_Castellanos")
    day, latest = max(_panels(bundle, date(2015, 1, 1)), key=lambda p: p[0])
    result = intake_from_bundle(bundle, on=day)
    hyper = [c for c in result.intake.conditions if c.code == "hypertension"]
    assert [(c.status, c.onset) for c in hyper] == [("active", date(2009, 8, 1))]
    assert result.intake.vitals.systolic_mmhg == latest["8480-6"]
    assert result.intake.vitals.diastolic_mmhg == latest["8462-4"]
    assert any("mmHg measured on the screening day" in n for n in result.notes)
    assert "bp-not-measured-today" not in {f.rule for f in screen(result.intake).findings}


def test_a_blood_pressure_measured_before_the_day_is_left_out_and_the_screening_asks_for_one():
    bundle = _bundle("Antonio_Castellanos")
    day, latest = max(_panels(bundle, date(2015, 1, 1)), key=lambda p: p[0])
    on = date.fromordinal(day.toordinal() + 1)
    result = intake_from_bundle(bundle, on=on)
    vitals = result.intake.vitals
    assert (vitals.systolic_mmhg, vitals.diastolic_mmhg) == (None, None)
    bp = f"{latest['8480-6']:.0f}/{latest['8462-4']:.0f} mmHg"
    (note,) = [n for n in result.notes if "blood pressure" in n]
    assert note.endswith(
        f"blood pressure {bp} was measured on {day.isoformat()}, 1 day before the screening "
        "day: not today's, left out of the intake's vitals; measure it before the session"
    )
    assert f"last blood pressure {bp} on {day.isoformat()}." in result.intake.notes
    s = screen(result.intake)
    assert s.decision.value == "defer"
    assert "bp-not-measured-today" in {f.rule for f in s.findings}


def test_blood_pressure_measured_years_ago_never_reaches_the_intake(shared_data):
    for name in BUNDLES:
        raw = json.loads(_text(name))
        patients = _resources(raw, "Patient")
        if not patients or any(k.startswith("deceased") for k in patients[0]):
            continue
        result = intake_from_bundle(raw, on=ON)
        assert result.intake.vitals.systolic_mmhg is None, name
        assert result.intake.vitals.temperature_c is None, name


def test_chronic_and_diabetic_kidney_disease_map_to_ckd_and_trigger_the_kidney_rule():
    result = _import("Josue_Sipes")
    ckd = sorted(
        (c.onset, c.note.split(" (SNOMED CT ")[1].split(",")[0])
        for c in result.intake.conditions
        if c.code == "chronic_kidney_disease"
    )
    assert ckd == [
        (date(2020, 4, 18), "127013003"),  # diabetic renal disease
        (date(2020, 4, 18), "431855005"),  # CKD stage 1
        (date(2020, 5, 16), "431856006"),  # CKD stage 2
        (date(2020, 5, 16), "90781000119102"),  # microalbuminuria due to type 2 diabetes
    ]
    assert "kidney-disorder" in {f.rule for f in screen(result.intake).findings}


def test_a_stroke_in_the_record_is_screened_as_a_cardiovascular_event():
    result = _import("Eugenia_Schuster")
    (stroke,) = [c for c in result.intake.conditions if c.code == "stroke"]
    assert (stroke.status, stroke.onset) == ("active", date(2019, 2, 15))
    findings = {f.rule: f.decision.value for f in screen(result.intake).findings}
    assert findings["past-cardiovascular-event"] == "modify"
    soon = intake_from_bundle(_bundle("Eugenia_Schuster"), on=date(2019, 5, 1)).intake
    findings = {f.rule: f.decision.value for f in screen(soon).findings}
    assert findings["recent-cardiovascular-event"] == "clearance_required"


def test_atrial_fibrillation_is_imported_and_its_warfarin_screened():
    result = _import("Malik_Ward")
    assert "atrial_fibrillation" in {c.code for c in result.intake.conditions}
    assert not any("49436004" in n for n in result.notes if n.startswith("not mapped"))
    rules = {f.rule for f in screen(result.intake).findings}
    assert "anticoagulant" in rules and "unknown-code" not in rules


def test_conditions_diagnosed_after_the_day_are_not_imported():
    before = intake_from_bundle(_bundle("Dirk_Kuhlman"), on=date(2019, 6, 1)).intake
    codes = {c.code for c in before.conditions}
    assert "hypertension" in codes  # onset 2019-03-05
    assert "chronic_kidney_disease" not in codes  # onset 2019-11-12


def _alive(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle without its Patient's deceased[x] (to read its earlier years)."""
    patient = _first(bundle, "Patient")
    for key in [k for k in patient if k.startswith("deceased")]:
        del patient[key]
    return bundle


def test_a_knee_replacement_is_imported_with_its_date_and_declines_within_six_weeks():
    bundle = _alive(_bundle("Laticia_Dibbert"))
    soon = intake_from_bundle(bundle, on=date(2006, 2, 20)).intake
    assert [(p.code, p.date) for p in soon.procedures] == [("knee_replacement", date(2006, 1, 31))]
    findings = {f.rule: f.decision.value for f in screen(soon).findings}
    assert findings["recent-joint-replacement"] == "decline"
    before = intake_from_bundle(bundle, on=date(2006, 1, 30)).intake
    assert before.procedures == ()


def test_active_warfarin_is_an_anticoagulant_that_needs_clearance():
    result = _import("Malik_Ward")
    assert ("anticoagulant", "Warfarin Sodium 5 MG Oral Tablet") in {
        (m.code, m.name) for m in result.intake.medications
    }
    s = screen(result.intake)
    assert s.decision.value == "clearance_required"
    assert "anticoagulant" in {f.rule for f in s.findings}


def test_a_stopped_clopidogrel_request_is_not_imported_but_noted():
    result = intake_from_bundle(_alive(_bundle("Alejandro_Riojas")), on=ON)
    assert "antiplatelet" not in {m.code for m in result.intake.medications}
    assert any("Clopidogrel 75 MG Oral Tablet (antiplatelet) is stopped" in n for n in result.notes)


def test_a_pregnancy_counts_while_it_lasts():
    bundle = _bundle("Florida_Rutherford")  # 72892002 from 2014-05-05, resolved 2014-06-02
    during = intake_from_bundle(bundle, on=date(2014, 5, 20))
    assert during.intake.pregnancy.pregnant is True
    assert screen(during.intake).decision.value == "decline"
    after = intake_from_bundle(bundle, on=date(2014, 7, 1))
    assert after.intake.pregnancy.pregnant is None
    assert any("is resolved: not imported as pregnant" in n for n in after.notes)


def test_unmapped_codes_are_listed_in_the_notes_and_current_ones_in_the_intake():
    result = _import("Dirk_Kuhlman")
    seizure = [n for n in result.notes if "128613002" in n]
    assert seizure and seizure[0].startswith("not mapped, not screened: Condition SNOMED CT")
    assert "Seizure disorder (SNOMED CT 128613002)" in result.intake.notes
    # a resolved condition is noted but is not a current fact for the therapist
    resolved = [n for n in result.notes if "444814009" in n]
    assert resolved and "resolved" in resolved[0]
    assert "444814009" not in result.intake.notes


@pytest.mark.parametrize("on", [ON, date(1960, 1, 1)])
def test_a_deceased_patients_record_is_refused_with_the_reason_whatever_the_day(on):
    with pytest.raises(InputError) as err:
        intake_from_bundle(_bundle("Stewart_Stanton"), on=on)
    assert str(err.value) == (
        "Patient/ecaea95c-46de-4ac9-a58d-4847d1a3e574.deceasedDateTime: the record says the "
        "patient died on 1969-08-26: a deceased person's record is not an intake; nothing imported"
    )


def test_deceased_boolean_true_is_refused_and_false_imports():
    def dead(value: object) -> dict[str, Any]:
        bundle = _bundle("Liz_Conn")
        _first(bundle, "Patient")["deceasedBoolean"] = value
        return bundle

    with pytest.raises(
        InputError, match=r"\.deceasedBoolean: the record says the patient has died: "
    ):
        intake_from_bundle(dead(True), on=ON)
    assert intake_from_bundle(dead(False), on=ON).intake.client.id
    with pytest.raises(InputError, match=r"\.deceasedBoolean: expected true or false, got \"yes\""):
        intake_from_bundle(dead("yes"), on=ON)


# --------------------------------------------------------------------------- bad input


def _broken(change: Any, prefix: str = "Liz_Conn") -> dict[str, Any]:
    bundle = copy.deepcopy(_bundle(prefix))
    change(bundle)
    return bundle


def _first(bundle: dict[str, Any], kind: str, loinc: str | None = None) -> dict[str, Any]:
    for res in _resources(bundle, kind):
        if loinc is None or res["code"]["coding"][0]["code"] == loinc:
            return res
    raise AssertionError(kind)


def _latest_bp(bundle: dict[str, Any]) -> dict[str, Any]:
    panels = [
        o for o in _resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == "55284-4"
    ]
    return max(panels, key=lambda o: o["effectiveDateTime"])


def _swap_bp(bundle: dict[str, Any]) -> None:
    panel = _latest_bp(bundle)
    panel["effectiveDateTime"] = f"{ON.isoformat()}T09:00:00+00:00"  # a reading of the day
    for comp in panel["component"]:
        comp["valueQuantity"]["value"] = 90 if comp["code"]["coding"][0]["code"] == "8480-6" else 95


def _bp_in_kpa(bundle: dict[str, Any]) -> None:
    _latest_bp(bundle)["component"][0]["valueQuantity"]["code"] = "kPa"


def _second_patient(bundle: dict[str, Any]) -> None:
    bundle["entry"].append({"resource": {"resourceType": "Patient", "id": "other"}})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(resourceType="Patient"), r"^resourceType: expected 'Bundle'"),
        (lambda b: b.update(entry={}), r"^entry: expected a list"),
        (lambda b: b["entry"].append(3), r"^entry\[\d+\]: expected a JSON object"),
        (
            lambda b: b.update(entry=[]),
            r"^bundle: no Patient resource in bundle \(found no entries\)",
        ),
        (_second_patient, r"^bundle: 2 Patient resources \(.*, other\): choose one by id"),
        (_swap_bp, r"^Observation/[0-9a-f-]+: vitals: systolic 90 mmHg must be above diastolic 95"),
        (_bp_in_kpa, r"^Observation/[0-9a-f-]+\.component\[0\]\.valueQuantity: unit 'kPa'"),
        (
            lambda b: _first(b, "Patient").update(birthDate="1986-02-30"),
            r"^Patient/[0-9a-f-]+\.birthDate: not a calendar date",
        ),
        (
            lambda b: _first(b, "Condition")["clinicalStatus"]["coding"][0].update(code="gone"),
            r"^Condition/[0-9a-f-]+\.clinicalStatus: unknown code 'gone'",
        ),
    ],
)
def test_a_broken_bundle_is_refused_naming_the_resource(change, message):
    with pytest.raises(InputError, match=message):
        intake_from_bundle(_broken(change), on=ON)


def test_several_patients_need_a_patient_id_which_must_exist():
    bundle = _broken(_second_patient)
    pid = _first(bundle, "Patient")["id"]
    assert intake_from_bundle(bundle, on=ON, patient_id=pid).intake.client.id == pid
    other = intake_from_bundle(bundle, on=ON, patient_id="other").intake
    assert (other.client.id, other.conditions, other.vitals.systolic_mmhg) == ("other", (), None)
    with pytest.raises(InputError, match=r"^--patient: no Patient with id 'nobody'"):
        intake_from_bundle(bundle, on=ON, patient_id="nobody")


def test_a_day_before_the_birth_date_is_refused():
    with pytest.raises(InputError, match=r"^on: 1980-01-01 is before the birth date 1986-11-28"):
        intake_from_bundle(_bundle("Liz_Conn"), on=date(1980, 1, 1))


def test_invalid_json_is_refused():
    with pytest.raises(InputError, match=r"^bundle: not valid JSON"):
        intake_from_bundle("{", on=ON)


@pytest.mark.parametrize(
    ("codes", "texts", "expected"),
    [
        (["855332"], [], ("anticoagulant", "RxNorm 855332")),
        (["11289"], [], ("anticoagulant", "RxNorm 11289")),
        ([], ["Apixaban 5 MG Oral Tablet"], ("anticoagulant", "ingredient name 'apixaban'")),
        (
            [],
            ["predniSONE 5 MG Oral Tablet"],
            ("long_term_corticosteroid", "ingredient name 'prednisone'"),
        ),
        ([], ["Fluticasone propionate 0.25 MG/ACTUAT Dry Powder Inhaler"], None),
        ([], ["Dexamethasone 1 MG/ML Ophthalmic Solution"], None),
        (["860975"], ["24 HR Metformin hydrochloride 500 MG"], None),
    ],
)
def test_medications_map_by_rxnorm_code_then_by_ingredient_name(codes, texts, expected):
    assert medication_class(codes, texts) == expected


def test_partial_dates_are_read_the_strict_way():
    def change(b: dict[str, Any]) -> None:
        _first(b, "Patient")["birthDate"] = "1986"
        hyper = next(
            c for c in _resources(b, "Condition") if c["code"]["coding"][0]["code"] == "38341003"
        )
        hyper["onsetDateTime"] = "2005-07"

    result = intake_from_bundle(_broken(change), on=ON)
    assert result.intake.client.birth_date == date(1986, 12, 31)  # the youngest possible age
    hyper = [c for c in result.intake.conditions if c.code == "hypertension"]
    assert [c.onset for c in hyper] == [None]  # undated: every time window applies
    assert any("onset date is partial: taken as undated" in n for n in result.notes)
    assert any("birthDate 1986 is partial: taken as 1986-12-31" in n for n in result.notes)
    # a partial birth year that includes the day: the day itself, never after it
    born_this_year = _broken(lambda b: _first(b, "Patient").update(birthDate="2026"))
    assert intake_from_bundle(born_this_year, on=ON).intake.client.birth_date == ON


def test_a_long_list_of_unmapped_facts_is_cut_to_fit_the_intake_notes():
    def many(b: dict[str, Any]) -> None:
        subject = _first(b, "Condition")["subject"]
        for i in range(300):
            code = {
                "system": "http://snomed.info/sct",
                "code": f"9{i:05d}",
                "display": f"Finding {i}",
            }
            cond = {
                "resourceType": "Condition",
                "id": f"x{i}",
                "code": {"coding": [code]},
                "subject": subject,
            }
            b["entry"].append({"resource": cond})

    result = intake_from_bundle(_broken(many), on=ON)
    assert len(result.intake.notes) <= 3500
    assert result.intake.notes.endswith("; ... (see the import notes).")
    assert sum("not mapped, not screened: Condition SNOMED CT 9" in n for n in result.notes) == 300
    assert sum("no clinicalStatus, taken as active" in n for n in result.notes) == 300
