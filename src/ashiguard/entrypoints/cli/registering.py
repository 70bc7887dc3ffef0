"""``ashiguard register``: find the prone client on a mat under the body and place the zones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ashiguard.entrypoints.cli._common import fail, print_json, refusing_bad_input

__all__ = ["register"]

_NOT_UNDER = {
    "on_client": "a sheet on the client's back measures the therapist's feet, not the body",
    "foot": "a grid under the therapist's foot holds no body",
}


def _check_placement(path: Path, placement: str | None) -> None:
    if placement in _NOT_UNDER:
        fail(
            f"{path}: placement {placement!r}: registration needs a mat under the client "
            f"(under_client); {_NOT_UNDER[placement]}"
        )


def _mean_frame(path: Path) -> tuple[Any, float | None, float | None, str]:
    """Mean frame [rows, cols], column pitch, row pitch and units of a recording or export."""
    import numpy as np

    if path.suffix.lower() in (".h5", ".hdf5"):
        from ashiguard.adapters.recording import open_recording

        with open_recording(path) as rec:
            meta = rec.meta
            if meta.rows is None or meta.frames == 0:
                fail(f"{path}: /mat: no mat frames to register")
            _check_placement(path, meta.placement)
            total = np.zeros((meta.rows, meta.cols or 0), dtype=np.float64)
            count = np.zeros_like(total)
            for _, pressure in rec.iter_chunks():
                finite = np.isfinite(pressure)
                total += np.where(finite, pressure, 0.0).sum(axis=0)
                count += finite.sum(axis=0)
            mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
            return mean, meta.pitch_mm, meta.row_pitch_mm, meta.units or "kPa"
    from ashiguard.adapters.importers import import_file

    imported = import_file(path)
    if imported.pressure is None or imported.frames == 0:
        fail(f"{path}: no pressure grid to register (insole data has no mat)")
    _check_placement(path, imported.placement)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(imported.pressure.astype(np.float64), axis=0)
    return mean, imported.pitch_mm, imported.row_pitch_mm, imported.units


def register_command(
    frames: Path = typer.Argument(..., help="Recording (.h5) or vendor export of the mat."),
    height_cm: str = typer.Option(..., "--height-cm", help="Client's standing height, cm."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write the mean frame with the zones overlaid (PNG)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the placement as JSON."),
    pitch: str | None = typer.Option(
        None,
        "--pitch-mm",
        help="Sensel pitch, mm, overriding the file's; 'auto' estimates it from body length.",
    ),
) -> None:
    """Find the prone client on a mat under the body and place the zone map on it."""
    try:
        height_mm = float(height_cm) * 10.0
    except ValueError:
        fail(f"--height-cm: {height_cm!r} is not a number of cm")
    pitch_mm: float | None
    if pitch is None or pitch == "auto":
        pitch_mm = None
    else:
        try:
            pitch_mm = float(pitch)
        except ValueError:
            fail(f"--pitch-mm: {pitch!r} is not a number of mm or 'auto'")
        if not pitch_mm > 0:
            fail(f"--pitch-mm: must be > 0, got {pitch}")
    if output is not None and output.suffix.lower() != ".png":
        fail(f"--output: {output}: the overlay is a PNG, name the file *.png")
    from ashiguard.domain.registration import register

    with refusing_bad_input():
        mean, file_pitch, row_pitch, units = _mean_frame(frames)
        if pitch is None:
            pitch_mm = file_pitch
            if row_pitch is not None and file_pitch and abs(row_pitch / file_pitch - 1) > 0.01:
                register(mean, None, height_mm)  # refuses a coarse or empty mat first
                fail(
                    f"{frames}: sensels are not square (columns {file_pitch:g} mm, rows "
                    f"{row_pitch:g} mm): give --pitch-mm"
                )
        reg = register(mean, pitch_mm, height_mm)
    if output is not None:
        from ashiguard.adapters.drawing import save_zones_png

        title = (
            f"{frames.name}: head at {reg.head_end.replace('_', ' ')}, quality {reg.quality:.2f}"
        )
        heat = mean if units == "kPa" else None
        try:
            save_zones_png(
                output, reg.zone_map(), heat, reg.grid() if heat is not None else None, title=title
            )
        except OSError as exc:
            fail(f"--output: {output}: cannot write: {exc.strerror}")
    if as_json:
        print_json(reg.to_json())
        return
    _print_text(reg, output)


def _print_text(reg: Any, output: Path | None) -> None:
    g = reg.grid()
    typer.echo(f"head end     {reg.head_end}")
    typer.echo(f"midline col  {reg.midline_col:.2f}")
    typer.echo(f"pitch        {reg.pitch_mm:.1f} mm ({reg.pitch_source})")
    typer.echo(
        f"grid         origin ({g.origin_mm[0]:.0f}, {g.origin_mm[1]:.0f}) mm, "
        f"rotation {g.rotation_deg:g} deg"
    )
    typer.echo(f"quality      {reg.quality:.2f}")
    for reason in reg.reasons:
        typer.echo(f"  - {reason}")
    typer.echo("landmark rows:")
    for name, row in reg.landmarks_row().items():
        typer.echo(f"  {name:13} {row:6.2f}")
    if output is not None:
        typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command("register")(register_command)
