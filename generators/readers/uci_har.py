"""Reader for the raw HAPT layout (UCI-HAR v2.1): RawData/acc_*, gyro_*, labels.txt."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from generators.errors import InputError
from generators.readers._common import load_numeric_table, text_lines
from generators.types import UNLABELLED, Channel, Recording

SAMPLE_RATE_HZ = 50.0
CHANNELS = tuple(
    Channel(f"waist_{modality}_{axis}", "waist", modality, axis, unit)
    for modality, unit in (("acc", "g"), ("gyro", "rad/s"))
    for axis in "xyz"
)
SPAN_FIELDS = ("experiment", "user", "activity", "start", "end")  # columns of labels.txt
#: The smartphone sits on the waist with its x-axis up the standing body: standing and
#: walking windows of the raw data average +1.0 g on x (sitting 0.97 g), laying 0.04 g.
VERTICAL_AXES = {"waist": "x"}


def _find(directory: Path, name: str) -> Path | None:
    """``name`` or ``name.gz`` inside ``directory``, if present."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _raw_dir(root: Path) -> Path:
    if (root / "RawData").is_dir():
        return root / "RawData"
    if _find(root, "labels.txt"):
        return root
    missing = "" if root.exists() else "no such file or directory; "
    raise InputError(root, f"{missing}expected a HAPT directory holding RawData/labels.txt")


def read_activity_labels(path: Path) -> dict[int, str]:
    """Parse ``activity_labels.txt`` (``<id> <NAME>`` per line)."""
    names: dict[int, str] = {}
    for lineno, line in text_lines(path):
        if not line.strip():
            continue
        match = re.fullmatch(r"\s*(\d+)\s+(\S+)\s*", line)
        if not match:
            raise InputError(path, f"expected '<id> <NAME>', found {line.strip()!r}",
                             line=lineno)
        names[int(match[1])] = match[2]
    if not names:
        raise InputError(path, "file is empty; expected '<id> <NAME>' lines")
    return names


def _spans(path: Path) -> np.ndarray:
    """The rows of ``labels.txt`` as integers (experiment, user, activity, start, end)."""
    table = load_numeric_table(path, len(SPAN_FIELDS))
    fractional = table != np.round(table)
    if fractional.any():
        row, col = np.argwhere(fractional)[0]
        raise InputError(path, f"found {table[row, col]:g}; expected a whole number (an id or "
                         "a 1-based sample number)", line=int(row) + 1, field=SPAN_FIELDS[col])
    return table.astype(np.int64)


def _check_disjoint(spans: np.ndarray, rows: np.ndarray, path: Path) -> None:
    """Raise when two of one experiment's spans (rows ``rows``, inclusive) share a sample."""
    order = rows[np.argsort(spans[rows, 3], kind="stable")]
    starts, ends = spans[order, 3], spans[order, 4]
    overlap = starts[1:] <= ends[:-1]
    if overlap.any():
        k = int(np.argmax(overlap))
        raise InputError(path, f"span {starts[k + 1]}..{ends[k + 1]} overlaps the span "
                         f"{starts[k]}..{ends[k]} of line {order[k] + 1}; expected spans that "
                         "share no sample", line=int(order[k + 1]) + 1, field="start")


def read(path: Path, experiments: list[int] | None = None) -> Iterator[Recording]:
    """Stream one ``Recording`` per experiment of a HAPT raw directory.

    Acc is in g (gravity included), gyro in rad/s, 50 Hz, waist smartphone. Labels come
    from the inclusive, 1-based spans of ``labels.txt``; samples outside every span are
    unlabelled (−1). Experiments listed in ``labels.txt`` whose signal files are absent
    are skipped. Files may be gzipped (``*.txt.gz``).

    Args:
        path: The dataset root (holding ``RawData/``) or ``RawData`` itself.
        experiments: Only these experiment numbers (default: all present).

    Yields:
        One recording per experiment, in experiment order.

    Raises:
        InputError: Malformed files, spans beyond the file end, fractional or overlapping
            spans, unknown label ids, acc and gyro files of different lengths, no experiment
            files at all.
    """
    path = Path(path)
    raw = _raw_dir(path)
    labels_path = _find(raw, "labels.txt")
    activity_path = _find(raw, "activity_labels.txt") or _find(raw.parent, "activity_labels.txt")
    if activity_path is None:
        raise InputError(path, "activity_labels.txt not found next to RawData/ or inside it")
    label_names = read_activity_labels(activity_path)
    spans = _spans(labels_path)
    for lineno, (_, _, activity, start, end) in enumerate(spans, start=1):
        if activity not in label_names:
            raise InputError(labels_path, f"label id {activity} is not in {activity_path.name} "
                             f"(known: {sorted(label_names)})", line=lineno, field="activity")
        if start < 1 or end < start:
            raise InputError(labels_path, f"expected 1 <= start <= end, found {start}..{end}",
                             line=lineno)
    found = 0
    for exp, user in sorted({(int(e), int(u)) for e, u in spans[:, :2]}):
        if experiments is not None and exp not in experiments:
            continue
        stem = f"exp{exp:02d}_user{user:02d}"
        acc_path, gyro_path = _find(raw, f"acc_{stem}.txt"), _find(raw, f"gyro_{stem}.txt")
        if acc_path is None and gyro_path is None:
            continue  # documented: labels.txt lists experiments whose files are absent
        if acc_path is None or gyro_path is None:
            missing = f"acc_{stem}.txt" if acc_path is None else f"gyro_{stem}.txt"
            raise InputError(raw / missing, "file missing while its acc/gyro partner exists")
        acc, gyro = load_numeric_table(acc_path, 3), load_numeric_table(gyro_path, 3)
        if len(acc) != len(gyro):
            raise InputError(gyro_path, f"{len(gyro)} rows but {acc_path.name} has {len(acc)}; "
                             "expected equal lengths")
        labels = np.full(len(acc), UNLABELLED, dtype=np.int32)
        rows = np.flatnonzero((spans[:, 0] == exp) & (spans[:, 1] == user))
        for row in rows:
            activity, start, end = spans[row, 2:]
            if end > len(acc):
                raise InputError(labels_path, f"span {start}..{end} ends beyond {acc_path.name} "
                                 f"({len(acc)} rows)", line=int(row) + 1, field="end")
            labels[start - 1:end] = activity
        _check_disjoint(spans, rows, labels_path)
        found += 1
        yield Recording(
            dataset="uci_har", recording_id=stem, subject=str(user),
            sample_rate_hz=SAMPLE_RATE_HZ, channels=CHANNELS,
            values=np.hstack([acc, gyro]).astype(np.float32), labels=labels,
            label_names=label_names, source=(str(acc_path), str(gyro_path), str(labels_path)),
            vertical_axes=VERTICAL_AXES,
        )
    if found == 0:
        raise InputError(raw, "no acc_exp*_user*.txt / gyro_exp*_user*.txt files for the "
                         "experiments listed in labels.txt")
