"""Reader for any CSV or Parquet table described by a small YAML spec (see the README)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from generators.errors import InputError
from generators.readers._clock import (
    ClockPolicy, ClockReport, Source, clocked_recordings, joined_recordings,
)
from generators.readers._common import (
    append_block, channel_from_name, checked_unit, find_files, label_ids, number_option,
    numeric_columns, read_table_chunks, read_text,
)
from generators.types import UNLABELLED, Channel, Recording

SPEC_KEYS = {"files", "dataset", "delimiter", "sample_rate_hz", "timestamp", "channels", "label",
             "subject", "sources"}
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


def _sub(spec: dict, key: str, where: str, required: tuple[str, ...],
         prefix: str = "") -> dict | None:
    """An optional nested mapping of the spec, checked for its required keys."""
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not set(required) <= set(value):
        raise InputError(where, f"expected a mapping with {', '.join(required)}",
                         field=f"{prefix}{key}")
    return value


def _channels(spec: dict, where: str, prefix: str = "") -> list[tuple[str, Channel]]:
    """(source column, channel) per ``channels`` entry; errors name ``<prefix>channels``."""
    field = f"{prefix}channels"
    entries = spec.get("channels")
    if not isinstance(entries, list) or not entries:
        raise InputError(where, "expected a list of {column, name, unit} entries", field=field)
    out = []
    for k, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not {"column", "name", "unit"} <= set(entry):
            raise InputError(where, f"channel {k} needs column, name and unit", field=field)
        unit = checked_unit(str(entry["unit"]), where, f"{field}[{k}].unit")
        parsed = channel_from_name(str(entry["name"]), unit)
        out.append((str(entry["column"]), Channel(
            parsed.name, str(entry.get("location", parsed.location)),
            str(entry.get("modality", parsed.modality)), str(entry.get("axis", parsed.axis)),
            parsed.unit)))
    return out


def _label_names(label: dict, where: str, prefix: str = ""
                 ) -> tuple[dict[int, str], dict[str, int] | None]:
    """Label id → name, and name → id when the column holds names (``names`` is a list)."""
    names = label["names"]
    if not names:
        raise InputError(where, "label.names is empty; expected at least one label",
                         field=f"{prefix}label")
    if isinstance(names, list):
        ids = {str(n): i for i, n in enumerate(names, start=1)}
        return {i: n for n, i in ids.items()}, ids
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items()}, None
    raise InputError(where, "label.names must be a mapping id → name or a list of names",
                     field=f"{prefix}label")


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
        sources:                        # instead of files/timestamp/channels/label: one
          - {files: "*_acc.csv", timestamp: {…}, channels: […], label: {…}}  # entry per
          - {files: "*_gyro.csv", timestamp: {…}, channels: […]}  # sensor file, joined
                                        #   on one grid over their overlap (``_joined``)

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
    subject = _sub(spec, "subject", where, ())
    if subject is not None and ("column" in subject) == ("pattern" in subject):
        raise InputError(where, "subject needs exactly one of column or pattern", field="subject")
    dataset = str(spec.get("dataset", "tabular"))
    if "sources" in spec:
        yield from _joined(Path(path), spec, where, subject, dataset, chunk_rows, on_clock)
        return
    if "sample_rate_hz" not in spec and "timestamp" not in spec:
        raise InputError(where, "give sample_rate_hz, a timestamp column or both",
                         field="sample_rate_hz")
    table = _Table.parse(spec, where, "", str(spec.get("delimiter", ",")))
    subject_column = subject.get("column") if subject else None
    ts = table.timestamp
    pattern = str(spec.get("files", "*.csv"))
    for file in _spec_files(Path(path), pattern, where):
        fixed = _subject_from_name(file, subject, where) if subject_column is None else None
        for name, data in table.groups(file, where, subject_column, fixed, chunk_rows):
            fields = {"dataset": dataset,
                      "recording_id": file.stem if subject_column is None
                      else f"{file.stem}-{name}",
                      "subject": name, "channels": table.channels,
                      "label_names": table.names, "source": (str(file),)}
            if not ts:
                yield Recording(sample_rate_hz=float(spec["sample_rate_hz"]),
                                values=data["values"], labels=data["labels"], **fields)
                continue
            yield from clocked_recordings(
                data.pop("times"), data.pop("values"), data.pop("labels"), data.pop("lines"),
                table.policy, unit=TIME_UNITS[ts.get("unit", "s")], path=file,
                field=ts["column"], on_clock=on_clock, **fields)


@dataclass(frozen=True)
class _Table:
    """What a spec (or one of its ``sources``) says about a table's columns.

    Attributes:
        columns: Source column of each channel.
        channels: The channels.
        label: The ``label`` mapping, or ``None``.
        names: Label id → name (empty without labels).
        by_name: Label name → id when the column holds names.
        timestamp: The ``timestamp`` mapping, or ``None``.
        policy: The clock policy from ``timestamp`` and the spec's ``sample_rate_hz``.
        sep: CSV delimiter.
    """

    columns: list[str]
    channels: tuple[Channel, ...]
    label: dict | None
    names: dict[int, str]
    by_name: dict[str, int] | None
    timestamp: dict | None
    policy: ClockPolicy
    sep: str

    @classmethod
    def parse(cls, spec: dict, where: str, prefix: str, sep: str,
              rate_hz: object = None) -> "_Table":
        """Check and read ``channels``, ``label`` and ``timestamp`` of ``spec``; errors name
        ``<prefix><key>``."""
        pairs = _channels(spec, where, prefix)
        label = _sub(spec, "label", where, ("column", "names"), prefix)
        ts = _sub(spec, "timestamp", where, ("column",), prefix)
        if ts and ts.get("unit", "s") not in TIME_UNITS:
            raise InputError(where, f"timestamp unit {ts['unit']!r}; expected one of "
                             f"{', '.join(TIME_UNITS)}", field=f"{prefix}timestamp.unit")
        policy = ClockPolicy.from_options(
            {"rate_hz": spec.get("sample_rate_hz", rate_hz),
             **{k: v for k, v in (ts or {}).items() if k not in TIME_KEYS}}, where,
            f"{prefix}timestamp")
        names, by_name = _label_names(label, where, prefix) if label else ({}, None)
        return cls([c for c, _ in pairs], tuple(ch for _, ch in pairs), label, names, by_name,
                   ts, policy, str(spec.get("delimiter", sep)))

    def groups(self, file: Path, where: str, subject_column: str | None, fixed: str | None,
               chunk_rows: int) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
        """The file's rows per subject (one group, ``fixed``, without a subject column):
        ``values``, ``labels``, ``lines`` and with a timestamp ``times``; each group's
        arrays are joined as it is yielded, the file read whole first.

        Raises:
            InputError: A column of the spec missing from the file, a malformed cell, or
                no data rows.
        """
        ts, label = self.timestamp, self.label
        text_columns = [c for c in (subject_column, label and label["column"],
                                    ts and ts.get("unit") == "datetime" and ts["column"]) if c]
        header = _header(file, self.sep)
        for column in self.columns + text_columns + ([ts["column"]] if ts else []):
            if column not in header:
                raise InputError(file, f"column {column!r} named in the spec ({where}) is not in "
                                 f"the file; found: {', '.join(map(str, header))}", field=column)
        groups: dict[str, dict[str, list[np.ndarray]]] = {}
        for first, frame in _chunks(file, header, self.sep, text_columns, chunk_rows):
            parts = {"values": numeric_columns(frame, self.columns, file,
                                               first).astype(np.float32),
                     "labels": (_labels(frame[label["column"]], self.names, self.by_name, file,
                                        first, label["column"]) if label
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
            yield name, {k: np.concatenate(group.pop(k)) for k in list(group)}


SOURCE_KEYS = {"files", "timestamp", "channels", "label", "delimiter"}


def _joined(path: Path, spec: dict, where: str, subject: dict | None, dataset: str,
            chunk_rows: int, on_clock: Callable[[ClockReport], None] | None
            ) -> Iterator[Recording]:
    """Recordings whose sensors lie in separate files, each with its own clock (``sources``).

    A recording is one file of every source; files belong together when they lie in one
    folder and each source's glob matched the same text with its wildcards
    (``u1_acc.csv`` and ``u1_gyro.csv`` under ``*_acc.csv`` and ``*_gyro.csv``: ``u1``),
    which is the recording id (folders joined with ``-``). The subject is the
    ``subject.pattern`` match on the first source's file name, or the id. Their samples are
    joined on one grid over the time they all cover (``_clock.joined_recordings``).

    Raises:
        InputError: A bad source entry, top-level keys that belong in the sources, a
            subject column, labels in more than one source, a channel named twice, a
            recording that lacks a source's file, or what the clock refuses.
    """
    sources = spec["sources"]
    if not isinstance(sources, list) or not sources:
        raise InputError(where, "expected a list of {files, timestamp, channels} entries",
                         field="sources")
    misplaced = sorted(set(spec) & (SOURCE_KEYS - {"delimiter"}))
    if misplaced:
        raise InputError(where, f"{', '.join(misplaced)} beside sources; expected them in each "
                         "source", field=misplaced[0])
    if subject is not None and "column" in subject:
        raise InputError(where, "subject column with sources; expected subject: {pattern: …} "
                         "on the file names", field="subject")
    tables, files = [], []
    for k, entry in enumerate(sources, start=1):
        prefix = f"sources[{k}]."
        if not isinstance(entry, dict) or not {"files", "timestamp", "channels"} <= set(entry):
            raise InputError(where, f"source {k} needs files, timestamp and channels",
                             field="sources")
        unknown = set(entry) - SOURCE_KEYS
        if unknown:
            raise InputError(where, f"unknown keys {sorted(unknown)}; known: "
                             f"{', '.join(sorted(SOURCE_KEYS))}", field=f"{prefix}{min(unknown)}")
        tables.append(_Table.parse(entry, where, prefix, str(spec.get("delimiter", ",")),
                                   spec.get("sample_rate_hz")))
        pattern = str(entry["files"])
        files.append({_recording_key(f, path, pattern, where, f"{prefix}files"): f
                      for f in _spec_files(path, pattern, where)})
    if sum(t.label is not None for t in tables) > 1:
        raise InputError(where, "labels in more than one source; expected them in one",
                         field="sources")
    names = [ch.name for t in tables for ch in t.channels]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise InputError(where, f"channels {twice} named in more than one source; expected "
                         "unique names", field="sources")
    for key in sorted(set().union(*files), key=str):
        missing = [k for k, found in enumerate(files, start=1) if key not in found]
        if missing:
            have = next(found[key] for found in files if key in found)
            raise InputError(have, f"no file of source {missing[0]} "
                             f"({sources[missing[0] - 1]['files']!r}) for recording {key!r}; "
                             "expected one file of every source per recording", field="sources")
        paths = [found[key] for found in files]
        parts = []
        for t, file in zip(tables, paths):
            ((_, data),) = t.groups(file, where, None, key, chunk_rows)
            parts.append(Source(data["times"], data["values"], data["labels"], data["lines"],
                                t.policy, TIME_UNITS[t.timestamp.get("unit", "s")], file,
                                t.timestamp["column"], labelled=t.label is not None))
        yield from joined_recordings(
            parts, recording_id=key, on_clock=on_clock, dataset=dataset,
            subject=_subject_from_name(paths[0], subject, where) if subject else key,
            channels=tuple(ch for t in tables for ch in t.channels),
            label_names=next((t.names for t in tables if t.label), {}),
            source=tuple(map(str, paths)))


def _recording_key(file: Path, root: Path, pattern: str, where: str, field: str) -> str:
    """The folders of ``file`` under ``root`` and what the wildcards (``*``, ``?``) of the
    glob's file-name part matched, joined with ``-``."""
    name = Path(pattern).name
    regex = "".join("(.*)" if ch == "*" else "(.)" if ch == "?" else re.escape(ch) for ch in name)
    match = re.fullmatch(regex, file.name)
    if match is None:
        raise InputError(where, f"{file.name} matches {pattern!r} but not as plain * and ? "
                         "wildcards; expected a glob of * and ? to tell recordings apart",
                         field=field)
    folders = file.parent.relative_to(root).parts if root.is_dir() else ()
    return "-".join([*folders, "".join(match.groups())]).strip("-") or file.stem


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
