"""Reader for WISDM v1.1 raw accelerometer files (``WISDM_ar_v1.1_raw.txt``, phone, ~20 Hz)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from generators.errors import InputError
from generators.readers._clock import (
    ClockPolicy, ClockReport, clocked_recordings, session_starts,
)
from generators.readers._common import (FINITE_EXPECTED, LOG, beyond_float32, find_files,
                                        text_lines)
from generators.types import Channel, Recording

SAMPLE_RATE_HZ = 20.0
ACTIVITIES = ("Walking", "Jogging", "Upstairs", "Downstairs", "Sitting", "Standing")
LABEL_NAMES = {i: name.lower() for i, name in enumerate(ACTIVITIES, start=1)}
CHANNELS = tuple(Channel(f"pocket_acc_{a}", "pocket", "acc", a, "m/s²") for a in "xyz")
FIELDS = ("user", "activity", "timestamp", "x-acceleration", "y-acceleration", "z-acceleration")


def _records(file: Path) -> tuple[list[list[str]], list[int]]:
    """The records of a file (``;``-terminated, any number to a line) and their lines."""
    records, lines = [], []
    for number, line in text_lines(file):
        for record in line.split(";"):
            if record.strip():
                cells = [c.strip() for c in record.split(",")]
                if len(cells) == 7 and cells[6] == "":  # a stray comma before the ';'
                    cells.pop()
                if len(cells) != 6:
                    raise InputError(file, f"expected 6 comma-separated fields (user, "
                                     f"activity, timestamp, x, y, z), found {len(cells)} in "
                                     f"{record.strip()!r}", line=number)
                records.append(cells)
                lines.append(number)
    if not records:
        raise InputError(file, "no records; expected lines 'user,activity,timestamp,x,y,z;'")
    return records, lines


def _numbers(column: list[str], file: Path, lines: np.ndarray, field: str) -> np.ndarray:
    """A column of cells as float64, naming the first cell that is not a finite number."""
    try:
        values = np.array(column, dtype=np.float64)
    except ValueError:
        values = np.array([_float(c) for c in column])
    for bad, expected in ((np.isnan(values), "expected a number"),
                          (beyond_float32(values), FINITE_EXPECTED)):
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(file, f"{expected}, found {column[row]!r}",
                             line=int(lines[row]), field=field)
    return values


def _float(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return float("nan")


def read(path: Path, max_gap_s: float = 0.25, duplicates: str = "mean",
         max_backwards_s: float = 0.05, sample_rate_hz: float = SAMPLE_RATE_HZ,
         on_clock: Callable[[ClockReport], None] | None = None) -> Iterator[Recording]:
    """Stream WISDM v1.1 raw recordings, placed on a uniform grid by the clock policy.

    Records are ``user,activity,timestamp,x,y,z;`` (timestamp: the phone's uptime in
    nanoseconds; acceleration in m/s², ~10 = 1 g); a line may hold several records or
    none, and a comma before the ``;`` is tolerated. Records stamped 0 carry no time and
    are left out, counted in the log. The file concatenates sessions whose clocks are
    unrelated, so a session ends where the user changes or the time jumps back by more
    than ``max_backwards_s``; each session goes through the clock policy
    (``generators.readers._clock``: late samples sorted in, duplicates averaged, steps up
    to ``max_gap_s`` interpolated, longer ones split into parts).

    Args:
        path: ``WISDM_ar_v1.1_raw.txt`` or a directory holding it.
        max_gap_s: Longest step interpolated (default 0.25 s: WISDM's phones often skip
            a sample or four at 20 Hz).
        duplicates: ``"mean"`` or ``"first"`` for samples sharing a time.
        max_backwards_s: Late samples up to this far back are sorted in.
        sample_rate_hz: The grid's rate.
        on_clock: Receives each session's ``ClockReport``.

    Yields:
        Recordings ``user<u>-session<k>`` (``…-part<j>`` when a gap splits one), subject
        ``"<u>"``, channels ``pocket_acc_x/y/z``, labels 1–6 (walking, jogging, upstairs,
        downstairs, sitting, standing).

    Raises:
        InputError: A record without 6 fields, a non-numeric cell, an unknown activity,
            a session the clock policy refuses, no matching file.
    """
    policy = ClockPolicy.from_options({"rate_hz": sample_rate_hz, "duplicates": duplicates,
                                       "max_backwards_s": max_backwards_s,
                                       "max_gap_s": max_gap_s}, "wisdm reader options")
    by_name = {name: i for i, name in enumerate(ACTIVITIES, start=1)}
    for file in find_files(path, "WISDM_*_raw.txt", "WISDM raw files (WISDM_ar_v1.1_raw.txt)"):
        records, lines = _records(file)
        columns = list(zip(*records))
        lines = np.asarray(lines)
        labels = np.array([by_name.get(a, 0) for a in columns[1]], dtype=np.int32)
        if not labels.all():
            row = int(np.argmin(labels))
            raise InputError(file, f"activity {columns[1][row]!r}; expected one of "
                             f"{', '.join(ACTIVITIES)}", line=int(lines[row]), field="activity")
        times = _numbers(list(columns[2]), file, lines, "timestamp")
        values = np.column_stack([_numbers(list(columns[k]), file, lines, FIELDS[k])
                                  for k in (3, 4, 5)]).astype(np.float32)
        users = np.array(columns[0])
        stamped = times != 0
        if not stamped.all():
            LOG.warning("%s: %d records stamped 0 (no time) left out", file,
                        int((~stamped).sum()))
        users, times, values, labels, lines = (a[stamped] for a in (users, times, values,
                                                                    labels, lines))
        starts = session_starts(users, times, max_backwards_s * 1e9)
        sessions: dict[str, int] = {}
        for a, b in zip(starts, np.r_[starts[1:], len(times)]):
            user = str(users[a])
            sessions[user] = sessions.get(user, 0) + 1
            yield from clocked_recordings(
                times[a:b], values[a:b], labels[a:b], lines[a:b], policy, unit=1e9, path=file,
                field="timestamp", recording_id=f"user{user}-session{sessions[user]}",
                on_clock=on_clock, dataset="wisdm", subject=user, channels=CHANNELS,
                label_names=LABEL_NAMES, source=(str(file),))
