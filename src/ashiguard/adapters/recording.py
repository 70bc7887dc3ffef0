"""HDF5 recordings (contract ``ashiguard.recording/1``): crash-safe writer, validating reader.

Layout (see docs/recordings.md for every dataset and attribute):

- ``/`` attrs ``schema``, ``started_at``, ``therapist_mass_kg`` (absent when unknown), ``complete``.
- ``/mat/pressure`` float32 ``[N, rows, cols]`` kPa (NaN = sensel not reporting), ``/mat/time``
  float64 ``[N]`` s, optional ``/mat/counter`` int64 ``[N]``; ``/mat`` attrs ``pitch_mm``,
  ``origin_mm``, ``placement``, ``side``, ``units``, ``dropped_frames``, ``reordered_frames``.
- ``/bars/force`` float32 ``[M, 2]`` N (left, right) and ``/bars/time``.
- ``/insoles/<side>/force`` float32 ``[K]`` N, ``time``, optional ``pressure`` ``[K, S]`` kPa,
  ``cop_mm`` or ``cop_norm`` ``[K, 2]``.
- ``/aux/<name>/time`` float64 ``[K]`` s and ``/aux/<name>/values`` float32 ``[K, C]``, group
  attrs ``columns`` and ``units`` (JSON lists): auxiliary channels of imports (IMU, force/COP
  tables, columns the importer does not know).
- ``/truth/events`` compound ``(kind, zone, t_start, t_end, extra)``; ``/alerts/events`` and
  ``/annotations/events`` JSON Lines (one JSON object per row).

Crash safety: the file is written in HDF5 SWMR mode (``libver='latest'``). Frames are buffered
and written at least every ``flush_interval_s`` (0.25 s by default) by the appending thread or,
when frames stop coming, by a background thread, followed by an HDF5 flush. A writer killed with
SIGKILL leaves a file whose root attr ``complete`` is false; the reader opens it in SWMR read
mode and keeps every frame whose time was flushed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import threading
import time as _time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError

__all__ = [
    "PLACEMENTS",
    "SCHEMA",
    "SIDES",
    "UNITS",
    "AuxData",
    "InsoleData",
    "RecordingMeta",
    "RecordingReader",
    "RecordingWriteError",
    "RecordingWriter",
    "lower_thread_priority",
    "open_recording",
]

SCHEMA = "ashiguard.recording/1"
PLACEMENTS = ("on_client", "under_client", "foot", "other")
SIDES = ("left", "right")
UNITS = ("kPa", "raw")

_TRUTH_DTYPE = np.dtype(
    [("kind", "S32"), ("zone", "S48"), ("t_start", "<f8"), ("t_end", "<f8"), ("extra", "S512")]
)
_TIME_BLOCK = 1 << 16
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def lower_thread_priority(nice: int) -> None:
    """Give the calling thread the scheduling niceness ``nice`` (> 0: it yields the CPU to the
    process's other threads and to other processes when the machine is busy; Linux schedules
    threads one by one). Nothing happens for ``nice <= 0`` or where the OS refuses."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), int(nice))


class RecordingWriteError(OSError):
    """The recording could not be written (``errno`` ``ENOSPC``: the disk is full); what was
    flushed before stays readable, and nothing more is written to the file."""

    @property
    def disk_full(self) -> bool:
        return self.errno == errno.ENOSPC


def _write_error(path: Path, exc: BaseException) -> RecordingWriteError:
    """HDF5 reports a failed write as RuntimeError or OSError with the C errno in its text."""
    text = str(exc)
    full = getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in text
    if full:
        return RecordingWriteError(errno.ENOSPC, "the disk is full", str(path))
    first = text.split("\n", 1)[0].strip()
    return RecordingWriteError(getattr(exc, "errno", None) or errno.EIO, first, str(path))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{name}: must be a positive number, got {value!r}")
    return v


# --------------------------------------------------------------------------------------- writer


