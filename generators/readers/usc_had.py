"""Reader for USC-HAD ``Subject<N>/a<m>t<n>.mat`` files (MotionNode at the right hip, 100 Hz)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Iterator

import numpy as np
import scipy.io

from generators.errors import InputError
from generators.readers._common import FINITE_EXPECTED, beyond_float32, find_files
from generators.types import Channel, Recording

SAMPLE_RATE_HZ = 100.0
LABEL_NAMES = {
    1: "walking forward", 2: "walking left", 3: "walking right", 4: "walking upstairs",
    5: "walking downstairs", 6: "running forward", 7: "jumping up", 8: "sitting",
    9: "standing", 10: "sleeping", 11: "elevator up", 12: "elevator down",
}
CHANNELS = tuple(
    Channel(f"right_hip_{modality}_{axis}", "right_hip", modality, axis, unit)
    for modality, unit in (("acc", "g"), ("gyro", "deg/s"))
    for axis in "xyz"
)
READINGS = "sensor_readings"


def _normal(name: str) -> str:
    """Field name folded for tolerant matching: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_field(fields: list[str], wanted: str) -> str | None:
    """The field of ``fields`` that means ``wanted``, tolerating case, separators, typos."""
    folded = {_normal(f): f for f in fields}
    match = difflib.get_close_matches(_normal(wanted), list(folded), n=1, cutoff=0.8)
    return folded[match[0]] if match else None


def _load(file: Path) -> np.ndarray:
    """The ``sensor_readings`` matrix of one file, checked."""
    try:
        major, _ = scipy.io.matlab.matfile_version(file)
        if major == 2:  # loadmat reads v4–v7 files only; v7.3 is an HDF5 container
            raise InputError(file, "a MATLAB v7.3 (HDF5) .mat file; expected v7 or older "
                                   "(save it with save(..., '-v7'))")
        contents = scipy.io.loadmat(file)
    except (ValueError, TypeError, OSError, scipy.io.matlab.MatReadError) as exc:
        raise InputError(file, f"not a readable MATLAB v5 .mat file ({exc})") from None
    fields = [k for k in contents if not k.startswith("__")]
    key = find_field(fields, READINGS)
    if key is None:
        raise InputError(file, f"no {READINGS!r} field; found {', '.join(sorted(fields)) or 'none'}",
                         field=READINGS)
    readings = np.asarray(contents[key])
    if readings.ndim != 2 or readings.shape[1] != 6 or not np.issubdtype(readings.dtype, np.number):
        raise InputError(file, f"{key} has shape {readings.shape}; expected samples × 6 numbers "
                         "(acc x, y, z in g; gyro x, y, z in deg/s)", field=key)
    bad = np.isnan(readings) | beyond_float32(readings)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(file, f"{key} row {row + 1}, column {col + 1} is {readings[row, col]}; "
                         f"{FINITE_EXPECTED}", field=key)
    return readings.astype(np.float32)


def read(path: Path) -> Iterator[Recording]:
    """Stream one ``Recording`` per USC-HAD trial file.

    Subject and activity come from the layout ``Subject<N>/a<m>t<n>.mat``; every sample
    of a trial carries the activity ``m``.

    Args:
        path: The dataset root, a ``Subject<N>`` folder or one ``.mat`` file.

    Yields:
        Recordings ``subject<N>_a<m>t<n>``, subject ``N`` as a string.

    Raises:
        InputError: Unreadable file, missing or misshapen ``sensor_readings``, activity
            outside 1–12, a file name not ``a<m>t<n>.mat``, no matching files.
    """
    for file in find_files(path, "a*t*.mat", "USC-HAD trials Subject<N>/a<m>t<n>.mat"):
        name = re.fullmatch(r"a(\d+)t(\d+)\.mat", file.name, flags=re.IGNORECASE)
        if name is None:
            raise InputError(file, "file name is not a<activity>t<trial>.mat")
        activity, trial = int(name[1]), int(name[2])
        if activity not in LABEL_NAMES:
            raise InputError(file, f"activity {activity} is not in the label map; expected 1–12",
                             field="activity number")
        folder = re.search(r"(\d+)$", file.parent.name)
        subject = folder[1] if folder else file.parent.name
        readings = _load(file)
        yield Recording(
            dataset="usc_had", recording_id=f"subject{subject}_a{activity}t{trial}",
            subject=subject, sample_rate_hz=SAMPLE_RATE_HZ, channels=CHANNELS, values=readings,
            labels=np.full(len(readings), activity, dtype=np.int32), label_names=LABEL_NAMES,
            source=(str(file),),
        )
