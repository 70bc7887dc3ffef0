"""``ashiguard fhir``: FHIR R4 interchange (intake Questionnaire, record import, export)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer

from ashiguard.entrypoints.cli._common import fail, print_json, read_text_arg, refusing_bad_input

__all__ = ["register"]

fhir_app = typer.Typer(
    help="FHIR R4 interchange with a clinic's EHR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _day(on: str | None) -> date:
    if on is None:
        return date.today()
    try:
        return date.fromisoformat(on)
    except ValueError:
        fail(f"--on: expected a date as YYYY-MM-DD, got {on!r}")


@fhir_app.command("questionnaire")
def _questionnaire() -> None:
    """Print the intake as a FHIR R4 Questionnaire."""
    from ashiguard.adapters.fhir import questionnaire

    print_json(questionnaire())


@fhir_app.command("import")
def _import(
    bundle: str = typer.Argument(..., help="FHIR R4 Bundle JSON (e.g. Synthea), or - for stdin."),
    on: str | None = typer.Option(None, "--on", help="Screening day YYYY-MM-DD (default today)."),
    patient: str | None = typer.Option(
        None, "--patient", help="Patient id, when the bundle holds several patients."
    ),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Write the intake to this file instead of stdout."
    ),
) -> None:
    """Import a patient's FHIR record as an intake (notes on stderr)."""
    from ashiguard.adapters.fhir import intake_from_bundle

    day = _day(on)
    text = read_text_arg(bundle)
    with refusing_bad_input():
        result = intake_from_bundle(text, on=day, patient_id=patient)
    doc = result.intake.to_json()
    if output is not None:
        try:
            Path(output).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            fail(f"{output}: cannot write: {exc.strerror}")
    for note in result.notes:
        typer.echo(f"ashiguard: note: {note}", err=True)
    if output is None:
        print_json(doc)


@fhir_app.command("export-screening")
def _export_screening(
    screening: str = typer.Argument(..., help="ashiguard.screening/1 JSON, or - for stdin."),
    patient: str = typer.Option(..., "--patient", help="The client in the EHR: Patient/123."),
    basis: list[str] = typer.Option(
        [], "--basis", help="A further reference the assessment rests on (repeatable)."
    ),
) -> None:
    """Print a screening as a FHIR Bundle (RiskAssessment and Flags)."""
    from ashiguard.adapters.fhir import screening_to_fhir
    from ashiguard.domain.screening import parse_screening

    text = read_text_arg(screening)
    with refusing_bad_input():
        bundle = screening_to_fhir(parse_screening(text), patient, basis)
    print_json(bundle)


@fhir_app.command("export-session")
def _export_session(
    recording: Path = typer.Argument(..., help="The session's recording (ashiguard.recording/1)."),
    patient: str = typer.Option(..., "--patient", help="The client in the EHR: Patient/123."),
    session_json: str | None = typer.Option(
        None,
        "--session-json",
        help="The session as GET /api/v1/sessions/{id} gives it (times, notes, signature, "
        "alarms, summary), or - for stdin.",
    ),
    screening: str | None = typer.Option(
        None, "--screening", help="ashiguard.screening/1 JSON the session was started under."
    ),
    no_report: bool = typer.Option(
        False, "--no-report", help="Leave out the report PDF (DocumentReference)."
    ),
) -> None:
    """Print a session as a FHIR Bundle (Procedure, Observations, report PDF)."""
    from ashiguard.services.exports import recording_fhir

    with refusing_bad_input():
        session = _json_object(read_text_arg(session_json), "session") if session_json else None
        sc = _json_object(read_text_arg(screening), "screening") if screening else None
        bundle = recording_fhir(
            recording, patient, session=session, screening=sc, with_report=not no_report
        )
    print_json(bundle)


def _json_object(text: str, where: str) -> dict[str, Any]:
    from ashiguard.domain.errors import InputError

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{where}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: must be a JSON object")
    return data


@fhir_app.command("qr-to-intake")
def _qr_to_intake(
    qr: str = typer.Argument(..., help="FHIR QuestionnaireResponse JSON, or - for stdin."),
) -> None:
    """Read a QuestionnaireResponse of the intake Questionnaire as an intake."""
    from ashiguard.adapters.fhir import questionnaire_response_to_intake

    text = read_text_arg(qr)
    with refusing_bad_input():
        intake = questionnaire_response_to_intake(text)
    print_json(intake.to_json())


@fhir_app.command("intake-to-qr")
def _intake_to_qr(
    intake: str = typer.Argument(..., help="Intake JSON (ashiguard.intake/1), or - for stdin."),
) -> None:
    """Print an intake as a FHIR QuestionnaireResponse."""
    from ashiguard.adapters.fhir import intake_to_questionnaire_response
    from ashiguard.domain.intake import parse_intake

    text = read_text_arg(intake)
    with refusing_bad_input():
        qr = intake_to_questionnaire_response(parse_intake(text))
    print_json(qr)


def register(app: typer.Typer) -> None:
    app.add_typer(fhir_app, name="fhir")
