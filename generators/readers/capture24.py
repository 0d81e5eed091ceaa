"""Reader for Capture-24 ``P<NNN>.csv.gz`` files (wrist acc in g, 100 Hz), streamed in chunks."""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from generators.errors import InputError
from generators.readers._common import (
    Spill, check_increasing, find_files, line_text, number_option, numeric_columns,
    read_table_chunks, read_text,
)
from generators.types import UNLABELLED, Channel, Recording

HEADER = ["time", "x", "y", "z", "annotation"]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# SensorLLM's 10 Capture-24 classes: the dictionary has two 10-class schemes
# (WillettsSpecific2018, DohertySpecific2018); WillettsSpecific2018 is the one the
# Capture-24 benchmark papers call "10 activities", so it is the default.
DEFAULT_SCHEME = "WillettsSpecific2018"
CHANNELS = tuple(Channel(f"wrist_acc_{a}", "wrist", "acc", a, "g") for a in "xyz")


@lru_cache(maxsize=4)
def label_dictionary(path: str | None = None) -> dict[str, dict[str, str]]:
    """Scheme → (annotation → class name), from the embedded dictionary or ``path``."""
    if path is None:
        text = (resources.files("generators.readers") / "data" / "capture24_labels.csv").read_text(
            encoding="utf-8")
    else:
        text = read_text(Path(path))
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "annotation" not in rows[0]:
        raise InputError(path or "capture24_labels.csv", "expected a CSV with an 'annotation' "
                         "column and 'label:<scheme>' columns", line=1)
    return {key.removeprefix("label:"): {row["annotation"]: row[key] for row in rows}
            for key in rows[0] if key.startswith("label:")}


def scheme_labels(scheme: str = DEFAULT_SCHEME, dictionary: str | None = None
                  ) -> tuple[dict[str, int], dict[int, str]]:
    """Annotation → label id and label id → class name for one scheme.

    Ids number the scheme's classes 1…K in alphabetical order.

    Raises:
        InputError: Unknown scheme (the message lists the known ones).
    """
    schemes = label_dictionary(dictionary)
    key = scheme.removeprefix("label:")
    if key not in schemes:
        raise InputError(dictionary or "capture24_labels.csv", f"unknown scheme {scheme!r}; "
                         f"known: {', '.join(sorted(schemes))}", field="scheme")
    names = {i: name for i, name in enumerate(sorted(set(schemes[key].values())), start=1)}
    ids = {name: i for i, name in names.items()}
    return {annotation: ids[name] for annotation, name in schemes[key].items()}, names


def _check_header(file: Path) -> None:
    first, _ = line_text(file, 1)
    if not first:
        raise InputError(file, f"file is empty; expected the header {','.join(HEADER)}")
    if [h.strip() for h in first.split(",")] != HEADER:
        raise InputError(file, f"header is {first!r}; expected {','.join(HEADER)}", line=1)


def _labels(annotation: pd.Series, lookup: dict[str, int], file: Path, first: int) -> np.ndarray:
    """Label ids of a chunk's annotations, mapped once per distinct string."""
    codes, uniques = pd.factorize(annotation, use_na_sentinel=True)
    # Ids start at 1, so 0 marks an annotation missing from the dictionary.
    known = np.array([lookup.get(u, 0) if u != "" else UNLABELLED for u in uniques] + [UNLABELLED],
                     dtype=np.int32)
    if (known == 0).any():
        bad = int(np.argmax(known == 0))
        row = int(np.argmax(codes == bad))
        raise InputError(file, f"annotation {uniques[bad]!r} is not in the label dictionary; "
                         "expected one of its annotations (or pass dictionary=<csv>)",
                         line=first + row, field="annotation")
    return known[codes]  # code −1 (NaN) picks the trailing UNLABELLED


def read(path: Path, scheme: str = DEFAULT_SCHEME, dictionary: str | None = None,
         sample_rate_hz: float = 100.0, chunk_rows: int = 100_000) -> Iterator[Recording]:
    """Stream one ``Recording`` per Capture-24 participant file, read in chunks.

    Annotations map to labels through the annotation dictionary (embedded copy of
    Capture-24's ``annotation-label-dictionary.csv``) under ``scheme``; empty ones are
    unlabelled. Times must increase by one sample period (a step over 1.5 periods is an
    error: Capture-24 files are continuous).

    Args:
        path: A ``P<NNN>.csv.gz`` (or ``.csv``) file or a directory of them.
        scheme: Label scheme, a ``label:<scheme>`` column of the dictionary, with or without
            the prefix (default ``WillettsSpecific2018``, 10 classes).
        dictionary: Another annotation dictionary CSV in the same layout.
        sample_rate_hz: The files' rate.
        chunk_rows: Rows parsed at a time (bounds memory).

    The parsed chunks are spilled to an unnamed temporary file and the recording's arrays
    map it (``_common.Spill``): a day at 100 Hz is never held in memory at once.

    Yields:
        Recordings ``P<NNN>``, subject ``P<NNN>``.

    Raises:
        InputError: Bad header, corrupt gzip, non-numeric or missing x/y/z, bad or
            non-increasing times, time gaps, annotations not in the dictionary, unknown
            scheme, a rate that is not a positive number, no matching files.
    """
    number_option(sample_rate_hz, path, "sample_rate_hz", "Hz")
    lookup, names = scheme_labels(scheme, dictionary)
    for file in find_files(path, ["P*.csv.gz", "P*.csv"], "Capture-24 files P<NNN>.csv.gz"):
        yield _read_file(file, lookup, names, sample_rate_hz, chunk_rows)


def _read_file(file: Path, lookup: dict[str, int], names: dict[int, str], sample_rate_hz: float,
               chunk_rows: int) -> Recording:
    """One participant file as a recording whose arrays map spilled chunks."""
    _check_header(file)
    period_ns = 1e9 / sample_rate_hz
    values, labels = Spill(np.float32, len(CHANNELS)), Spill(np.int32)
    previous = None
    for first, chunk in read_table_chunks(
            file, n_columns=5, sep=",", header=True, names=HEADER, chunk_rows=chunk_rows,
            last_required=False, dtype={"time": "str", "annotation": "str"}):
        times = pd.to_datetime(chunk["time"], format=TIME_FORMAT, errors="coerce")
        if times.isna().any():
            row = int(np.argmax(times.isna().to_numpy()))
            raise InputError(file, f"time {chunk['time'].iloc[row]!r} is not like "
                             "'2016-11-13 02:18:00.000000'", line=first + row, field="time")
        ns = times.to_numpy("datetime64[ns]").view(np.int64)
        check_increasing(ns, file, first, "time", previous)
        steps = np.diff(ns, prepend=ns[0] if previous is None else previous)
        if (steps > 1.5 * period_ns).any():
            row = int(np.argmax(steps > 1.5 * period_ns))
            raise InputError(file, f"time jumps by {steps[row] / 1e9:g} s; expected a sample "
                             f"every {1 / sample_rate_hz:g} s", line=first + row, field="time")
        previous = ns[-1]
        values.append(numeric_columns(chunk, ["x", "y", "z"], file, first))
        labels.append(_labels(chunk["annotation"], lookup, file, first))
    if not values.rows:
        raise InputError(file, "no data rows after the header")
    participant = file.name.split(".")[0]
    return Recording(
        dataset="capture24", recording_id=participant, subject=participant,
        sample_rate_hz=sample_rate_hz, channels=CHANNELS, values=values.array(),
        labels=labels.array(), label_names=names, source=(str(file),),
    )
