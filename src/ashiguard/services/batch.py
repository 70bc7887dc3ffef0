"""Analyse many recordings on a Dask cluster (``ashiguard analyze-batch``).

Each recording goes through the same offline analysis as ``ashiguard analyze``
(:func:`ashiguard.services.analyze.analyze_recording`) in a Dask worker, one task per
recording; the results become one table row per recording and zone, written as Parquet and
CSV. A file that cannot be analysed (corrupt, not a recording, unreadable) becomes one row
with ``zone`` null and ``error`` set, and the batch carries on.

Notes
-----
- The per-recording work, :func:`analyze_one`, is a top-level function so that Dask can ship
  it to worker processes by reference; workers need ``ashiguard`` installed and must see the
  recordings at the same absolute paths as the client (a shared file system).
- Nothing in a row is computed here: every number is copied from the analysis summary or
  counted from its alert episodes, so a batch row equals what ``ashiguard analyze`` reports.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ashiguard.domain.alarms import KINDS, PRIORITIES, AlarmConfig
from ashiguard.domain.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa
    from distributed import Client

    from ashiguard.services.analyze import Analysis

__all__ = [
    "COLUMNS",
    "RECORDING_SUFFIXES",
    "BatchResult",
    "analyze_batch",
    "analyze_one",
    "dask_client",
    "error_row",
    "find_recordings",
    "rows_from_analysis",
    "rows_table",
    "write_rows",
]

RECORDING_SUFFIXES: tuple[str, ...] = (".h5", ".hdf5")
"""File name endings taken from a directory argument."""

_ZONE_FLOATS: tuple[str, ...] = (
    "limit_kpa",
    "peak_kpa",
    "peak_below_kpa",
    "peak_sensel_kpa",
    "mean_kpa",
    "dose_kpa_s",
    "contact_time_s",
    "over_limit_s",
)
_ZONE_KEYS: dict[str, str] = {"contact_time_s": "contact_s"}  # column -> summary key

COLUMNS: tuple[str, ...] = (
    "recording",
    "zone",
    "placement",
    "frames",
    "duration_s",
    *_ZONE_FLOATS,
    "strokes",
    *(f"zone_alerts_{p}" for p in PRIORITIES),
    "alerts_total",
    *(f"alerts_{p}" for p in PRIORITIES),
    *(f"alerts_{k}" for k in KINDS),
    "error",
)
"""Column order of the batch table (documented in docs/batch.md)."""

_TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
_STRINGS = frozenset({"recording", "zone", "placement", "error"})
_FLOATS = frozenset({"duration_s", *_ZONE_FLOATS})


@dataclass(frozen=True)
class BatchResult:
    """What :func:`analyze_batch` produced.

    Attributes
    ----------
    rows : list of dict
        One row per recording and zone, keys :data:`COLUMNS`, in input order.
    recordings : int
        Recordings analysed (good and bad).
    failed : int
        Recordings that gave an error row.
    elapsed_s : float, s
        Wall time from submitting the first task to the last result (no cluster start-up).
    """

    rows: list[dict[str, Any]]
    recordings: int
    failed: int
    elapsed_s: float

    @property
    def per_min(self) -> float:
        """Recordings per minute of :attr:`elapsed_s`."""
        return self.recordings / self.elapsed_s * 60.0 if self.elapsed_s > 0 else float("inf")


def find_recordings(patterns: Sequence[str]) -> list[str]:
    """Expand directories, glob patterns and file names into recording paths.

    A directory gives its ``*.h5`` / ``*.hdf5`` files (not recursive); a pattern with ``*``,
    ``?`` or ``[`` is expanded with :func:`glob.glob` (``**`` recurses); anything else is taken
    as one file. Paths keep the form they were given in (relative stays relative); the result
    is in argument order, each directory and pattern sorted, without duplicates.

    Raises
    ------
    InputError
        When no argument is given, or an argument matches nothing.
    """
    if not patterns:
        raise InputError("PATHS: give a directory, a glob pattern or recording files")
    out: dict[str, None] = {}
    for pat in patterns:
        p = Path(pat)
        if p.is_dir():
            found = sorted(
                str(p / name)
                for name in os.listdir(p)
                if name.lower().endswith(RECORDING_SUFFIXES) and not (p / name).is_dir()
            )
            if not found:
                raise InputError(f"PATHS: {pat}: no *.h5 or *.hdf5 files in this directory")
        elif any(c in pat for c in "*?["):
            found = sorted(f for f in glob.glob(pat, recursive=True) if not Path(f).is_dir())
            if not found:
                raise InputError(f"PATHS: {pat}: no files match")
        elif p.exists():
            found = [pat]
        else:
            raise InputError(f"PATHS: {pat}: no such file or directory")
        out.update(dict.fromkeys(found))
    return list(out)


def _blank(label: str) -> dict[str, Any]:
    return dict.fromkeys(COLUMNS) | {"recording": label}


def error_row(label: str, message: str) -> dict[str, Any]:
    """The one row of a recording that could not be analysed (``message`` made one line)."""
    return _blank(label) | {"error": " ".join(str(message).split()) or "failed"}


def rows_from_analysis(label: str, analysis: Analysis) -> list[dict[str, Any]]:
    """The table rows of one analysed recording: one per zone of its summary.

    A recording without zones (no zone map: an under-client mat, insoles, bars) gives one row
    with ``zone`` null and ``error`` null, so that it still shows in the table.
    """
    s = analysis.summary
    alerts = analysis.alerts
    t0, t1 = s.get("t_first"), s.get("t_last")
    base = _blank(label) | {
        "placement": s.get("placement"),
        "frames": int(s.get("frames", 0)),
        "duration_s": round(t1 - t0, 3) if t0 is not None and t1 is not None else None,
        "alerts_total": len(alerts),
    }
    for p in PRIORITIES:
        base[f"alerts_{p}"] = sum(1 for a in alerts if a.priority == p)
    by_kind: Mapping[str, int] = s.get("alerts_by_kind", {})
    for k in KINDS:
        base[f"alerts_{k}"] = int(by_kind.get(k, sum(1 for a in alerts if a.kind == k)))
    zones: Mapping[str, Mapping[str, Any]] = s.get("zones") or {}
    if not zones:
        return [base]
    rows = []
    for zone, z in zones.items():
        row = base | {"zone": zone, "strokes": z.get("strokes")}
        for col in _ZONE_FLOATS:
            row[col] = z.get(_ZONE_KEYS.get(col, col))
        for p in PRIORITIES:
            row[f"zone_alerts_{p}"] = sum(1 for a in alerts if a.zone == zone and a.priority == p)
        rows.append(row)
    return rows


def analyze_one(path: str, config: AlarmConfig, label: str | None = None) -> list[dict[str, Any]]:
    """Analyse one recording and return its rows; never raises for a bad file.

    Parameters
    ----------
    path : str
        The recording, as the worker sees it (an absolute path on a cluster).
    config : AlarmConfig
        Limits, as ``ashiguard analyze`` builds them (:func:`limits_from_files`).
    label : str, optional
        What the ``recording`` column says (the path as the user gave it); default ``path``.
        Error messages name ``label`` instead of ``path``.
    """
    from ashiguard.services.analyze import analyze_recording

    name = path if label is None else label
    try:
        analysis = analyze_recording(path, config)
    except Exception as exc:  # one bad file must never stop the batch
        msg = str(exc).replace(str(path), name)
        if not isinstance(exc, InputError):
            msg = f"{name}: {type(exc).__name__}: {msg}" if msg else f"{name}: {exc!r}"
        return [error_row(name, msg)]
    return rows_from_analysis(name, analysis)


@contextmanager
def dask_client(
    scheduler: str | None = None, *, workers: int = 2, timeout_s: float = 10.0
) -> Iterator[Client]:
    """A Dask client on an existing scheduler, or on a new local cluster, closed on exit.

    Parameters
    ----------
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running ``dask scheduler``; None starts a
        :class:`distributed.LocalCluster` of ``workers`` processes with one thread each (no
        dashboard) and shuts it down afterwards.
    workers : int
        Worker processes of the local cluster.
    timeout_s : float, s
        How long to wait for the scheduler to answer.

    Raises
    ------
    OSError
        When the scheduler cannot be reached within ``timeout_s``.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler, timeout=timeout_s) as client:
            yield client
        return
    if workers < 1:
        raise InputError(f"workers: must be at least 1, got {workers}")
    import dask

    # distributed starts worker processes with MALLOC_TRIM_THRESHOLD_=65536, which fixes
    # glibc's mmap threshold: every frame chunk (12 MB at 512 x 128 x 48) is then mapped and
    # page-faulted afresh, about 45 % more CPU per recording. Not set here (docs/batch.md).
    with dask.config.set({_TRIM_KEY: None}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
    with cluster, Client(cluster) as client:
        yield client


def analyze_batch(
    paths: Sequence[str],
    config: AlarmConfig | None = None,
    *,
    client: Client | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Analyse ``paths`` on Dask, one task per recording, and collect the rows.

    Parameters
    ----------
    paths : sequence of str
        Recordings, as the user gave them (they become the ``recording`` column); workers
        get their absolute paths.
    config : AlarmConfig, optional
        Limits (default: the built-in ones).
    client : distributed.Client, optional
        Use this client (its cluster stays up). Otherwise ``scheduler`` (an address) or a new
        local cluster of ``workers`` processes is used for this call only.
    progress : callable, optional
        Called with (recordings done, total) in the calling process as results arrive.

    Returns
    -------
    BatchResult
        Rows in input order (per recording, zones in the summary's order).
    """
    if client is None:
        with dask_client(scheduler, workers=workers) as own:
            return analyze_batch(paths, config, client=own, progress=progress)
    from distributed import as_completed

    cfg = config if config is not None else AlarmConfig()
    labels = list(paths)
    absolute = [os.path.abspath(p) for p in labels]
    t0 = time.perf_counter()
    futures = client.map(analyze_one, absolute, [cfg] * len(labels), labels, pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[list[dict[str, Any]]] = [[] for _ in labels]
    if progress is not None:
        progress(0, len(labels))
    for done, fut in enumerate(as_completed(futures), start=1):
        i = index[fut.key]
        try:
            results[i] = fut.result()
        except Exception as exc:  # the task itself failed (a worker died, a lost connection)
            results[i] = [error_row(labels[i], f"{labels[i]}: worker failed: {exc!r}")]
        fut.release()
        if progress is not None:
            progress(done, len(labels))
    elapsed = time.perf_counter() - t0
    rows = [r for rs in results for r in rs]
    failed = sum(1 for rs in results if rs and rs[0]["error"] is not None)
    return BatchResult(rows, len(labels), failed, elapsed)


def rows_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The rows as a :class:`pyarrow.Table` with :data:`COLUMNS` and fixed types."""
    import pyarrow as pa

    def kind(col: str) -> pa.DataType:
        if col in _STRINGS:
            return pa.string()
        return pa.float64() if col in _FLOATS else pa.int64()

    schema = pa.schema([pa.field(c, kind(c)) for c in COLUMNS])
    return pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=schema)


def write_rows(rows: Sequence[Mapping[str, Any]], out: str | Path) -> tuple[Path, Path]:
    """Write the rows as Parquet at ``out`` and as CSV beside it (same stem, ``.csv``).

    Each file is written to a temporary name first and then moved into place, so an
    interrupted run never leaves half a table. Returns (parquet path, CSV path).
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = rows_table(rows)
    parquet = Path(out)
    csv = parquet.with_suffix(".csv")
    for path, write in (
        (parquet, lambda tmp: pq.write_table(table, tmp)),
        (csv, lambda tmp: pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="needed"))),
    ):
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            write(str(tmp))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return parquet, csv
