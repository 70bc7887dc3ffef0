"""RxNorm codes and ingredient names mapped to the intake's medication classes.

A MedicationRequest is mapped by its RxNorm codings first (clinical drug codes seen in the
Synthea sample records, then ingredient codes), then by an ingredient name in the coding's
``display`` or the concept's ``text``. Only codes we are sure of are listed; anything else is
reported as unmapped by the importer, never dropped silently.

Notes
-----
``long_term_corticosteroid`` is matched by name only for systemic forms (the drug text must say
``oral`` or ``inject``): an inhaled or topical corticosteroid does not weaken bone the same way
and is reported as unmapped for the therapist to review. An active request for a systemic
corticosteroid is taken as long-term (the stricter reading: a bundle rarely says how long).
"""

from __future__ import annotations

import re

__all__ = ["INGREDIENT_CLASSES", "RXNORM_CLASSES", "medication_class"]

# RxNorm code -> (medication class, what the code is). Clinical drugs (SCD/SBD) are the codes
# of the Synthea sample bundles (display checked in the files); the rest are ingredients (IN).
RXNORM_CLASSES: dict[str, tuple[str, str]] = {
    # anticoagulants
    "855332": ("anticoagulant", "Warfarin Sodium 5 MG Oral Tablet"),
    "11289": ("anticoagulant", "warfarin"),
    "1364430": ("anticoagulant", "apixaban"),
    "1114195": ("anticoagulant", "rivaroxaban"),
    "5224": ("anticoagulant", "heparin"),
    "67108": ("anticoagulant", "enoxaparin"),
    # antiplatelets
    "309362": ("antiplatelet", "Clopidogrel 75 MG Oral Tablet"),
    "243670": ("antiplatelet", "Aspirin 81 MG Oral Tablet"),
    "32968": ("antiplatelet", "clopidogrel"),
    "1191": ("antiplatelet", "aspirin"),
    "613391": ("antiplatelet", "prasugrel"),
    "1116632": ("antiplatelet", "ticagrelor"),
    # systemic corticosteroids
    "8640": ("long_term_corticosteroid", "prednisone"),
    "8638": ("long_term_corticosteroid", "prednisolone"),
    "6902": ("long_term_corticosteroid", "methylprednisolone"),
    "3264": ("long_term_corticosteroid", "dexamethasone"),
    # bisphosphonates
    "904419": ("bisphosphonate", "Alendronic acid 10 MG Oral Tablet"),
    "46041": ("bisphosphonate", "alendronate"),
    "73056": ("bisphosphonate", "risedronate"),
    "77655": ("bisphosphonate", "zoledronic acid"),
    # antihypertensives
    "316049": ("antihypertensive", "Hydrochlorothiazide 25 MG"),
    "316052": ("antihypertensive", "Hydrochlorothiazide 6.25 MG"),
    "866414": (
        "antihypertensive",
        "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet",
    ),
    "897718": ("antihypertensive", "Verapamil Hydrochloride 40 MG"),
    "833036": ("antihypertensive", "Captopril 25 MG Oral Tablet"),
    "5487": ("antihypertensive", "hydrochlorothiazide"),
    "6918": ("antihypertensive", "metoprolol"),
    "11170": ("antihypertensive", "verapamil"),
    "1998": ("antihypertensive", "captopril"),
    "29046": ("antihypertensive", "lisinopril"),
    "17767": ("antihypertensive", "amlodipine"),
    "52175": ("antihypertensive", "losartan"),
    "1202": ("antihypertensive", "atenolol"),
}

# Ingredient name (a whole word of the drug text, case-insensitive) -> medication class.
INGREDIENT_CLASSES: dict[str, str] = {
    "warfarin": "anticoagulant",
    "apixaban": "anticoagulant",
    "rivaroxaban": "anticoagulant",
    "dabigatran": "anticoagulant",
    "edoxaban": "anticoagulant",
    "heparin": "anticoagulant",
    "enoxaparin": "anticoagulant",
    "clopidogrel": "antiplatelet",
    "prasugrel": "antiplatelet",
    "ticagrelor": "antiplatelet",
    "aspirin": "antiplatelet",
    "alendronate": "bisphosphonate",
    "alendronic": "bisphosphonate",
    "risedronate": "bisphosphonate",
    "ibandronate": "bisphosphonate",
    "zoledronic": "bisphosphonate",
    "prednisone": "long_term_corticosteroid",
    "prednisolone": "long_term_corticosteroid",
    "methylprednisolone": "long_term_corticosteroid",
    "dexamethasone": "long_term_corticosteroid",
    "hydrochlorothiazide": "antihypertensive",
    "chlorthalidone": "antihypertensive",
    "lisinopril": "antihypertensive",
    "enalapril": "antihypertensive",
    "ramipril": "antihypertensive",
    "captopril": "antihypertensive",
    "losartan": "antihypertensive",
    "valsartan": "antihypertensive",
    "amlodipine": "antihypertensive",
    "nifedipine": "antihypertensive",
    "verapamil": "antihypertensive",
    "diltiazem": "antihypertensive",
    "metoprolol": "antihypertensive",
    "atenolol": "antihypertensive",
    "carvedilol": "antihypertensive",
}

_WORD = re.compile(r"[a-z]+")
_SYSTEMIC = re.compile(r"\b(oral|inject)", re.IGNORECASE)


def medication_class(codes: list[str], texts: list[str]) -> tuple[str, str] | None:
    """The medication class of a drug and how it was found, or None.

    Parameters
    ----------
    codes : list of str
        The RxNorm codes of the drug's codings.
    texts : list of str
        Its ``display`` and ``text`` strings.

    Returns
    -------
    tuple of (str, str) or None
        ``(class, "RxNorm 855332")`` or ``(class, "ingredient name 'warfarin'")``.
    """
    for code in codes:
        if code in RXNORM_CLASSES:
            return RXNORM_CLASSES[code][0], f"RxNorm {code}"
    for text in texts:
        for word in _WORD.findall(text.lower()):
            cls = INGREDIENT_CLASSES.get(word)
            if cls == "long_term_corticosteroid" and not _SYSTEMIC.search(text):
                continue
            if cls is not None:
                return cls, f"ingredient name {word!r}"
    return None
