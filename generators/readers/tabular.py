"""Reader for any CSV or Parquet table described by a small YAML spec (see the README)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from generators.errors import InputError
from generators.readers._clock import ClockPolicy, ClockReport, clocked_recordings
from generators.readers._common import (
    append_block, channel_from_name, checked_unit, find_files, label_ids, number_option,
    numeric_columns, read_table_chunks, read_text,
)
from generators.types import UNLABELLED, Channel, Recording

SPEC_KEYS = {"files", "dataset", "delimiter", "sample_rate_hz", "timestamp", "channels", "label",
             "subject"}
TIME_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9, "datetime": 1e9}  # units per second
TIME_KEYS = ("column", "unit", "format")
PARQUET = (".parquet", ".pq")


def load_spec(spec: str | Path | Mapping[str, object]) -> tuple[dict, str]:
    """The spec as a dict (from a mapping or a YAML file) and a name for errors."""
    if isinstance(spec, Mapping):
        return dict(spec), "<tabular spec>"
    try:
        data = yaml.safe_load(read_text(Path(spec)))
    except yaml.YAMLError as exc:
        raise InputError(spec, f"cannot read the spec as YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(spec, "expected a YAML mapping with files, channels, … keys")
    return data, str(spec)


def _sub(spec: dict, key: str, where: str, required: tuple[str, ...]) -> dict | None:
    """An optional nested mapping of the spec, checked for its required keys."""
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not set(required) <= set(value):
        raise InputError(where, f"expected a mapping with {', '.join(required)}", field=key)
    return value


def _channels(spec: dict, where: str) -> list[tuple[str, Channel]]:
    """(source column, channel) per ``channels`` entry."""
    entries = spec.get("channels")
    if not isinstance(entries, list) or not entries:
        raise InputError(where, "expected a list of {column, name, unit} entries", field="channels")
    out = []
    for k, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not {"column", "name", "unit"} <= set(entry):
            raise InputError(where, f"channel {k} needs column, name and unit", field="channels")
        unit = checked_unit(str(entry["unit"]), where, f"channels[{k}].unit")
        parsed = channel_from_name(str(entry["name"]), unit)
        out.append((str(entry["column"]), Channel(
            parsed.name, str(entry.get("location", parsed.location)),
            str(entry.get("modality", parsed.modality)), str(entry.get("axis", parsed.axis)),
            parsed.unit)))
    return out


def _label_names(label: dict, where: str) -> tuple[dict[int, str], dict[str, int] | None]:
    """Label id → name, and name → id when the column holds names (``names`` is a list)."""
    names = label["names"]
    if not names:
        raise InputError(where, "label.names is empty; expected at least one label",
                         field="label")
    if isinstance(names, list):
        ids = {str(n): i for i, n in enumerate(names, start=1)}
        return {i: n for n, i in ids.items()}, ids
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items()}, None
    raise InputError(where, "label.names must be a mapping id → name or a list of names",
                     field="label")


def _header(file: Path, sep: str) -> list[str]:
    """Column names of a CSV or Parquet file."""
    try:
        if file.suffix in PARQUET:
            return pq.ParquetFile(file).schema_arrow.names
        return pd.read_csv(file, sep=sep, nrows=0, compression="infer").columns.tolist()
    except pd.errors.EmptyDataError:
        raise InputError(file, "file is empty; expected a header line and rows") from None
    except (OSError, ValueError) as exc:
        raise InputError(file, f"cannot read the table header ({exc})") from None


def _chunks(file: Path, header: list[str], sep: str, text_columns: list[str], chunk_rows: int
            ) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first line — or row, for Parquet — number, frame) chunks of the file."""
    if file.suffix in PARQUET:
        first = 1
        for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            yield first, frame
            first += len(frame)
        return
    yield from read_table_chunks(file, n_columns=len(header), sep=sep, header=True, names=header,
                                 last_required=False, chunk_rows=chunk_rows,
                                 dtype={c: "str" for c in text_columns})


