"""``ashiguard import``: convert a vendor pressure export into an ashiguard recording."""

from __future__ import annotations

import typer

from ashiguard.entrypoints.cli._common import print_json, refusing_bad_input

__all__ = ["register"]


def import_cmd(
    source: str = typer.Argument(
        ..., help="Vendor export (Tekscan, XSENSOR, novel, Moticon, PoPu)."
    ),
    out: str = typer.Option(..., "-o", "--output", help="Recording to write (HDF5)."),
    fmt: str = typer.Option(
        None, "--format", help="Force a format instead of detecting it (see --list-formats)."
    ),
    side: str = typer.Option(
        None, "--side", help="left/right: which foot of a two-sensor export (XSENSOR)."
    ),
    tare_window: str = typer.Option(
        None,
        "--tare-window",
        help="START:END s with nothing on the sensor: each sensel's mean there is subtracted.",
    ),
    calibration: str = typer.Option(
        None,
        "--calibration",
        help="Calibration file (ashiguard.calibration/1, JSON or CSV): raw counts -> kPa.",
    ),
    drift_correct: bool = typer.Option(
        False,
        "--drift-correct",
        help="Subtract the baseline drift measured through the unloaded frames.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Import a vendor pressure export (format detected from content) into REC.h5."""
    from ashiguard.adapters.importers import apply_corrections, import_file, write_imported
    from ashiguard.domain.zeroing import parse_tare_window

    with refusing_bad_input():
        window = parse_tare_window(tare_window) if tare_window is not None else None
        imported = import_file(source, fmt, side=side)
        apply_corrections(
            imported, tare_window=window, calibration=calibration, drift=drift_correct
        )
        path = write_imported(imported, out)
    summary = {
        "output": str(path),
        "format": imported.source_format,
        "frames": imported.frames,
        "grid": list(imported.shape) if imported.shape else None,
        "pitch_mm": imported.pitch_mm,
        "units": imported.units,
        "source_units": imported.source_units,
        "scale_to_kpa": imported.scale_to_kpa,
        "placement": imported.placement,
        "side": imported.side,
        "insoles": sorted(imported.insoles),
        "insole_samples": {k: int(v.time.shape[0]) for k, v in sorted(imported.insoles.items())},
        "aux": {k: list(v.columns) for k, v in sorted(imported.aux.items())},
        "annotations": len(imported.annotations),
        "sensel_faults": None
        if imported.sensel_faults is None
        else [f.to_json() for f in imported.sensel_faults],
        "tare_window_s": imported.mat_attrs["tare_window_s"].tolist()
        if "tare_window_s" in imported.mat_attrs
        else None,
        "calibration": imported.mat_attrs.get("calibration_file"),
        "drift_corrected": "drift_corrected" in imported.mat_attrs,
        "notes": list(imported.notes),
    }
    if as_json:
        print_json(summary)
        return
    read = []  # what was read: grid frames, insole samples, or both
    if imported.shape:
        read.append(f"{imported.frames} frames, grid {'x'.join(map(str, imported.shape))}")
    for side, ins in sorted(imported.insoles.items()):
        sensors = f", {ins.pressure.shape[1]} sensors" if ins.pressure is not None else ""
        span = f", {ins.time[-1] - ins.time[0]:.1f} s" if ins.time.size > 1 else ""
        read.append(f"{side} insole {ins.time.shape[0]} samples{sensors}{span}")
    typer.echo(
        f"{path}: {imported.source_format}, {'; '.join(read) or 'no data'}, "
        f"units {imported.units} (from {imported.source_units}), placement {imported.placement}"
    )
    for note in imported.notes:
        typer.echo(f"note: {note}")


def list_formats() -> None:
    """List the import formats and what each reads."""
    from ashiguard.adapters.importers import FORMATS

    for f in FORMATS.values():
        typer.echo(f"{f.name:10} {f.description}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
    app.command("import-formats")(list_formats)
