"""Reader for PAMAP2 ``Protocol/`` and ``Optional/`` ``subject10<N>.dat`` files (54 columns, 100 Hz)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from generators.errors import InputError
from generators.readers._common import (
    GapReport, apply_gap_policy, check_increasing, find_files, label_ids, number_option,
    numeric_columns, read_table_chunks,
)
from generators.types import Channel, Recording

SAMPLE_RATE_HZ = 100.0
N_COLUMNS = 54
LABEL_NAMES = {
    1: "lying", 2: "sitting", 3: "standing", 4: "walking", 5: "running", 6: "cycling",
    7: "Nordic walking", 9: "watching TV", 10: "computer work", 11: "car driving",
    12: "ascending stairs", 13: "descending stairs", 16: "vacuum cleaning", 17: "ironing",
    18: "folding laundry", 19: "house cleaning", 20: "playing soccer", 24: "rope jumping",
}
LOCATIONS = {"hand": 3, "chest": 20, "ankle": 37}  # 0-based first column of each IMU block
# Offsets inside a 17-column IMU block: modality → (first offset, unit).
BLOCK = {"acc": (1, "m/s²"), "acc6g": (4, "m/s²"), "gyro": (7, "rad/s"), "mag": (10, "µT")}
HEART_RATE = Channel("chest_hr", "chest", "hr", "", "bpm")


def layout(acc6g: bool) -> tuple[list[int], list[Channel]]:
    """Columns and channels read: ±16 g acc, gyro, mag (and ±6 g acc) per IMU."""
    columns, channels = [], []
    for location, first in LOCATIONS.items():
        for modality, (offset, unit) in BLOCK.items():
            if modality == "acc6g" and not acc6g:
                continue
            for k, axis in enumerate("xyz"):
                columns.append(first + offset + k)
                channels.append(Channel(f"{location}_{modality}_{axis}", location, modality,
                                        axis, unit))
    return columns, channels


def _load(file: Path, columns: Sequence[int], names: Sequence[str]
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Times, label ids, IMU values and heart rate of one file, read in chunks."""
    times, labels, values, heart = [], [], [], []
    previous = None
    for first, chunk in read_table_chunks(file, n_columns=N_COLUMNS, sep=None, header=False):
        head = numeric_columns(chunk, [0, 1], file, first, names=["timestamp", "activityID"])
        check_increasing(head[:, 0], file, first, "timestamp", previous)
        previous = head[-1, 0]
        times.append(head[:, 0])
        labels.append(label_ids(head[:, 1], LABEL_NAMES, file, first, "activityID", null=0))
        values.append(numeric_columns(chunk, columns, file, first, allow_nan=True, names=names)
                      .astype(np.float32))
        heart.append(numeric_columns(chunk, [2], file, first, allow_nan=True,
                                     names=["heart rate"])[:, 0])
    if not times:
        raise InputError(file, f"no data lines; expected lines of {N_COLUMNS} fields")
    return (np.concatenate(times), np.concatenate(labels), np.concatenate(values),
            np.concatenate(heart))


def read(path: Path, folders: Sequence[str] = ("Protocol", "Optional"), heart_rate: bool = False,
         acc6g: bool = False, max_gap_s: float = 0.1, on_long_gap: str = "split",
         on_gap: Callable[[GapReport], None] | None = None) -> Iterator[Recording]:
    """Stream PAMAP2 recordings, handling dropped-packet NaN gaps by a fixed policy.

    Channels: for hand, chest and ankle IMUs, the ±16 g accelerometer (m/s²), gyroscope
    (rad/s) and magnetometer (µT) — 27 channels; optionally the ±6 g accelerometer
    (``acc6g``, saturates) and heart rate (``heart_rate``, bpm, linearly interpolated
    between its ~9 Hz readings). Temperature and orientation are not read. Activity 0
    (other/transient) becomes unlabelled (−1).

    NaN policy: per channel, a NaN run of at most ``max_gap_s`` (default 0.1 s = 10
    samples) between data is linearly interpolated; longer runs and runs at either end
    are cut out, and the recording is split there and at time steps over 1.5 sample
    periods into ``<id>-part<k>`` recordings. Counts go to ``on_gap`` and the log. An all-NaN channel
    is an error.

    Args:
        path: The dataset root, a ``Protocol``/``Optional`` folder, or one ``.dat`` file.
        folders: Sub-folders read under a dataset root (when present).
        heart_rate: Add the ``chest_hr`` channel.
        acc6g: Add the ±6 g accelerometer channels.
        max_gap_s: Longest NaN gap interpolated, in seconds.
        on_long_gap: ``"split"`` (default) or ``"error"`` to refuse longer gaps.
        on_gap: Receives one ``GapReport`` per file.

    Yields:
        Recordings ``protocol_subject10<N>`` / ``optional_subject10<N>`` (or
        ``…-part<k>``), subject ``"10<N>"``.

    Raises:
        InputError: Malformed files, unknown activity ids, non-increasing timestamps,
            all-NaN channels, long gaps with ``on_long_gap="error"``, a ``max_gap_s`` that
            is not a number from 0, no matching files.
    """
    path = Path(path)
    max_gap_s = number_option(max_gap_s, path, "max_gap_s", "seconds", positive=False)
    roots = [path / f for f in folders if (path / f).is_dir()] or [path]
    files = [f for root in roots
             for f in find_files(root, "subject*.dat", "PAMAP2 files subject10<N>.dat")]
    columns, channels = layout(acc6g)
    names = [c.name for c in channels]
    max_gap = int(round(max_gap_s * SAMPLE_RATE_HZ))
    for file in files:
        times, labels, values, heart = _load(file, columns, names)
        number = re.search(r"subject(\d+)", file.name)
        subject = number[1] if number else file.stem
        folder = file.parent.name.lower()
        recording_id = (f"{folder}_subject{subject}" if folder in ("protocol", "optional")
                        else f"subject{subject}")
        jumps = np.flatnonzero(np.diff(times) > 1.5 / SAMPLE_RATE_HZ) + 1
        if len(jumps) and on_long_gap == "error":
            raise InputError(file, f"timestamps jump by {times[jumps[0]] - times[jumps[0] - 1]:g} s;"
                             f" expected steps of {1 / SAMPLE_RATE_HZ:g} s", line=int(jumps[0]) + 1,
                             field="timestamp")
        values, pieces = apply_gap_policy(
            values, max_gap=max_gap, channel_names=names, path=file, first_line=1,
            recording_id=recording_id, on_long_gap=on_long_gap, on_gap=on_gap, breaks=jumps)
        all_channels = tuple(channels)
        if heart_rate:
            known = ~np.isnan(heart)
            if not known.any():
                raise InputError(file, "heart rate is NaN in every row", field="heart rate")
            index = np.arange(len(heart))
            values = np.hstack([values, np.interp(index, index[known], heart[known])
                                .astype(np.float32)[:, None]])
            all_channels += (HEART_RATE,)
        for k, piece in enumerate(pieces, start=1):
            yield Recording(
                dataset="pamap2",
                recording_id=recording_id if len(pieces) == 1 else f"{recording_id}-part{k}",
                subject=subject, sample_rate_hz=SAMPLE_RATE_HZ, channels=all_channels,
                values=np.ascontiguousarray(values[piece]), labels=labels[piece],
                label_names=LABEL_NAMES, source=(str(file),),
            )