def _labels(cells: pd.Series, names: dict[int, str], by_name: dict[str, int] | None,
            file: Path, first: int, field: str) -> np.ndarray:
    """Label ids of a chunk; empty cells are unlabelled."""
    empty = (cells.isna() | (cells.astype("str").str.strip() == "")).to_numpy()
    ids = np.full(len(cells), UNLABELLED, dtype=np.int32)
    if by_name is not None:
        mapped = cells.astype("str").str.strip().map(by_name)
        bad = mapped.isna().to_numpy() & ~empty
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(file, f"label {cells.iloc[row]!r} is not in label.names; expected "
                             f"one of {', '.join(by_name)}", line=first + row, field=field)
        ids[~empty] = mapped[~empty].to_numpy(dtype=np.int32)
        return ids
    raw = np.array(pd.to_numeric(cells.where(~empty), errors="coerce"), dtype=np.float64)
    bad = np.isnan(raw) & ~empty
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(file, f"expected a label id, found {cells.iloc[row]!r}",
                         line=first + row, field=field)
    raw[empty] = next(iter(names))  # any legal id passes the check; reset to unlabelled below
    ids = label_ids(raw, names, file, first, field)
    ids[empty] = UNLABELLED
    return ids


def _times(cells: pd.Series, ts: dict, file: Path, first: int) -> np.ndarray:
    """Timestamps of a chunk in the spec's unit: float64, or int64 nanoseconds for
    date-times."""
    unit = ts.get("unit", "s")
    if unit == "datetime":
        parsed = pd.to_datetime(cells, format=ts.get("format"), errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(file, f"expected a date-time, found {cells.iloc[row]!r}",
                             line=first + row, field=ts["column"])
        return parsed.to_numpy("datetime64[ns]").view(np.int64)
    return numeric_columns(cells.to_frame(), [ts["column"]], file, first)[:, 0]


def read(path: Path, spec: str | Path | Mapping[str, object], chunk_rows: int = 200_000,
         on_clock: Callable[[ClockReport], None] | None = None) -> Iterator[Recording]:
    """Stream recordings from CSV/Parquet tables laid out as ``spec`` describes.

    One recording per file, or per file and subject when the subject comes from a
    column. Channel cells must all be numbers; empty label cells are unlabelled. Spec keys::

        files: "*.csv"                  # glob under the input directory (.csv, .csv.gz, .parquet)
        dataset: my_study               # dataset name (default "tabular")
        delimiter: ","                  # CSV only
        sample_rate_hz: 50              # a fixed rate, or with a timestamp the grid's rate
        timestamp:                      # optional: the samples' own clock
          column: t
          unit: ms                      # s, ms, us, ns or datetime (optional strftime "format")
          duplicates: mean              # samples at one time: mean (default) or first
          max_backwards_s: 0.05         # late samples up to this far back are sorted in
          max_gap_s: 0.1                # longer steps split the recording (…-part<k>)
        channels:                       # name <location>_<modality>_<axis>, unit as text;
          - {column: ax, name: wrist_acc_x, unit: g}   # location/modality/axis may be given
        label:                          # optional
          column: activity
          names: {1: walking, 2: sitting}   # the column holds ids …
          # names: [walking, sitting]       # … or names (ids 1, 2, … in list order)
        subject: {column: user}         # or {pattern: "user(\\d+)"} on the file name;
                                        #   default: the file stem

    Args:
        path: A table file or a directory searched for ``spec['files']``.
        spec: The spec (a YAML file or a mapping); keys in the README.
        chunk_rows: Rows read at a time.
        on_clock: Receives each stamped recording's ``ClockReport``.

    With a timestamp column, samples are placed on a uniform grid by the clock policy
    (``generators.readers._clock``) at ``sample_rate_hz``, or when that is left out at the
    rate of the median step.

    Yields:
        Recordings ``<file stem>`` or ``<file stem>-<subject>`` (``…-part<k>`` when a
        long gap splits one).

    Raises:
        InputError: Bad spec, spec columns missing from a file, malformed cells, label
            values not in the spec, timestamps the clock policy refuses, no matching files.
    """
    spec, where = load_spec(spec)
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise InputError(where, f"unknown keys {sorted(unknown)}; known: "
                         f"{', '.join(sorted(SPEC_KEYS))}", field=sorted(unknown)[0])
    if "sample_rate_hz" in spec:
        number_option(spec["sample_rate_hz"], where, "sample_rate_hz", "Hz")
    if "sample_rate_hz" not in spec and "timestamp" not in spec:
        raise InputError(where, "give sample_rate_hz, a timestamp column or both",
                         field="sample_rate_hz")
    pairs = _channels(spec, where)
    columns, channels = [c for c, _ in pairs], tuple(ch for _, ch in pairs)
    label = _sub(spec, "label", where, ("column", "names"))
    ts = _sub(spec, "timestamp", where, ("column",))
    if ts and ts.get("unit", "s") not in TIME_UNITS:
        raise InputError(where, f"timestamp unit {ts['unit']!r}; expected one of "
                         f"{', '.join(TIME_UNITS)}", field="timestamp.unit")
    policy = ClockPolicy.from_options(
        {"rate_hz": spec.get("sample_rate_hz"),
         **{k: v for k, v in (ts or {}).items() if k not in TIME_KEYS}}, where, "timestamp")
    subject = _sub(spec, "subject", where, ())
    if subject is not None and ("column" in subject) == ("pattern" in subject):
        raise InputError(where, "subject needs exactly one of column or pattern", field="subject")
    names, by_name = _label_names(label, where) if label else ({}, None)
    sep = str(spec.get("delimiter", ","))
    subject_column = subject.get("column") if subject else None
    text_columns = [c for c in (subject_column, label and label["column"],
                                ts and ts.get("unit") == "datetime" and ts["column"]) if c]
    pattern = str(spec.get("files", "*.csv"))
    for file in _spec_files(Path(path), pattern, where):
        header = _header(file, sep)
        needed = columns + text_columns + ([ts["column"]] if ts else [])
        for column in needed:
            if column not in header:
                raise InputError(file, f"column {column!r} named in the spec ({where}) is not in "
                                 f"the file; found: {', '.join(map(str, header))}", field=column)
        fixed = _subject_from_name(file, subject, where) if subject_column is None else None
        groups: dict[str, dict[str, list[np.ndarray]]] = {}
        for first, frame in _chunks(file, header, sep, text_columns, chunk_rows):
            parts = {"values": numeric_columns(frame, columns, file, first).astype(np.float32),
                     "labels": (_labels(frame[label["column"]], names, by_name, file, first,
                                        label["column"]) if label
                                else np.full(len(frame), UNLABELLED, dtype=np.int32)),
                     "lines": first + np.arange(len(frame))}
            if ts:
                parts["times"] = _times(frame[ts["column"]], ts, file, first)
            who = (frame[subject_column].astype("str").str.strip().to_numpy() if subject_column
                   else np.full(len(frame), fixed, dtype=object))
            for name in pd.unique(who):
                rows = who == name
                group = groups.setdefault(str(name), {k: [] for k in parts})
                for key, value in parts.items():
                    append_block(group[key], value[rows])
        if not groups:
            raise InputError(file, "no data rows after the header")
        for name in list(groups):  # each group's chunks are freed once joined
            group = groups.pop(name)
            data = {k: np.concatenate(group.pop(k)) for k in list(group)}
            fields = {"dataset": str(spec.get("dataset", "tabular")),
                      "recording_id": file.stem if subject_column is None
                      else f"{file.stem}-{name}",
                      "subject": name, "channels": channels, "label_names": names,
                      "source": (str(file),)}
            if not ts:
                yield Recording(sample_rate_hz=float(spec["sample_rate_hz"]),
                                values=data["values"], labels=data["labels"], **fields)
                continue
            yield from clocked_recordings(
                data.pop("times"), data.pop("values"), data.pop("labels"), data.pop("lines"),
                policy,
                unit=TIME_UNITS[ts.get("unit", "s")], path=file, field=ts["column"],
                on_clock=on_clock, **fields)


def _spec_files(path: Path, pattern: str, where: str) -> list[Path]:
    """The tables ``spec.files`` matches under the input directory, none outside it.

    Raises:
        InputError: An absolute pattern, or a match that lies outside ``path`` once
            ``..`` and symbolic links are resolved (field ``files``).
    """
    if Path(pattern).is_absolute():
        raise InputError(where, f"absolute pattern {pattern!r}; expected a glob relative to the "
                         "input directory", field="files")
    files = find_files(path, pattern, f"tables matching {pattern!r} (spec {where})")
    if path.is_dir():
        root = path.resolve()
        for file in files:
            if not file.resolve().is_relative_to(root):
                raise InputError(where, f"{pattern!r} matches {file}, which is {file.resolve()}, "
                                 f"outside the input directory {path}; expected files under it",
                                 field="files")
    return files


def _subject_from_name(file: Path, subject: dict | None, where: str) -> str:
    """Subject from the file name: group 1 of ``subject.pattern``, or the file stem."""
    if subject is None:
        return file.stem
    match = re.search(str(subject["pattern"]), file.name)
    if match is None:
        raise InputError(file, f"file name does not match subject.pattern "
                         f"{subject['pattern']!r} of the spec ({where})", field="subject")
    return match[1] if match.groups() else match[0]
