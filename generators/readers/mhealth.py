"""Reader for MHealth ``mHealth_subject<N>.log`` files (24 tab-separated columns, 50 Hz)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from generators.readers._common import ARBITRARY_UNIT, find_files, label_ids, load_numeric_table
from generators.types import Channel, Recording

SAMPLE_RATE_HZ = 50.0
LABEL_NAMES = {
    1: "standing still", 2: "sitting and relaxing", 3: "lying down", 4: "walking",
    5: "climbing stairs", 6: "waist bends forward", 7: "frontal elevation of arms",
    8: "knees bending (crouching)", 9: "cycling", 10: "jogging", 11: "running",
    12: "jump front & back",
}


def _triple(location: str, modality: str, unit: str) -> list[Channel]:
    return [Channel(f"{location}_{modality}_{a}", location, modality, a, unit) for a in "xyz"]


# Column order of the file (columns 1–23). The magnetometer unit is undocumented.
CHANNELS = tuple(
    _triple("chest", "acc", "m/s²")
    + [Channel(f"chest_ecg_lead{k}", "chest", "ecg", f"lead{k}", "mV") for k in (1, 2)]
    + _triple("left_ankle", "acc", "m/s²") + _triple("left_ankle", "gyro", "deg/s")
    + _triple("left_ankle", "mag", ARBITRARY_UNIT)
    + _triple("right_lower_arm", "acc", "m/s²") + _triple("right_lower_arm", "gyro", "deg/s")
    + _triple("right_lower_arm", "mag", ARBITRARY_UNIT)
)


def read(path: Path) -> Iterator[Recording]:
    """Stream one ``Recording`` per ``mHealth_subject<N>.log``.

    All 23 signal columns are kept (the preset selects the paper's 15). The null class
    (label 0) becomes unlabelled (−1).

    Args:
        path: A log file, or a directory searched recursively for ``mHealth_subject*.log``.

    Yields:
        One recording per subject file, in subject order; subject is ``N`` as a string.

    Raises:
        InputError: Empty file, wrong column count, non-numeric cell, label outside 0–12,
            no matching files.
    """
    for file in find_files(path, "mHealth_subject*.log", "MHealth logs mHealth_subject<N>.log"):
        table = load_numeric_table(file, 24)
        match = re.search(r"subject(\d+)", file.name)
        subject = match[1] if match else file.stem
        yield Recording(
            dataset="mhealth", recording_id=f"subject{subject}", subject=subject,
            sample_rate_hz=SAMPLE_RATE_HZ, channels=CHANNELS,
            values=table[:, :23].astype("float32"),
            labels=label_ids(table[:, 23], LABEL_NAMES, file, 1, "label", null=0),
            label_names=LABEL_NAMES, source=(str(file),),
        )