class RecordingWriter:
    """Write an ``ashiguard.recording/1`` file frame by frame, crash-safe.

    Parameters
    ----------
    path : path of the ``.h5`` file to create (an existing file is replaced).
    rows, cols : grid size of ``/mat``; both None for a recording without a mat (insoles only).
    pitch_mm : float, mm
        Sensel pitch (centre to centre, along a row, i.e. the column spacing).
    origin_mm : (x, y), mm, optional
        Body-frame position of the centre of sensel [0, 0].
    placement : ``on_client`` (default), ``under_client``, ``foot`` (needs ``side``) or ``other``.
    therapist_mass_kg : kg, optional.
    started_at : ISO 8601 time of the first frame (default: now, UTC).
    client : dict with ``height_cm``, ``weight_kg``, optional ``landmarks_mm`` (name -> y mm).
    units : ``kPa`` (default) or ``raw`` (sensor counts with no known kPa scale).
    row_pitch_mm : mm, optional; row spacing when the sensels are not square.
    mat_attrs : extra ``/mat`` attrs (e.g. ``source_format``, ``source_header`` as JSON text).
    counter : bool
        Create ``/mat/counter`` (then every ``append`` must give the source frame counter).
    bars : bool
        Create ``/bars`` up front (otherwise the first ``append_bars`` creates it, briefly
        leaving SWMR mode: see Notes).
    compression : ``lzf`` (default), ``gzip`` or None.
    chunk_frames : frames per HDF5 chunk of ``/mat/pressure``.
    flush_interval_s : s, at most 0.5: buffered frames reach the file at least this often.
    flush_nice : int
        Niceness of the thread that flushes (and compresses) while the appender idles (0: as
        the process; a session host gives 10: see :data:`ashiguard.services.session_host.
        RECORDING_NICE`).

    Notes
    -----
    Time must be finite and strictly increasing; a frame that breaks this is refused with
    :class:`InputError` rather than silently reordered (the source owns reordering).
    Creating a group after the start (first ``append_bars`` without ``bars=True``, first
    ``append_insole`` of a foot, ``write_truth``/``write_alerts``/``write_annotations``) closes
    and reopens the file outside SWMR mode for about a millisecond; a SIGKILL inside that
    window can leave a file that needs ``h5clear -s``. Everything else is crash-safe.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        rows: int | None = None,
        cols: int | None = None,
        pitch_mm: float | None = None,
        origin_mm: Sequence[float] | None = None,
        placement: str = "on_client",
        side: str | None = None,
        therapist_mass_kg: float | None = None,
        started_at: str | None = None,
        client: Mapping[str, Any] | None = None,
        units: str = "kPa",
        row_pitch_mm: float | None = None,
        mat_attrs: Mapping[str, Any] | None = None,
        counter: bool = False,
        bars: bool = False,
        compression: str | None = "lzf",
        chunk_frames: int = 16,
        flush_interval_s: float = 0.25,
        flush_nice: int = 0,
    ) -> None:
        self._validate_args(rows, cols, pitch_mm, placement, side, units, flush_interval_s)
        self.path = Path(path)
        self.rows, self.cols = rows, cols
        self.flush_interval_s = float(flush_interval_s)
        self.flush_nice = int(flush_nice)
        self._lock = threading.RLock()
        self._closed = False
        self._n = 0
        self._last_t = -math.inf
        self._buf_t: list[F64] = []
        self._buf_p: list[F32] = []
        self._buf_c: list[npt.NDArray[np.int64]] = []
        self._buffered = 0
        self._last_flush = _time.monotonic()
        self._last_append = self._last_flush
        self._counter = counter
        self._compression = compression
        self._chunk = max(1, int(chunk_frames))
        self._bars_n = 0
        self._bars_last = -math.inf
        self._insole_n: dict[str, int] = {}
        self._insole_last: dict[str, float] = {}
        self._stats: dict[str, int] = {}
        # Open dataset handles, kept: a handle closed after each write would flush its chunks
        # on close, where HDF5's write errors (a full disk) are printed and lost; kept open,
        # its chunks are written by the file's flush, which raises them.
        self._ds: dict[str, h5py.Dataset] = {}
        self._failed: RecordingWriteError | None = None
        self._failure_raised = False  # told to a caller (the flusher thread tells no one)
        self._pending_t: list[F64] = []
        # Built under a temporary name and renamed once in SWMR mode: the final path only ever
        # names a file that opens.
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.creating")
        try:
            self._f = h5py.File(tmp, "w", libver="latest")
        except OSError as exc:
            raise InputError(f"{self.path}: cannot create recording: {exc}") from None
        try:
            self._init_file(
                pitch_mm=pitch_mm,
                origin_mm=origin_mm,
                placement=placement,
                side=side,
                therapist_mass_kg=therapist_mass_kg,
                started_at=started_at,
                client=client,
                units=units,
                row_pitch_mm=row_pitch_mm,
                mat_attrs=mat_attrs,
            )
        except BaseException:
            self._f.close()
            tmp.unlink(missing_ok=True)
            raise
        if bars:
            self._create_bars()
        self._f.flush()
        self._f.swmr_mode = True
        os.replace(tmp, self.path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flusher, name="recording-flush", daemon=True)
        self._thread.start()

    # -- setup
    @staticmethod
    def _validate_args(
        rows: int | None,
        cols: int | None,
        pitch_mm: float | None,
        placement: str,
        side: str | None,
        units: str,
        flush_interval_s: float,
    ) -> None:
        if (rows is None) != (cols is None):
            raise InputError("rows/cols: give both or neither")
        if rows is not None and (int(rows) < 1 or int(cols or 0) < 1):
            raise InputError(f"rows/cols: must be >= 1, got {rows} x {cols}")
        if rows is not None and pitch_mm is None:
            raise InputError("pitch_mm: required for a mat recording")
        _positive("pitch_mm", pitch_mm)
        if placement not in PLACEMENTS:
            raise InputError(f"placement: {placement!r} is not one of {', '.join(PLACEMENTS)}")
        if rows is not None and placement == "foot" and side not in SIDES:
            raise InputError(f"side: placement 'foot' needs side left or right, got {side!r}")
        if units not in UNITS:
            raise InputError(f"units: {units!r} is not one of {', '.join(UNITS)}")
        if not 0 < flush_interval_s <= 0.5:
            raise InputError(f"flush_interval_s: must be in (0, 0.5] s, got {flush_interval_s}")

    def _init_file(self, **kw: Any) -> None:
        f = self._f
        f.attrs["schema"] = SCHEMA
        f.attrs["started_at"] = kw["started_at"] or _now_iso()
        mass = _positive("therapist_mass_kg", kw["therapist_mass_kg"])
        if mass is not None:
            f.attrs["therapist_mass_kg"] = mass
        f.attrs["complete"] = False
        if kw["client"]:
            self._write_client(kw["client"])
        if self.rows is None:
            return
        g = f.create_group("mat")
        g.attrs["pitch_mm"] = float(kw["pitch_mm"])
        rp = _positive("row_pitch_mm", kw["row_pitch_mm"])
        if rp is not None:
            g.attrs["row_pitch_mm"] = rp
        if kw["origin_mm"] is not None:
            origin = np.asarray(kw["origin_mm"], dtype=np.float64)
            if origin.shape != (2,) or not np.all(np.isfinite(origin)):
                raise InputError(f"origin_mm: must be [x, y] in mm, got {kw['origin_mm']!r}")
            g.attrs["origin_mm"] = origin
        g.attrs["placement"] = kw["placement"]
        if kw["side"] is not None:
            g.attrs["side"] = kw["side"]
        g.attrs["units"] = kw["units"]
        for k, v in (kw["mat_attrs"] or {}).items():
            g.attrs[k] = v
        shape = (int(self.rows), int(self.cols or 0))
        p = g.create_dataset(
            "pressure",
            shape=(0, *shape),
            maxshape=(None, *shape),
            chunks=(self._chunk, *shape),
            dtype=np.float32,
            compression=self._compression,
            fillvalue=np.float32(np.nan),
        )
        p.attrs["units"] = kw["units"]
        t = g.create_dataset(
            "time",
            shape=(0,),
            maxshape=(None,),
            chunks=(4096,),
            dtype=np.float64,
            fillvalue=np.nan,
        )
        t.attrs["units"] = "s"
        if self._counter:
            g.create_dataset(
                "counter", shape=(0,), maxshape=(None,), chunks=(4096,), dtype=np.int64
            )

    def _write_client(self, client: Mapping[str, Any]) -> None:
        g = self._f.require_group("client")
        for key in ("height_cm", "weight_kg"):
            if client.get(key) is not None:
                g.attrs[key] = _positive(f"client.{key}", client[key]) or 0.0
        lm = client.get("landmarks_mm")
        if lm is not None:
            if not isinstance(lm, Mapping):
                raise InputError("client.landmarks_mm: must be an object of landmark name to y mm")
            g.attrs["landmarks_mm"] = json.dumps({str(k): float(v) for k, v in lm.items()})

    # -- structural changes leave SWMR mode for a moment (new datasets, attrs)
    def _dataset(self, name: str) -> h5py.Dataset:
        ds = self._ds.get(name)
        if ds is None:
            ds = self._ds[name] = self._f[name]
        return ds

    def _restructure(self) -> h5py.File:
        self._f.flush()
        self._ds.clear()
        self._f.close()
        self._f = h5py.File(self.path, "a", libver="latest")
        return self._f

    def _resume_swmr(self) -> None:
        self._f.flush()
        self._f.swmr_mode = True

    # -- frames
    def append(
        self,
        times: float | npt.ArrayLike,
        pressure: npt.ArrayLike,
        counter: int | npt.ArrayLike | None = None,
    ) -> None:
        """Append one frame (``times`` scalar, ``pressure`` [rows, cols]) or k frames, kPa, s."""
        if self.rows is None:
            raise InputError("append: this recording has no /mat (rows/cols not given)")
        t = np.atleast_1d(np.array(times, dtype=np.float64))
        p = np.array(pressure, dtype=np.float32)  # a copy: callers may reuse their buffer
        if p.ndim == 2:
            p = p[np.newaxis]
        if p.shape != (t.shape[0], self.rows, self.cols):
            raise InputError(
                f"append: pressure shape {p.shape} does not match {t.shape[0]} x "
                f"{self.rows} x {self.cols}"
            )
        c = None
        if self._counter:
            if counter is None:
                raise InputError("append: counter required (writer created with counter=True)")
            c = np.atleast_1d(np.asarray(counter, dtype=np.int64))
            if c.shape != t.shape:
                raise InputError(f"append: counter length {c.shape[0]} != {t.shape[0]} frames")
        with self._lock:
            self._check_open()
            self._check_time("append", t, self._last_t, self._n + self._buffered)
            self._last_t = float(t[-1])
            self._buf_t.append(t)
            self._buf_p.append(p)
            if c is not None:
                self._buf_c.append(c)
            self._buffered += t.shape[0]
            if self._buffered >= self._chunk * 8:
                self._guarded(self._write_buffer)
            now = _time.monotonic()
            self._last_append = now
            if now - self._last_flush >= self.flush_interval_s:
                self._flush_locked()

    @staticmethod
    def _check_time(what: str, t: F64, last: float, base: int) -> None:
        if t.shape[0] == 1:  # the per-frame path: plain floats are much cheaper
            v = float(t[0])
            if not math.isfinite(v):
                raise InputError(f"{what}: time not finite at frame {base}")
            if v <= last:
                raise InputError(f"{what}: time not increasing at frame {base} ({v!r} s)")
            return
        bad = ~np.isfinite(t)
        if bad.any():
            raise InputError(f"{what}: time not finite at frame {base + int(np.argmax(bad))}")
        steps = np.diff(np.concatenate(([last], t)))
        if (steps <= 0).any():
            i = int(np.argmax(steps <= 0))
            raise InputError(f"{what}: time not increasing at frame {base + i} ({float(t[i])} s)")

    def _write_buffer(self) -> None:
        if not self._buffered:
            return
        p = np.concatenate(self._buf_p) if len(self._buf_p) > 1 else self._buf_p[0]
        t = np.concatenate(self._buf_t) if len(self._buf_t) > 1 else self._buf_t[0]
        n0, n1 = self._n, self._n + t.shape[0]
        dp = self._dataset("mat/pressure")
        dp.resize(n1, axis=0)
        dp[n0:n1] = p
        if self._counter:
            dc = self._dataset("mat/counter")
            dc.resize(n1, axis=0)
            dc[n0:n1] = np.concatenate(self._buf_c)
        self._pending_t.append(t)  # the times follow once these frames are on disk
        self._n = n1
        self._buf_t, self._buf_p, self._buf_c = [], [], []
        self._buffered = 0

    def _commit_times(self) -> None:
        """Write the times of the frames already written: a frame counts once its time is
        in the file, and its time goes in only after its pressure was flushed."""
        if not self._pending_t:
            return
        t = np.concatenate(self._pending_t) if len(self._pending_t) > 1 else self._pending_t[0]
        dt = self._dataset("mat/time")
        n0 = self._n - t.shape[0]
        dt.resize(self._n, axis=0)
        dt[n0 : self._n] = t
        self._pending_t = []

    def _guarded(self, write: Any) -> None:
        """Run a write; a failure becomes :class:`RecordingWriteError` and ends all writing."""
        try:
            write()
        except (OSError, RuntimeError) as exc:
            self._failed = _write_error(self.path, exc)
            self._failure_raised = True
            self._freeze()
            raise self._failed from None

    def _freeze(self) -> None:
        """After a failed write, let nothing more reach the file: HDF5 would retry its dirty
        caches on close and could overwrite what the last good flush left with half-written
        index blocks. Its descriptor is pointed at /dev/null (the number stays HDF5's until
        it closes it, so no other file can receive those writes)."""
        with contextlib.suppress(Exception):
            fd = int(self._f.id.get_vfd_handle())
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)

    def _flush_all(self) -> None:
        self._write_buffer()
        if self._pending_t:
            # two flushes: a full disk that fails the first leaves no time pointing at
            # pressure that never reached the file
            self._f.flush()
            self._commit_times()
        self._f.flush()

    def _flush_locked(self) -> None:
        self._guarded(self._flush_all)
        self._last_flush = _time.monotonic()

    def flush(self) -> None:
        """Write buffered frames and flush the file now."""
        with self._lock:
            self._check_open()
            self._flush_locked()

    def _flusher(self) -> None:
        lower_thread_priority(self.flush_nice)
        while not self._stop.wait(self.flush_interval_s / 2):
            with self._lock:
                if self._closed or self._failed is not None:
                    return
                now = _time.monotonic()
                # While frames keep coming the appending thread flushes; step in when it idles.
                idle = now - self._last_append >= self.flush_interval_s / 2
                if idle and now - self._last_flush >= self.flush_interval_s:
                    try:
                        self._flush_locked()
                    except RecordingWriteError:
                        self._failure_raised = False  # the next append or close reports it
                        return

    def _check_open(self) -> None:
        if self._closed:
            raise InputError(f"{self.path}: recording already closed")
        if self._failed is not None:
            self._failure_raised = True
            raise self._failed

    # -- bars, insoles
    def _extendable(self, group: str, name: str, tail: tuple[int, ...], dtype: Any) -> None:
        g = self._f.require_group(group)
        if name not in g:
            ds = g.create_dataset(
                name,
                shape=(0, *tail),
                maxshape=(None, *tail),
                chunks=(1024, *tail),
                dtype=dtype,
                compression=self._compression,
                fillvalue=np.nan if np.dtype(dtype).kind == "f" else 0,
            )
            if name == "time":
                ds.attrs["units"] = "s"

    def _create_bars(self) -> None:
        self._extendable("bars", "force", (2,), np.float32)
        self._extendable("bars", "time", (), np.float64)
        self._f["bars/force"].attrs["units"] = "N"
        self._f["bars"].attrs["columns"] = json.dumps(["left", "right"])

    def append_bars(self, times: float | npt.ArrayLike, force: npt.ArrayLike) -> None:
        """Append bar loads: ``times`` [M] s, ``force`` [M, 2] N (left, right bar)."""
        t = np.atleast_1d(np.array(times, dtype=np.float64))
        fo = np.asarray(force, dtype=np.float32).reshape(-1, 2)
        if fo.shape[0] != t.shape[0]:
            raise InputError(f"append_bars: {fo.shape[0]} forces for {t.shape[0]} times")
        with self._lock:
            self._check_open()
            self._check_time("append_bars", t, self._bars_last, self._bars_n)
            if self._bars_n == 0 and "bars" not in self._f:
                self._restructure()
                self._create_bars()
                self._resume_swmr()
            self._append_rows("bars", {"force": fo, "time": t}, self._bars_n)
            self._bars_n += t.shape[0]
            self._bars_last = float(t[-1])

    def _append_rows(self, group: str, data: Mapping[str, npt.NDArray[Any]], n0: int) -> None:
        k = next(iter(data.values())).shape[0]
        for name in sorted(data, key=lambda s: s == "time"):  # time last
            ds = self._dataset(f"{group}/{name}")
            ds.resize(n0 + k, axis=0)
            ds[n0 : n0 + k] = data[name]

    def append_insole(
        self,
        side: str,
        times: npt.ArrayLike,
        force: npt.ArrayLike,
        pressure: npt.ArrayLike | None = None,
        cop_mm: npt.ArrayLike | None = None,
        cop_norm: npt.ArrayLike | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        """Append insole samples for one foot.

        Parameters
        ----------
        side : ``left`` or ``right``.
        times : [K] s; force : [K] N (total force on the insole).
        pressure : [K, S] kPa, optional, one column per sensor (NaN = no reading).
        cop_mm : [K, 2] mm, optional centre of pressure; ``cop_norm`` the same in the insole's
            own normalised coordinates (Moticon: -0.5..+0.5) when no mm scale is known.
        attrs : attrs of ``/insoles/<side>`` set with the first samples (e.g. ``sensor_ids``).
        """
        if side not in SIDES:
            raise InputError(f"side: {side!r} is not left or right")
        t = np.atleast_1d(np.array(times, dtype=np.float64))
        data: dict[str, npt.NDArray[Any]] = {
            "time": t,
            "force": np.atleast_1d(np.asarray(force, dtype=np.float32)),
        }
        for name, arr in (("pressure", pressure), ("cop_mm", cop_mm), ("cop_norm", cop_norm)):
            if arr is not None:
                data[name] = np.asarray(arr, dtype=np.float32).reshape(t.shape[0], -1)
        if any(v.shape[0] != t.shape[0] for v in data.values()):
            raise InputError(f"append_insole: {side}: arrays differ in length from time")
        group = f"insoles/{side}"
        with self._lock:
            self._check_open()
            n = self._insole_n.get(side, 0)
            self._check_time(f"append_insole {side}", t, self._insole_last.get(side, -math.inf), n)
            if n == 0:
                self._restructure()
                for name, arr in data.items():
                    self._extendable(group, name, arr.shape[1:], arr.dtype)
                units = {"force": "N", "pressure": "kPa", "cop_mm": "mm", "cop_norm": "1"}
                for name in data:
                    if name in units:
                        self._f[group][name].attrs["units"] = units[name]
                for k, v in (attrs or {}).items():
                    self._f[group].attrs[k] = v
                self._resume_swmr()
            elif set(data) != set(self._f[group]):
                raise InputError(f"append_insole: {side}: datasets differ from the first append")
            self._append_rows(group, data, n)
            self._insole_n[side] = n + t.shape[0]
            self._insole_last[side] = float(t[-1])

    def write_aux(
        self,
        name: str,
        times: npt.ArrayLike,
        values: npt.ArrayLike,
        *,
        columns: Sequence[str],
        units: Sequence[str],
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        """Store an auxiliary channel ``/aux/<name>`` in one go (importers).

        Parameters
        ----------
        name : group name (letters, digits, ``_``), e.g. ``left_imu``.
        times : [K] s, strictly increasing; values : [K, C] (NaN = no value).
        columns, units : C column names and units (``""`` when the source gives none).
        """
        if not name or not all(c.isalnum() or c == "_" for c in name):
            raise InputError(f"write_aux: name {name!r} is not letters, digits and _")
        t = np.atleast_1d(np.array(times, dtype=np.float64))
        v = np.asarray(values, dtype=np.float32).reshape(t.shape[0], -1)
        if not len(columns) == len(units) == v.shape[1]:
            raise InputError(f"write_aux: {name}: {v.shape[1]} columns but names/units differ")
        self._check_time(f"write_aux {name}", t, -math.inf, 0)
        with self._lock:
            self._check_open()
            self._restructure()
            g = self._f.require_group(f"aux/{name}")
            for k in list(g):
                del g[k]
            g.create_dataset("values", data=v, chunks=True, maxshape=(None, v.shape[1]))
            g.create_dataset("time", data=t, chunks=True, maxshape=(None,))
            g["time"].attrs["units"] = "s"
            g.attrs["columns"] = json.dumps(list(columns), ensure_ascii=False)
            g.attrs["units"] = json.dumps(list(units), ensure_ascii=False)
            for k, val in (attrs or {}).items():
                g.attrs[k] = val
            self._resume_swmr()

    # -- events and stats
    def write_truth(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Store ground-truth events (``kind``, ``zone``, ``t_start``, ``t_end``, any extras)."""
        rows = np.zeros(len(events), dtype=_TRUTH_DTYPE)
        for i, ev in enumerate(events):
            rows[i] = _truth_row(i, ev)
        with self._lock:
            self._check_open()
            self._restructure()
            g = self._f.require_group("truth")
            if "events" in g:
                del g["events"]
            ds = g.create_dataset("events", data=rows, maxshape=(None,), chunks=True)
            ds.attrs["format"] = "compound kind, zone, t_start (s), t_end (s), extra (JSON)"
            self._resume_swmr()

    def write_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Store alert episodes (contract section 5 objects) as JSON Lines in ``/alerts/events``."""
        self._write_jsonl("alerts", alerts)

    def write_annotations(self, notes: Sequence[Mapping[str, Any]]) -> None:
        """Store free annotations (JSON objects, e.g. ``{"t": 12.5, "text": "..."}``)."""
        self._write_jsonl("annotations", notes)

    def _write_jsonl(self, group: str, items: Sequence[Mapping[str, Any]]) -> None:
        lines = [json.dumps(dict(it), ensure_ascii=False, sort_keys=True) for it in items]
        with self._lock:
            self._check_open()
            self._restructure()
            g = self._f.require_group(group)
            if "events" in g:
                del g["events"]
            g.create_dataset("events", data=lines, dtype=h5py.string_dtype("utf-8"))
            g["events"].attrs["format"] = "JSON Lines: one JSON object per element"
            self._resume_swmr()

    def set_mat_attrs(self, attrs: Mapping[str, Any]) -> None:
        """Set ``/mat`` attrs now (a live tare: ``tare_*``), lists and dicts as JSON text;
        written at once, so a file whose writer is killed keeps them."""
        with self._lock:
            self._check_open()
            f = self._restructure()
            g = f.require_group("mat")
            for k, v in attrs.items():
                g.attrs[k] = v if isinstance(v, str | int | float) else json.dumps(v)
            self._resume_swmr()

    def set_stream_stats(self, *, dropped_frames: int, reordered_frames: int) -> None:
        """Record stream statistics (counted from the frame counter); written on close."""
        self._stats = {
            "dropped_frames": int(dropped_frames),
            "reordered_frames": int(reordered_frames),
        }

    # -- closing
    @property
    def frames(self) -> int:
        """Frames appended so far (written or buffered)."""
        return self._n + self._buffered

    def close(self) -> None:
        """Write everything, mark the file complete and close it.

        After a failed write (:class:`RecordingWriteError`, raised here when closing is what
        fails) the file is closed without writing more: it stays as its last flush left it
        (``complete`` false)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            untold = self._failed is not None and not self._failure_raised
            if self._failed is None:
                try:
                    self._guarded(self._finish_file)
                except RecordingWriteError:
                    untold = True
            if self._failed is not None:
                self._ds.clear()
                with contextlib.suppress(Exception):
                    self._f.close()
        self._thread.join(timeout=2)
        if untold and self._failed is not None:
            self._failure_raised = True
            raise self._failed

    def _finish_file(self) -> None:
        if self.rows is not None:
            self._write_buffer()
            self._f.flush()
            self._commit_times()
        f = self._f  # attrs are written in SWMR mode: no window without a valid file
        if "mat" in f:
            for k, v in self._stats.items():
                f["mat"].attrs[k] = v
        f.attrs["complete"] = True
        f.flush()  # here, where a failure is raised (closing the handles would only print it)
        self._ds.clear()
        f.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _truth_row(i: int, ev: Mapping[str, Any]) -> tuple[bytes, bytes, float, float, bytes]:
    try:
        kind = str(ev["kind"])
        t0, t1 = float(ev["t_start"]), float(ev["t_end"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"truth[{i}]: needs kind, t_start and t_end ({exc})") from None
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
        raise InputError(f"truth[{i}]: t_end {t1} before t_start {t0}")
    zone = "" if ev.get("zone") is None else str(ev["zone"])
    extra = {k: v for k, v in ev.items() if k not in ("kind", "zone", "t_start", "t_end")}
    enc = [kind.encode(), zone.encode(), json.dumps(extra, sort_keys=True).encode()]
    for name, b, size in zip(("kind", "zone", "extra"), enc, (32, 48, 512), strict=True):
        if len(b) > size:
            raise InputError(f"truth[{i}].{name}: longer than {size} bytes")
    return (enc[0], enc[1], t0, t1, enc[2])


# --------------------------------------------------------------------------------------- reader


@dataclass(frozen=True)
class InsoleData:
    """One foot's insole samples (arrays in N, s, kPa, mm)."""

    side: str
    time: F64
    force: F32
    pressure: F32 | None = None
    cop_mm: F32 | None = None
    cop_norm: F32 | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuxData:
    """One auxiliary channel: ``time`` [K] s, ``values`` [K, C], column names and units."""

    name: str
    time: F64
    values: F32
    columns: tuple[str, ...]
    units: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingMeta:
    """What a recording holds, read from its attributes (no frame data)."""

    path: str
    started_at: str | None
    therapist_mass_kg: float | None
    complete: bool
    frames: int
    rows: int | None
    cols: int | None
    pitch_mm: float | None
    row_pitch_mm: float | None
    origin_mm: tuple[float, float] | None
    placement: str | None
    side: str | None
    units: str | None
    t_first: float | None
    t_last: float | None
    has_counter: bool
    dropped_frames: int | None
    reordered_frames: int | None
    bars_samples: int
    insoles: tuple[str, ...]
    truth_events: int
    alerts: int
    client: dict[str, Any]
    source_format: str | None
    source_header: dict[str, Any] | None

    @property
    def duration_s(self) -> float:
        """Time from first to last frame plus one median frame period, s (0 if < 2 frames)."""
        if self.frames < 2 or self.t_first is None or self.t_last is None:
            return 0.0
        return (self.t_last - self.t_first) * self.frames / (self.frames - 1)

    @property
    def rate_hz(self) -> float | None:
        """Mean frame rate, Hz."""
        if self.frames < 2 or self.t_first is None or self.t_last is None:
            return None
        return (self.frames - 1) / (self.t_last - self.t_first)


class RecordingReader:
    """Validated, chunked access to a recording; open with :func:`open_recording`."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._f = _open_h5(self.path)
        try:
            self._frames = self._validate()
            self.meta = self._read_meta()
        except Exception:
            self._f.close()
            raise

    # -- validation
    def _err(self, where: str, what: str) -> InputError:
        return InputError(f"{self.path}: {where}: {what}")

    def _validate(self) -> int:
        f = self._f
        schema = f.attrs.get("schema")
        if isinstance(schema, bytes):
            schema = schema.decode()
        if schema != SCHEMA:
            raise self._err("/", f"schema attr is {schema!r}, expected {SCHEMA!r}")
        if "started_at" in f.attrs:
            try:
                datetime.fromisoformat(_text(f.attrs["started_at"]))
            except ValueError:
                raise self._err("/", "started_at is not an ISO 8601 time") from None
        if "therapist_mass_kg" in f.attrs:
            self._check_positive("/", "therapist_mass_kg", f.attrs["therapist_mass_kg"])
        self._complete = bool(f.attrs.get("complete", True))
        frames = self._validate_mat() if "mat" in f else 0
        if "bars" in f:
            self._validate_series("/bars", ("force",), tail={"force": (2,)})
        for side in f.get("insoles", {}):
            if side not in SIDES:
                raise self._err(f"/insoles/{side}", "side must be left or right")
            self._validate_series(f"/insoles/{side}", ("force",), tail={"force": ()})
        if "client" in f:
            self._validate_client()
        if "mat" not in f and "insoles" not in f:
            raise self._err("/", "neither /mat nor /insoles present")
        return frames

    def _check_positive(self, where: str, name: str, value: Any) -> float:
        try:
            v = float(np.asarray(value).reshape(()))
        except (TypeError, ValueError):
            raise self._err(where, f"{name} is not a number") from None
        if not math.isfinite(v) or v <= 0:
            raise self._err(where, f"{name} must be > 0, got {v:g}")
        return v

    def _validate_mat(self) -> int:
        g = self._f["mat"]
        for name in ("pressure", "time"):
            if name not in g:
                raise self._err(f"/mat/{name}", "missing")
        p, t = g["pressure"], g["time"]
        if p.ndim != 3 or p.dtype.kind != "f":
            raise self._err(
                "/mat/pressure", f"must be float [N, rows, cols], got {p.dtype} {p.shape}"
            )
        if t.ndim != 1 or t.dtype.kind != "f":
            raise self._err("/mat/time", f"must be float [N], got {t.dtype} {t.shape}")
        if _text(t.attrs.get("units", "s")) != "s":
            raise self._err("/mat/time", f"units attr {_text(t.attrs['units'])!r} is not s")
        units = _text(p.attrs.get("units", g.attrs.get("units", "kPa")))
        if units not in UNITS:
            raise self._err("/mat/pressure", f"units attr {units!r} is not kPa or raw")
        if "pitch_mm" not in g.attrs:
            raise self._err("/mat", "pitch_mm attr missing")
        self._check_positive("/mat", "pitch_mm", g.attrs["pitch_mm"])
        if "row_pitch_mm" in g.attrs:
            self._check_positive("/mat", "row_pitch_mm", g.attrs["row_pitch_mm"])
        if "origin_mm" in g.attrs:
            o = np.asarray(g.attrs["origin_mm"], dtype=np.float64)
            if o.shape != (2,) or not np.all(np.isfinite(o)):
                raise self._err("/mat", "origin_mm must be 2 finite numbers [x, y] mm")
        placement = _text(g.attrs.get("placement", "on_client"))
        if placement not in PLACEMENTS:
            raise self._err(
                "/mat", f"placement {placement!r} is not one of {', '.join(PLACEMENTS)}"
            )
        if placement == "foot" and _text(g.attrs.get("side", "")) not in SIDES:
            raise self._err("/mat", "placement foot needs attr side = left or right")
        n = self._series_length("/mat", t, [p, *([g["counter"]] if "counter" in g else [])])
        if "counter" in g and (g["counter"].ndim != 1 or g["counter"].dtype.kind not in "iu"):
            raise self._err("/mat/counter", "must be integer [N]")
        self._check_times("/mat/time", t, n)
        return n

    def _series_length(self, where: str, t: h5py.Dataset, others: list[h5py.Dataset]) -> int:
        lengths = [t.shape[0], *(d.shape[0] for d in others)]
        if self._complete:
            for d in others:
                if d.shape[0] != t.shape[0]:
                    raise self._err(d.name, f"has {d.shape[0]} rows but time has {t.shape[0]}")
            return int(t.shape[0])
        n = int(min(lengths))
        # A killed writer may leave resized but unwritten rows (NaN time) at the tail.
        start = max(0, n - 8192)
        finite = np.flatnonzero(np.isfinite(t[start:n]))
        if n and finite.size < n - start:
            n = start + (int(finite[-1]) + 1 if finite.size else 0)
        return n

    def _check_times(self, where: str, t: h5py.Dataset, n: int) -> None:
        prev = -math.inf
        for start in range(0, n, _TIME_BLOCK):
            block = t[start : min(n, start + _TIME_BLOCK)]
            bad = ~np.isfinite(block)
            if bad.any():
                raise self._err(where, f"not finite at frame {start + int(np.argmax(bad))}")
            steps = np.diff(np.concatenate(([prev], block)))
            if (steps <= 0).any():
                raise self._err(
                    where, f"not increasing at frame {start + int(np.argmax(steps <= 0))}"
                )
            prev = float(block[-1])

    def _validate_series(
        self, where: str, names: tuple[str, ...], tail: dict[str, tuple[int, ...]]
    ) -> None:
        g = self._f[where]
        if "time" not in g:
            raise self._err(f"{where}/time", "missing")
        for name in names:
            if name not in g:
                raise self._err(f"{where}/{name}", "missing")
            if g[name].shape[1:] != tail[name]:
                raise self._err(
                    f"{where}/{name}", f"shape {g[name].shape} expected [N, *{tail[name]}]"
                )
        expected_units = {"time": "s", "force": "N", "pressure": "kPa", "cop_mm": "mm"}
        for name, unit in expected_units.items():
            if name in g and _text(g[name].attrs.get("units", unit)) != unit:
                got = _text(g[name].attrs["units"])
                raise self._err(f"{where}/{name}", f"units attr {got!r} is not {unit}")
        others = [g[k] for k in g if k != "time"]
        n = self._series_length(where, g["time"], others)
        self._check_times(f"{where}/time", g["time"], n)

    def _validate_client(self) -> None:
        a = self._f["client"].attrs
        for key in ("height_cm", "weight_kg"):
            if key in a:
                self._check_positive("/client", key, a[key])
        if "landmarks_mm" in a:
            try:
                lm = json.loads(_text(a["landmarks_mm"]))
            except json.JSONDecodeError:
                lm = None
            if not isinstance(lm, dict):
                raise self._err("/client", "landmarks_mm is not a JSON object")

    # -- metadata
    def _read_meta(self) -> RecordingMeta:
        f = self._f
        g = f.get("mat")
        shape = g["pressure"].shape if g is not None else None
        t_first = t_last = None
        if g is not None and self._frames:
            t_first, t_last = float(g["time"][0]), float(g["time"][self._frames - 1])
        ga: Any = g.attrs if g is not None else {}
        header = None
        if "source_header" in ga:
            try:
                header = json.loads(_text(ga["source_header"]))
            except json.JSONDecodeError:
                raise self._err("/mat", "source_header is not JSON") from None
        origin = tuple(float(x) for x in ga["origin_mm"]) if "origin_mm" in ga else None
        client: dict[str, Any] = {}
        if "client" in f:
            ca = f["client"].attrs
            client = {k: float(ca[k]) for k in ("height_cm", "weight_kg") if k in ca}
            if "landmarks_mm" in ca:
                client["landmarks_mm"] = json.loads(_text(ca["landmarks_mm"]))
        return RecordingMeta(
            path=self.path,
            started_at=_text(f.attrs["started_at"]) if "started_at" in f.attrs else None,
            therapist_mass_kg=float(f.attrs["therapist_mass_kg"])
            if "therapist_mass_kg" in f.attrs
            else None,
            complete=self._complete,
            frames=self._frames,
            rows=int(shape[1]) if shape else None,
            cols=int(shape[2]) if shape else None,
            pitch_mm=float(ga["pitch_mm"]) if "pitch_mm" in ga else None,
            row_pitch_mm=float(ga.get("row_pitch_mm", ga["pitch_mm"])) if g is not None else None,
            origin_mm=(origin[0], origin[1]) if origin else None,
            placement=_text(ga.get("placement", "on_client")) if g is not None else None,
            side=_text(ga["side"]) if "side" in ga else None,
            units=_text(g["pressure"].attrs.get("units", ga.get("units", "kPa"))) if g else None,
            t_first=t_first,
            t_last=t_last,
            has_counter=g is not None and "counter" in g,
            dropped_frames=int(ga["dropped_frames"]) if "dropped_frames" in ga else None,
            reordered_frames=int(ga["reordered_frames"]) if "reordered_frames" in ga else None,
            bars_samples=int(f["bars/time"].shape[0]) if "bars" in f else 0,
            insoles=tuple(s for s in SIDES if s in f.get("insoles", {})),
            truth_events=int(f["truth/events"].shape[0]) if "truth/events" in f else 0,
            alerts=int(f["alerts/events"].shape[0]) if "alerts/events" in f else 0,
            client=client,
            source_format=self._source_format(ga),
            source_header=header,
        )

    def _source_format(self, mat_attrs: Any) -> str | None:
        if "source_format" in mat_attrs:
            return _text(mat_attrs["source_format"])
        for side in SIDES:
            g = self._f.get(f"insoles/{side}")
            if g is not None and "source_format" in g.attrs:
                return _text(g.attrs["source_format"])
        return None

    def summary(self) -> dict[str, Any]:
        """What ``ashiguard info`` prints: metadata plus peak and missing sensels (one pass).

        Peak is the largest finite value (kPa, or raw units); ``missing_sensels`` counts grid
        cells that never report (NaN in every frame), ``missing_fraction`` the share of NaN
        values over all frames.
        """
        m = self.meta
        out: dict[str, Any] = {
            "path": m.path,
            "complete": m.complete,
            "started_at": m.started_at,
            "therapist_mass_kg": m.therapist_mass_kg,
            "source_format": m.source_format,
            "frames": m.frames,
            "duration_s": round(m.duration_s, 6),
            "rate_hz": None if m.rate_hz is None else round(m.rate_hz, 4),
            "grid": None if m.rows is None else [m.rows, m.cols],
            "pitch_mm": m.pitch_mm,
            "row_pitch_mm": m.row_pitch_mm,
            "origin_mm": None if m.origin_mm is None else list(m.origin_mm),
            "placement": m.placement,
            "side": m.side,
            "units": m.units,
            "peak": None,
            "missing_sensels": None,
            "missing_fraction": None,
            "sensel_faults": None,
            "tare": None,
            "tare_events": [],
            "calibration": None,
            "drift": None,
            "drift_corrected": None,
            "sensel_faults_on_import": None,
            "bars": m.bars_samples > 0,
            "bars_samples": m.bars_samples,
            "insoles": {},
            "truth_events": m.truth_events,
            "alerts": m.alerts,
            "annotations": len(self.annotations()),
            "aux": {
                name: {
                    "samples": int(a.time.shape[0]),
                    "columns": [
                        f"{c} [{u}]" if u else c for c, u in zip(a.columns, a.units, strict=True)
                    ],
                }
                for name, a in self.aux().items()
            },
            "has_counter": m.has_counter,
            "dropped_frames": m.dropped_frames,
            "reordered_frames": m.reordered_frames,
            "client": m.client,
        }
        if m.rows is not None and m.frames:
            from ashiguard.domain.drift import DriftEstimator
            from ashiguard.domain.sensel_faults import SenselStats

            drift = DriftEstimator()
            peak = -math.inf
            ever = np.zeros((m.rows, m.cols or 0), dtype=bool)
            nan_count = 0
            stats = SenselStats(m.rows, m.cols or 0)
            for times, block in self.iter_chunks():
                stats.add(block)
                drift.add(times, block)
                finite = np.isfinite(block)
                ever |= finite.any(axis=0)
                nan_count += int(block.size - np.count_nonzero(finite))
                if finite.any():
                    peak = max(peak, float(np.max(block, where=finite, initial=-math.inf)))
            out["peak"] = None if peak == -math.inf else round(peak, 4)
            out["missing_sensels"] = int(ever.size - np.count_nonzero(ever))
            out["missing_fraction"] = round(nan_count / (m.frames * ever.size), 6)
            out["sensel_faults"] = [
                f.to_json() for f in stats.faults(saturation=self.saturation_level())
            ]
            out["drift"] = drift.report()
        out.update(self._corrections())
        for side, ins in self.insoles().items():
            force = ins.force[np.isfinite(ins.force)]
            dt = np.diff(ins.time)
            out["insoles"][side] = {
                "samples": int(ins.time.shape[0]),
                "duration_s": float(ins.time[-1] - ins.time[0]) if ins.time.size else 0.0,
                "rate_hz": round(1.0 / float(np.median(dt)), 4) if dt.size else None,
                "sensors": 0 if ins.pressure is None else int(ins.pressure.shape[1]),
                "peak_force_n": round(float(force.max()), 3) if force.size else None,
                "peak_pressure_kpa": None
                if ins.pressure is None or not np.isfinite(ins.pressure).any()
                else round(float(np.nanmax(ins.pressure)), 3),
            }
            if ins.pressure is not None and ins.time.size:
                from ashiguard.domain.drift import DriftEstimator

                est = DriftEstimator()
                est.add(ins.time, ins.pressure[:, None, :])
                out["insoles"][side]["drift"] = est.report()
            tare_window = ins.attrs.get("tare_window_s")
            out["insoles"][side]["tare_window_s"] = (
                None if tare_window is None else [float(x) for x in np.ravel(tare_window)]
            )
            corrected = ins.attrs.get("drift_corrected")
            try:
                out["insoles"][side]["drift_corrected"] = (
                    None if corrected is None else json.loads(str(corrected))
                )
            except json.JSONDecodeError:
                raise self._err(f"/insoles/{side}", "drift_corrected is not JSON") from None
        return out

    # -- data
    @property
    def frames(self) -> int:
        """Number of valid frames N."""
        return self._frames

    def mat_attrs(self) -> dict[str, Any]:
        """All attributes of the ``/mat`` group as plain Python values ({} without a mat).

        Bytes become ``str``, arrays lists, numpy scalars Python numbers; e.g.
        ``sensor_max_kpa`` (sensor full scale, kPa) and a simulated file's
        ``truth_restrictions`` (JSON text).
        """
        if "mat" not in self._f:
            return {}
        return {str(k): _attr_value(v) for k, v in self._f["mat"].attrs.items()}

    def _corrections(self) -> dict[str, Any]:
        """Tare and calibration as stored on import or by a live tare (``/mat`` attrs)."""
        a = self.mat_attrs()
        out: dict[str, Any] = {
            "tare": None,
            "tare_events": [],
            "calibration": None,
            "drift_corrected": None,
            "sensel_faults_on_import": self.sensel_faults() if "mat" in self._f else None,
        }
        if "drift_corrected" in a:
            try:
                out["drift_corrected"] = json.loads(str(a["drift_corrected"]))
            except json.JSONDecodeError:
                raise self._err("/mat", "drift_corrected is not JSON") from None
        if "tare_window_s" in a:
            try:
                window = [float(x) for x in np.ravel(_json_array(a["tare_window_s"]))]
                off = np.asarray(_json_array(a.get("tare_offsets", [])), dtype=np.float64)
                frames = None if a.get("tare_frames") is None else int(a["tare_frames"])
            except (TypeError, ValueError):
                raise self._err("/mat", "tare_window_s / tare_offsets are not numbers") from None
            if len(window) != 2:
                raise self._err("/mat", "tare_window_s is not [start, end]")
            out["tare"] = {
                "window_s": window,
                "frames": frames,
                "units": None if a.get("tare_units") is None else str(a["tare_units"]),
                "offset_max": round(float(np.nanmax(off)), 4) if off.size else None,
                "offset_mean": round(float(np.nanmean(off)), 4) if off.size else None,
            }
        if "tare_events" in a:
            try:
                events = json.loads(str(a["tare_events"]))
            except json.JSONDecodeError:
                raise self._err("/mat", "tare_events is not JSON") from None
            if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
                raise self._err("/mat", "tare_events is not a JSON list of objects")
            out["tare_events"] = events
        if "calibration" in a:
            try:
                out["calibration"] = json.loads(str(a["calibration"]))
            except json.JSONDecodeError:
                raise self._err("/mat", "calibration is not JSON") from None
            if not isinstance(out["calibration"], dict):
                raise self._err("/mat", "calibration is not a JSON object")
            out["calibration"]["file"] = a.get("calibration_file")
        return out

    def saturation_level(self) -> float | None:
        """The sensor's full scale in the recording's units (``/mat`` attr ``sensor_max_kpa``
        for kPa recordings), or None when unknown."""
        full = self.mat_attrs().get("sensor_max_kpa")
        if self.meta.units != "kPa" or not isinstance(full, int | float) or not full > 0:
            return None
        return float(full)

    def sensel_faults(self) -> list[dict[str, Any]] | None:
        """Dead / stuck / saturated sensels stored at import (``/mat`` attr ``sensel_faults``,
        JSON list of ``{"row", "col", "kind", "value"}``), or None when not stored."""
        text = self.mat_attrs().get("sensel_faults")
        if text is None:
            return None
        try:
            faults = json.loads(str(text))
        except json.JSONDecodeError:
            raise self._err("/mat", "sensel_faults is not JSON") from None
        if not isinstance(faults, list) or not all(
            isinstance(f, dict)
            and isinstance(f.get("row"), int)
            and isinstance(f.get("col"), int)
            and 0 <= f["row"] < (self.meta.rows or 0)
            and 0 <= f["col"] < (self.meta.cols or 0)
            and isinstance(f.get("value"), int | float)
            for f in faults
        ):
            raise self._err("/mat", "sensel_faults is not a list of grid cells")
        return faults

    def chunk_frames(self) -> int:
        """Frames per HDF5 chunk of ``/mat/pressure`` (reading in multiples of it is cheapest)."""
        if "mat" not in self._f:
            return 0
        chunks = self._f["mat/pressure"].chunks
        return int(chunks[0]) if chunks else 256

    def iter_chunks(self, n: int | None = None) -> Iterator[tuple[F64, F32]]:
        """Yield ``(times [k] s, pressure [k, rows, cols] kPa)`` blocks of at most ``n`` frames.

        ``n`` defaults to 256 frames rounded up to whole HDF5 chunks; memory use stays around
        one block whatever the recording's length.
        """
        if "mat" not in self._f:
            return
        c = self.chunk_frames()
        n = n or max(c, (256 // c) * c)
        if n < 1:
            raise InputError(f"iter_chunks: n must be >= 1, got {n}")
        p, t = self._f["mat/pressure"], self._f["mat/time"]
        for start in range(0, self._frames, n):
            stop = min(self._frames, start + n)
            block = p[start:stop]
            if np.isinf(block).any():
                i = start + int(np.argmax(np.isinf(block).any(axis=(1, 2))))
                raise self._err("/mat/pressure", f"infinite value at frame {i}")
            yield t[start:stop], block

    def read(self, start: int = 0, stop: int | None = None) -> tuple[F64, F32]:
        """Frames ``start:stop`` as ``(times, pressure)``; for short recordings or windows."""
        if "mat" not in self._f:
            raise self._err("/mat", "this recording has no mat")
        stop = self._frames if stop is None else min(stop, self._frames)
        return self._f["mat/time"][start:stop], self._f["mat/pressure"][start:stop]

    def times(self) -> F64:
        """All frame times, s ([N] float64: 2.9 MB for one hour at 100 Hz)."""
        return self._f["mat/time"][: self._frames] if "mat" in self._f else np.zeros(0)

    def counter(self) -> npt.NDArray[np.int64] | None:
        """The source frame counter [N], or None when the recording has none."""
        if "mat/counter" not in self._f:
            return None
        counter: npt.NDArray[np.int64] = self._f["mat/counter"][: self._frames]
        return counter

    def bars(self) -> tuple[F64, F32] | None:
        """``(time [M] s, force [M, 2] N)`` for the left and right bar, or None."""
        if "bars" not in self._f:
            return None
        t = self._f["bars/time"]
        n = self._series_length("/bars", t, [self._f["bars/force"]])
        return t[:n], self._f["bars/force"][:n]

    def insoles(self) -> dict[str, InsoleData]:
        """Insole data per foot (``left`` / ``right``)."""
        out: dict[str, InsoleData] = {}
        for side in self.meta.insoles:
            g = self._f[f"insoles/{side}"]
            n = self._series_length(g.name, g["time"], [g[k] for k in g if k != "time"])
            opt = {k: g[k][:n] for k in ("pressure", "cop_mm", "cop_norm") if k in g}
            out[side] = InsoleData(
                side=side,
                time=g["time"][:n],
                force=g["force"][:n],
                attrs={k: _attr_value(v) for k, v in g.attrs.items()},
                **opt,
            )
        return out

    def aux(self) -> dict[str, AuxData]:
        """Auxiliary channels ``/aux/<name>`` (IMU, force tables, unknown columns of imports)."""
        out: dict[str, AuxData] = {}
        for name, g in self._f.get("aux", {}).items():
            where = f"/aux/{name}"
            if not isinstance(g, h5py.Group) or "time" not in g or "values" not in g:
                raise self._err(where, "needs time and values")
            try:
                columns = tuple(json.loads(_text(g.attrs["columns"])))
                units = tuple(json.loads(_text(g.attrs["units"])))
            except (KeyError, json.JSONDecodeError, TypeError):
                raise self._err(where, "columns / units attrs missing or not JSON lists") from None
            v = g["values"]
            if v.ndim != 2 or not len(columns) == len(units) == v.shape[1]:
                raise self._err(where, "values are not [K, C] with C columns and units")
            n = self._series_length(where, g["time"], [v])
            self._check_times(where, g["time"], n)
            out[str(name)] = AuxData(
                name=str(name),
                time=g["time"][:n],
                values=v[:n],
                columns=tuple(str(c) for c in columns),
                units=tuple(str(u) for u in units),
                attrs={
                    k: _attr_value(x) for k, x in g.attrs.items() if k not in ("columns", "units")
                },
            )
        return out

    def truth_events(self) -> list[dict[str, Any]]:
        """Ground-truth events: dicts with ``kind``, ``zone`` (None if none), ``t_start``,
        ``t_end`` (s) and any extra keys stored with them."""
        if "truth/events" not in self._f:
            return []
        out = []
        for row in self._f["truth/events"][()]:
            ev: dict[str, Any] = json.loads(row["extra"].decode() or "{}")
            zone = row["zone"].decode()
            ev.update(
                kind=row["kind"].decode(),
                zone=zone or None,
                t_start=float(row["t_start"]),
                t_end=float(row["t_end"]),
            )
            out.append(ev)
        return out

    def alerts(self) -> list[dict[str, Any]]:
        """Alert episodes stored in ``/alerts/events`` (contract section 5 objects)."""
        return self._jsonl("alerts")

    def annotations(self) -> list[dict[str, Any]]:
        """Annotations stored in ``/annotations/events``."""
        return self._jsonl("annotations")

    def _jsonl(self, group: str) -> list[dict[str, Any]]:
        if f"{group}/events" not in self._f:
            return []
        out = []
        for i, line in enumerate(self._f[f"{group}/events"][()]):
            try:
                out.append(json.loads(_text(line)))
            except json.JSONDecodeError:
                raise self._err(f"/{group}/events", f"line {i} is not JSON") from None
        return out

    def close(self) -> None:
        """Close the file."""
        self._f.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _text(v.item())
    return str(v)


def _json_array(v: Any) -> Any:
    """An attr that holds numbers, or JSON text of them (live sessions store JSON)."""
    return json.loads(v) if isinstance(v, str) else v


def _attr_value(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _open_h5(path: str) -> h5py.File:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return h5py.File(p, "r")
    except OSError as exc:
        if "already open for write" in str(exc):
            # Written in SWMR mode and not closed (still being written, or the writer was
            # killed): SWMR read mode sees every flushed frame.
            try:
                return h5py.File(p, "r", swmr=True)
            except OSError as exc2:
                raise InputError(f"{path}: cannot open: {exc2}") from None
        raise InputError(f"{path}: not a readable HDF5 file") from None


def open_recording(path: str | Path) -> RecordingReader:
    """Open and validate a recording; :class:`InputError` says what is wrong with a bad file."""
    return RecordingReader(path)
