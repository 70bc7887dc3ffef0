"""The intake codes of contract section 2 and their SNOMED CT concept ids.

Every contract code is listed here once, by kind. ``SNOMED_CT`` maps each code to a SNOMED CT
concept id, or to ``None`` where the project is not certain of the right concept: an id is only
written here when we are confident of it (several are confirmed by the Synthea FHIR bundles in
``shared/data/fhir``). ``None`` means "map by hand", never "no concept exists".

Notes
-----
SNOMED CT identifiers are given as strings (they are identifiers, not numbers). Medication
classes are not mapped here: FHIR medication data uses RxNorm, not SNOMED CT.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "CODES",
    "CODE_LISTS",
    "CONDITION_CODES",
    "CONDITION_CODES_V1_1",
    "MEDICATION_CODES",
    "PROCEDURE_CODES",
    "SNOMED_ALIASES",
    "SNOMED_CT",
    "SYMPTOM_CODES",
    "CodeKind",
    "code_for_snomed",
]

CodeKind = Literal["condition", "procedure", "medication", "symptom"]

CONDITION_CODES_V1_1: tuple[str, ...] = (
    "myocardial_infarction",
    "stroke",
    "transient_ischemic_attack",
    "coronary_heart_disease",
    "angina",
    "atrial_fibrillation",
)
"""The condition codes policy v1.1 added to contract section 2 (cardiovascular history)."""

CONDITION_CODES: tuple[str, ...] = (
    "osteoporosis",
    "osteopenia",
    "hypertension",
    "deep_vein_thrombosis",
    "pulmonary_embolism",
    "chronic_kidney_disease",
    "kidney_transplant",
    "kidney_stones",
    "polycystic_kidney_disease",
    "kidney_infection",
    "herniated_disc",
    "radiculopathy",
    "spinal_stenosis",
    "vertebral_fracture",
    "rib_fracture",
    "bleeding_disorder",
    "cancer",
    "bone_metastasis",
    "diabetes",
    "peripheral_neuropathy",
    "varicose_veins",
    "heart_failure",
    "aortic_aneurysm",
    "rheumatoid_arthritis",
    "ankylosing_spondylitis",
    "skin_infection",
    *CONDITION_CODES_V1_1,
)

PROCEDURE_CODES: tuple[str, ...] = (
    "spinal_fusion",
    "spinal_surgery",
    "hip_replacement",
    "knee_replacement",
    "shoulder_replacement",
    "kidney_surgery",
    "abdominal_surgery",
    "other_surgery",
)

MEDICATION_CODES: tuple[str, ...] = (
    "anticoagulant",
    "antiplatelet",
    "long_term_corticosteroid",
    "bisphosphonate",
    "antihypertensive",
)

SYMPTOM_CODES: tuple[str, ...] = (
    "fever",
    "calf_pain_swelling",
    "chest_pain",
    "shortness_of_breath",
    "radiating_leg_pain",
    "numbness_weakness",
    "flank_pain",
    "blood_in_urine",
    "acute_back_pain",
    "dizziness",
    "open_wound",
)

CODES: dict[CodeKind, frozenset[str]] = {
    "condition": frozenset(CONDITION_CODES),
    "procedure": frozenset(PROCEDURE_CODES),
    "medication": frozenset(MEDICATION_CODES),
    "symptom": frozenset(SYMPTOM_CODES),
}

CODE_LISTS: dict[str, dict[CodeKind, frozenset[str]]] = {
    "1": {**CODES, "condition": CODES["condition"] - frozenset(CONDITION_CODES_V1_1)},
    "1.1": CODES,
}
"""The contract's code list by policy version: a rule set knows the codes of the version it was
written for (``contract_codes`` in its file), so that a code added later still fires
``unknown-code`` under an older rule set instead of passing unscreened."""

# (kind, code) -> SNOMED CT concept id, or None where we are not sure of the concept.
SNOMED_CT: dict[tuple[CodeKind, str], str | None] = {
    ("condition", "osteoporosis"): "64859006",  # Osteoporosis (disorder); in Synthea data
    ("condition", "osteopenia"): "312894000",  # Osteopenia (disorder)
    ("condition", "hypertension"): "38341003",  # Hypertensive disorder; in Synthea data
    ("condition", "deep_vein_thrombosis"): "128053003",  # Deep venous thrombosis
    ("condition", "pulmonary_embolism"): "59282003",  # Pulmonary embolism
    ("condition", "chronic_kidney_disease"): "709044004",  # Chronic kidney disease
    ("condition", "kidney_transplant"): None,  # status concept not certain
    ("condition", "kidney_stones"): "95570007",  # Kidney stone
    ("condition", "polycystic_kidney_disease"): None,
    ("condition", "kidney_infection"): None,
    ("condition", "herniated_disc"): None,
    ("condition", "radiculopathy"): None,
    ("condition", "spinal_stenosis"): None,
    ("condition", "vertebral_fracture"): None,
    ("condition", "rib_fracture"): "33737001",  # Fracture of rib
    ("condition", "bleeding_disorder"): None,
    ("condition", "cancer"): "363346000",  # Malignant neoplastic disease
    ("condition", "bone_metastasis"): "94222008",  # Secondary malignant neoplasm of bone
    ("condition", "diabetes"): "73211009",  # Diabetes mellitus
    ("condition", "peripheral_neuropathy"): "302226006",  # Peripheral nerve disease
    ("condition", "varicose_veins"): None,
    ("condition", "heart_failure"): "84114007",  # Heart failure
    ("condition", "aortic_aneurysm"): "67362008",  # Aortic aneurysm
    ("condition", "rheumatoid_arthritis"): "69896004",  # Rheumatoid arthritis; in Synthea data
    ("condition", "ankylosing_spondylitis"): "9631008",  # Ankylosing spondylitis
    ("condition", "skin_infection"): None,
    ("condition", "myocardial_infarction"): "22298006",  # Myocardial infarction; in Synthea data
    ("condition", "stroke"): "230690007",  # Cerebrovascular accident; in Synthea data
    ("condition", "transient_ischemic_attack"): "266257000",  # Transient ischemic attack
    ("condition", "coronary_heart_disease"): "53741008",  # Coronary arteriosclerosis
    ("condition", "angina"): "233819005",  # Stable angina (the policy's "angina (stable)")
    ("condition", "atrial_fibrillation"): "49436004",  # Atrial fibrillation; in Synthea data
    ("procedure", "spinal_fusion"): "55705006",  # Spinal fusion
    ("procedure", "spinal_surgery"): None,
    ("procedure", "hip_replacement"): "52734007",  # Total replacement of hip
    ("procedure", "knee_replacement"): "609588000",  # Total knee replacement; in Synthea data
    ("procedure", "shoulder_replacement"): None,
    ("procedure", "kidney_surgery"): None,
    ("procedure", "abdominal_surgery"): None,
    ("procedure", "other_surgery"): "387713003",  # Surgical procedure
    ("medication", "anticoagulant"): None,
    ("medication", "antiplatelet"): None,
    ("medication", "long_term_corticosteroid"): None,
    ("medication", "bisphosphonate"): None,
    ("medication", "antihypertensive"): None,
    ("symptom", "fever"): "386661006",  # Fever
    ("symptom", "calf_pain_swelling"): None,
    ("symptom", "chest_pain"): "29857009",  # Chest pain
    ("symptom", "shortness_of_breath"): "267036007",  # Dyspnea
    ("symptom", "radiating_leg_pain"): None,
    ("symptom", "numbness_weakness"): None,
    ("symptom", "flank_pain"): None,
    ("symptom", "blood_in_urine"): "34436003",  # Blood in urine
    ("symptom", "acute_back_pain"): None,
    ("symptom", "dizziness"): "404640003",  # Dizziness
    ("symptom", "open_wound"): None,
}

# Further SNOMED CT ids seen in real records (Synthea bundles) that mean a contract code.
SNOMED_ALIASES: dict[str, tuple[CodeKind, str]] = {
    "431855005": ("condition", "chronic_kidney_disease"),  # CKD stage 1
    "431856006": ("condition", "chronic_kidney_disease"),  # CKD stage 2
    "44054006": ("condition", "diabetes"),  # Diabetes mellitus type 2
    "88805009": ("condition", "heart_failure"),  # Chronic congestive heart failure
    "368581000119106": ("condition", "peripheral_neuropathy"),  # Neuropathy due to T2DM
    # Diabetic kidney disease is chronic kidney disease; microalbuminuria due to diabetes is its
    # earliest stage (kidney damage with a normal filtration rate, like CKD stage 1 above).
    "127013003": ("condition", "chronic_kidney_disease"),  # Diabetic renal disease
    "90781000119102": ("condition", "chronic_kidney_disease"),  # Microalbuminuria due to T2DM
    "399211009": ("condition", "myocardial_infarction"),  # History of myocardial infarction
    "363406005": ("condition", "cancer"),  # Malignant tumor of colon
    "72892002": ("condition", "pregnancy"),  # Normal pregnancy: maps to intake pregnancy
}


def code_for_snomed(concept_id: str) -> tuple[CodeKind, str] | None:
    """The contract ``(kind, code)`` a SNOMED CT concept id stands for, or None.

    ``72892002`` (pregnancy) comes back as ``("condition", "pregnancy")``: the intake records a
    pregnancy in its ``pregnancy`` object, not as a condition code, and the caller maps it there.
    """
    for key, sid in SNOMED_CT.items():
        if sid == concept_id:
            return key
    return SNOMED_ALIASES.get(concept_id)
