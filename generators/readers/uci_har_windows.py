"""Reader for windowed UCI-HAR v1 (``train|test/Inertial Signals``): one recording per window."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from generators.errors import InputError
from generators.readers._common import label_ids, load_numeric_table
from generators.readers.uci_har import read_activity_labels
from generators.types import Channel, Recording

SAMPLE_RATE_HZ = 50.0
WINDOW = 128
SIGNALS = {"body_acc": ("body_acc", "g"), "body_gyro": ("gyro", "rad/s"),
           "total_acc": ("total_acc", "g")}
LABEL_NAMES = {1: "WALKING", 2: "WALKING_UPSTAIRS", 3: "WALKING_DOWNSTAIRS", 4: "SITTING",
               5: "STANDING", 6: "LAYING"}


def _root(path: Path) -> Path:
    """The directory holding ``train/`` and ``test/`` (also inside ``UCI HAR Dataset/``)."""
    for candidate in (path, path / "UCI HAR Dataset"):
        if (candidate / "train").is_dir() or (candidate / "test").is_dir():
            return candidate
    missing = "" if path.exists() else "no such file or directory; "
    raise InputError(path, f"{missing}expected a UCI-HAR v1 directory holding train/ and test/ "
                     f"with 'Inertial Signals/'")


def _column(file: Path, rows: int | None, ref: Path | None) -> np.ndarray:
    """A one-number-per-line file, checked to have ``rows`` lines (as ``ref`` has)."""
    values = load_numeric_table(file, 1)[:, 0]
    if rows is not None and len(values) != rows:
        raise InputError(file, f"{len(values)} lines but {ref.name} has {rows} windows; "
                         "expected one line per window")
    return values


def read(path: Path, splits: Sequence[str] = ("train", "test"),
         signals: Sequence[str] = ("body_acc", "body_gyro", "total_acc")) -> Iterator[Recording]:
    """Stream one ``Recording`` of 128 samples (2.56 s at 50 Hz) per UCI-HAR v1 window.

    Windows overlap by 50 % and are not stitched back together: each feeds stage 2
    directly and stage 1 within itself. Channels are ``waist_body_acc_*`` (g),
    ``waist_gyro_*`` (rad/s, from ``body_gyro``) and ``waist_total_acc_*`` (g).

    Args:
        path: The dataset root (holding ``train/`` and ``test/``).
        splits: Splits to read.
        signals: Signal groups to read, from ``body_acc``, ``body_gyro``, ``total_acc``.

    Yields:
        Recordings ``<split>-<NNNNN>`` (1-based window number), subject as in
        ``subject_<split>.txt``.

    Raises:
        InputError: Missing files, signal files of different lengths, rows that are not
            128 numbers, labels outside 1–6, unknown signal names.
    """
    root = _root(Path(path))
    unknown = [s for s in signals if s not in SIGNALS]
    if unknown:
        raise InputError(root, f"unknown signals {unknown}; known: {', '.join(SIGNALS)}",
                         field="signals")
    labels_file = root / "activity_labels.txt"
    label_names = read_activity_labels(labels_file) if labels_file.is_file() else LABEL_NAMES
    channels = tuple(Channel(f"waist_{SIGNALS[s][0]}_{a}", "waist", SIGNALS[s][0], a, SIGNALS[s][1])
                     for s in signals for a in "xyz")
    for split in splits:
        folder = root / split / "Inertial Signals"
        files = [folder / f"{s}_{a}_{split}.txt" for s in signals for a in "xyz"]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise InputError(missing[0], f"file missing; expected the {split} signal files "
                             f"{', '.join(f.name for f in files)}")
        tables = [load_numeric_table(f, WINDOW) for f in files]
        for f, t in zip(files[1:], tables[1:]):
            if len(t) != len(tables[0]):
                raise InputError(f, f"{len(t)} windows but {files[0].name} has {len(tables[0])}; "
                                 "expected equal lengths")
        n = len(tables[0])
        y_file, subject_file = root / split / f"y_{split}.txt", root / split / f"subject_{split}.txt"
        labels = label_ids(_column(y_file, n, files[0]), label_names, y_file, 1, "activity")
        subjects = _column(subject_file, n, files[0]).astype(int)
        stack = np.stack(tables, axis=2).astype(np.float32)  # windows × samples × channels
        for i in range(n):
            yield Recording(
                dataset="uci_har_windows", recording_id=f"{split}-{i + 1:05d}",
                subject=str(subjects[i]), sample_rate_hz=SAMPLE_RATE_HZ, channels=channels,
                values=stack[i], labels=np.full(WINDOW, labels[i], dtype=np.int32),
                label_names=label_names, source=tuple(map(str, files)),
            )
