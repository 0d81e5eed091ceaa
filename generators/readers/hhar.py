"""Reader for HHAR (Heterogeneity Activity Recognition) ``Phones_*.csv`` / ``Watch_*.csv`` files."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from generators.errors import InputError
from generators.readers._clock import (
    ClockPolicy, ClockReport, clocked_recordings, session_starts,
)
from generators.readers._common import (
    append_block, find_files, numeric_columns, read_table_chunks,
)
from generators.types import UNLABELLED, Channel, Recording

COLUMNS = ["Index", "Arrival_Time", "Creation_Time", "x", "y", "z", "User", "Model", "Device",
           "gt"]
ACTIVITIES = ("stand", "sit", "walk", "stairsup", "stairsdown", "bike")
LABEL_NAMES = dict(enumerate(ACTIVITIES, start=1))
NULL = "null"
# File name prefix → body location; sensor → (modality, unit).
LOCATIONS = {"Phones": "waist", "Watch": "wrist"}
SENSORS = {"accelerometer": ("acc", "m/s²"), "gyroscope": ("gyro", "rad/s")}


def _channels(file: Path) -> tuple[Channel, ...]:
    """The x/y/z channels of ``<Phones|Watch>_<accelerometer|gyroscope>.csv``."""
    device, _, sensor = file.name.split(".")[0].partition("_")
    if device not in LOCATIONS or sensor not in SENSORS:
        raise InputError(file, "expected a file named Phones_ or Watch_ followed by "
                         "accelerometer or gyroscope (.csv)")
    modality, unit = SENSORS[sensor]
    return tuple(Channel(f"{LOCATIONS[device]}_{modality}_{a}", LOCATIONS[device], modality, a,
                         unit) for a in "xyz")


def _labels(cells: pd.Series, file: Path, first: int) -> np.ndarray:
    """Label ids of a chunk; ``null`` (no activity) is unlabelled."""
    ids = cells.map({name: i for i, name in LABEL_NAMES.items()} | {NULL: UNLABELLED})
    bad = ids.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(file, f"gt {cells.iloc[row]!r}; expected one of "
                         f"{', '.join(ACTIVITIES)} or {NULL}", line=first + row, field="gt")
    return ids.to_numpy(dtype=np.int32)


def read(path: Path, files: Sequence[str] = ("Phones_accelerometer.csv",
                                             "Watch_accelerometer.csv"),
         max_gap_s: float = 0.1, duplicates: str = "mean", max_backwards_s: float = 0.05,
         sample_rate_hz: float | None = None, chunk_rows: int = 200_000,
         on_clock: Callable[[ClockReport], None] | None = None) -> Iterator[Recording]:
    """Stream HHAR recordings, one per file, user, device and session, on a uniform grid.

    Columns ``Index,Arrival_Time,Creation_Time,x,y,z,User,Model,Device,gt``; the sensor's
    own clock ``Creation_Time`` (nanoseconds) places the samples, through the clock policy
    (``generators.readers._clock``). Each device logs at its own rate, which is inferred
    from its median step unless ``sample_rate_hz`` fixes the grid (the preset's rate then
    comes by resampling). Rows of one user and device are one recording, cut into
    sessions where the clock jumps back by more than ``max_backwards_s``. Phones were worn
    in a pouch at the waist, watches on the wrist: channels ``waist_acc_x`` …,
    ``wrist_gyro_z`` in m/s² and rad/s. ``gt`` ``null`` is unlabelled.

    Args:
        path: The dataset folder (searched for ``files``) or one file.
        files: File names read (any of ``Phones_``/``Watch_`` × ``accelerometer``/
            ``gyroscope``); a sensor's files make separate recordings.
        max_gap_s: Longest step interpolated; longer ones split into parts.
        duplicates: ``"mean"`` or ``"first"`` for samples sharing a time.
        max_backwards_s: Late samples up to this far back are sorted in.
        sample_rate_hz: The grid's rate; ``None`` infers each device's.
        chunk_rows: Rows read at a time.
        on_clock: Receives each session's ``ClockReport``.

    Yields:
        Recordings ``<file stem>-<user>-<device>-session<k>`` (``…-part<j>`` when split),
        subject ``<user>``, labels 1–6 (stand, sit, walk, stairsup, stairsdown, bike).

    Raises:
        InputError: Wrong field count, a non-numeric time or value, an unknown ``gt``, a
            session the clock policy refuses, a file name of no known device and sensor.
    """
    policy = ClockPolicy.from_options({"rate_hz": sample_rate_hz, "duplicates": duplicates,
                                       "max_backwards_s": max_backwards_s,
                                       "max_gap_s": max_gap_s}, "hhar reader options")
    found = find_files(path, list(files), "HHAR files " + ", ".join(files))
    for file in found:
        channels = _channels(file)
        keys: dict[tuple[str, str], int] = {}  # (user, device) → code
        data: dict[str, list[np.ndarray]] = {k: [] for k in ("times", "values", "labels",
                                                             "lines", "codes")}
        for first, frame in read_table_chunks(
                file, n_columns=len(COLUMNS), sep=",", header=True, names=COLUMNS,
                chunk_rows=chunk_rows, dtype={c: "str" for c in ("User", "Model", "Device")}):
            pairs, inverse = np.unique(np.char.add(np.char.add(
                frame["User"].str.strip().to_numpy(dtype=str), "\x1f"),
                frame["Device"].str.strip().to_numpy(dtype=str)), return_inverse=True)
            codes = np.array([keys.setdefault(tuple(p.split("\x1f")), len(keys)) for p in pairs],
                             dtype=np.int32)
            parts = {"times": numeric_columns(frame, ["Creation_Time"], file, first)[:, 0],
                     "values": numeric_columns(frame, ["x", "y", "z"], file, first)
                     .astype(np.float32),
                     "labels": _labels(frame["gt"].str.strip(), file, first),
                     "lines": first + np.arange(len(frame)), "codes": codes[inverse]}
            for key, value in parts.items():
                append_block(data[key], value)
        if not keys:
            raise InputError(file, "no data rows after the header")
        arrays = {k: np.concatenate(data.pop(k)) for k in list(data)}
        for (user, device), code in sorted(keys.items()):
            rows = np.flatnonzero(arrays["codes"] == code)
            times = arrays["times"][rows]
            starts = session_starts(np.zeros(len(rows)), times, max_backwards_s * 1e9)
            for k, (a, b) in enumerate(zip(starts, np.r_[starts[1:], len(rows)]), start=1):
                picked = rows[a:b]
                yield from clocked_recordings(
                    times[a:b], arrays["values"][picked], arrays["labels"][picked],
                    arrays["lines"][picked], policy, unit=1e9, path=file,
                    field="Creation_Time", recording_id=f"{file.stem}-{user}-{device}-session{k}",
                    on_clock=on_clock, dataset="hhar", subject=user, channels=channels,
                    label_names=LABEL_NAMES, source=(str(file),))
