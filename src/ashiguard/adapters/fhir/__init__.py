"""FHIR R4 interchange: intake Questionnaire/QuestionnaireResponse, record import, export.

See docs/fhir.md for the mappings and the choices made where FHIR leaves room.
"""

from ashiguard.adapters.fhir.questionnaire import (
    QUESTIONNAIRE_URL,
    QUESTIONNAIRE_VERSION,
    intake_to_questionnaire_response,
    questionnaire,
    questionnaire_response_to_intake,
)
from ashiguard.adapters.fhir.records import ImportResult, intake_from_bundle
from ashiguard.adapters.fhir.screening_export import check_reference, screening_to_fhir
from ashiguard.adapters.fhir.session_export import session_to_fhir

__all__ = [
    "QUESTIONNAIRE_URL",
    "QUESTIONNAIRE_VERSION",
    "ImportResult",
    "check_reference",
    "intake_from_bundle",
    "intake_to_questionnaire_response",
    "questionnaire",
    "questionnaire_response_to_intake",
    "screening_to_fhir",
    "session_to_fhir",
]
