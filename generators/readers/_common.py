"""Shared helpers of the readers: opening (maybe gzipped) text and loading numeric tables."""

from __future__ import annotations

import gzip
import io
import logging
import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from generators.errors import InputError
from generators.types import UNLABELLED, Channel


FLOAT32_MAX = float(np.finfo(np.float32).max)
FINITE_EXPECTED = "expected a finite number within float32's range ±3.4e38"
GZIP_ERRORS = (gzip.BadGzipFile, zlib.error, EOFError)


def open_text(path: Path) -> io.TextIOBase:
    """Open a text file, transparently gunzipping ``*.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


READ_ERRORS = (UnicodeDecodeError, *GZIP_ERRORS, OSError)
"""What reading a file can raise that is the file's fault, not the code's."""


def read_error(path: Path, exc: BaseException) -> InputError:
    """The one-line error for one of ``READ_ERRORS`` met while reading ``path``: not UTF-8
    text, corrupt gzip, or a file the system will not let us read (EACCES, EIO, …)."""
    if isinstance(exc, UnicodeDecodeError):
        return InputError(path, "not UTF-8 text (a binary file?); expected a text table")
    if isinstance(exc, GZIP_ERRORS) or (getattr(exc, "errno", None) is None
                                        and "gzip" in str(exc).lower()):
        return InputError(path, f"corrupt gzip data ({exc}); re-download the file")
    return InputError(path, f"cannot read the file ({getattr(exc, 'strerror', None) or exc})")


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based number, line) of a text file (``.gz`` allowed).

    Raises:
        InputError: The file cannot be opened or read, is corrupt gzip, or is not UTF-8.
    """
    try:
        with open_text(path) as fh:
            yield from enumerate(fh, start=1)
    except READ_ERRORS as exc:
        raise read_error(path, exc) from None


def read_text(path: Path) -> str:
    """The whole of a small UTF-8 text file (a spec, a preset, a dictionary).

    Raises:
        InputError: As :func:`text_lines`.
    """
    return "".join(line for _, line in text_lines(Path(path)))


def beyond_float32(values: np.ndarray) -> np.ndarray:
    """Mask of the cells a float32 recording cannot hold: ±inf and overflows (not NaN)."""
    with np.errstate(invalid="ignore"):
        return np.abs(values) > FLOAT32_MAX


def expect_number(value: Any, unit: str, *, positive: bool = True) -> float:
    """``value`` as a float when it is a finite number above 0 (``positive``) or from 0.

    Raises:
        ValueError: Saying what was expected (``expected a positive number of Hz``).
    """
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not np.isfinite(value) or value < 0 or (positive and value == 0)):
        raise ValueError(f"expected a positive number of {unit}" if positive
                         else f"expected a number of {unit}, 0 or more")
    return float(value)


def number_option(value: Any, where: str | Path, field: str, unit: str, *,
                  positive: bool = True) -> float:
    """A reader option or spec field checked by :func:`expect_number`.

    Raises:
        InputError: Naming ``where`` and ``field`` and the value found.
    """
    try:
        return expect_number(value, unit, positive=positive)
    except ValueError as exc:
        raise InputError(where, f"{exc}, found {value!r}", field=field) from None


def _locate_bad_cell(path: Path, n_cols: int, sep: str | None, allow_nan: bool) -> InputError:
    """Scan ``path`` line by line to name the first malformed line (slow path, errors only)."""
    for lineno, line in text_lines(path):
        if not line.strip():
            continue
        cells = line.split(sep) if sep is not None else line.split()
        cells = [c for c in cells if c.strip() != ""] if sep is None else cells
        if len(cells) != n_cols:
            hint = " (truncated last line?)" if not line.endswith("\n") else ""
            return InputError(path, f"expected {n_cols} columns, found {len(cells)}{hint}",
                              line=lineno)
        for col, cell in enumerate(cells, start=1):
            try:
                value = float(cell)
            except ValueError:
                value = None
            if value is None or (value != value and not allow_nan):
                return InputError(path, f"expected a number, found {cell.strip()!r}",
                                  line=lineno, field=f"column {col}")
            if abs(value) > FLOAT32_MAX:
                return InputError(path, f"{FINITE_EXPECTED}, found {cell.strip()!r}",
                                  line=lineno, field=f"column {col}")
    return InputError(path, "could not parse as a numeric table")


def load_numeric_table(path: Path, n_cols: int, sep: str | None = None,
                       allow_nan: bool = False) -> np.ndarray:
    """Load a headerless numeric text table, failing with the file, line and column.

    Args:
        path: Text file (``.gz`` allowed).
        n_cols: Expected number of columns on every line.
        sep: Column separator; ``None`` means runs of whitespace.
        allow_nan: Whether NaN cells are legal (PAMAP2's dropped packets). When they are
            not, any NaN (which pandas also makes of a short line) is located and reported.

    Returns:
        float64 array of shape (rows, n_cols).

    Raises:
        InputError: Empty file, wrong column count, non-numeric cell, a value a float32
            cannot hold (inf, 1e39), corrupt gzip, an unreadable or binary file.
    """
    try:
        df = pd.read_csv(path, sep=r"\s+" if sep is None else sep, header=None,
                         dtype=np.float64, engine="c", compression="infer")
    except pd.errors.EmptyDataError:
        raise InputError(path, f"file is empty; expected rows of {n_cols} numbers") from None
    except READ_ERRORS as exc:
        raise read_error(path, exc) from None
    except (ValueError, pd.errors.ParserError):
        raise _locate_bad_cell(path, n_cols, sep, allow_nan) from None
    values = df.to_numpy()
    if (df.shape[1] != n_cols or (not allow_nan and np.isnan(values).any())
            or beyond_float32(values).any()):
        raise _locate_bad_cell(path, n_cols, sep, allow_nan)
    return values


# --- streaming tables, file discovery, label and gap policies (used by several readers) ---

LOG = logging.getLogger("generators.readers")

ARBITRARY_UNIT = "AU"
"""Unit of a channel whose source does not state one: arbitrary units, written as one word
without a period (see :func:`checked_unit`)."""


def natural_key(path: Path) -> list[object]:
    """Sort key that orders ``subject2`` before ``subject10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def find_files(path: Path, patterns: str | Sequence[str], what: str) -> list[Path]:
    """The files of ``path`` matching ``patterns`` (searched recursively), naturally sorted.

    Args:
        path: A file (returned as is) or a directory to search.
        patterns: Glob pattern(s) of the file names (``mHealth_subject*.log``).
        what: What the files are, for the error message.

    Raises:
        InputError: ``path`` does not exist or holds no matching file, or a directory
            under it cannot be listed (its files would silently go missing).
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(path, f"no such file or directory; expected {what}")

    def unlisted(exc: OSError) -> None:
        raise InputError(exc.filename, f"cannot read the directory ({exc.strerror}); "
                         f"expected {what}")
    for _ in os.walk(path, onerror=unlisted):
        pass
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    found = sorted({p for pattern in patterns for p in path.rglob(pattern) if p.is_file()},
                   key=natural_key)
    if not found:
        raise InputError(path, f"no files matching {' or '.join(map(repr, patterns))} "
                         f"under this directory; expected {what}")
    return found


def line_text(path: Path, lineno: int) -> tuple[str, bool]:
    """Line ``lineno`` (1-based) of a text file and whether it is the last, unterminated line.

    Only used on the error path, to describe a bad line precisely; binary tables
    (Parquet) have no lines and give ``("", False)``.
    """
    if path.suffix in (".parquet", ".pq"):
        return "", False
    for number, line in text_lines(path):
        if number == lineno:
            return line.rstrip("\r\n"), not line.endswith("\n")
    return "", False


def _field_count_error(path: Path, lineno: int, expected: int, sep: str | None) -> InputError:
    text, unterminated = line_text(path, lineno)
    found = len(text.split(sep)) if text.strip() else 0
    hint = " (the last line is truncated)" if unterminated else ""
    return InputError(path, f"expected {expected} fields, found {found}{hint}", line=lineno)


def read_table_chunks(path: Path, *, n_columns: int, sep: str | None, header: bool,
                      chunk_rows: int = 200_000, last_required: bool = True,
                      **read_csv: object) -> Iterator[tuple[int, pd.DataFrame]]:
    """Stream a delimited text table (``.gz`` allowed) in chunks of rows.

    Lines with more than ``n_columns`` fields raise; so do shorter ones (a truncated
    last line included) unless ``last_required`` is false, in which case a missing last
    field reads as ``""`` and missing earlier fields as NaN, for the caller to judge.
    Only ``NaN``/``nan``/``NA`` cells are NaN (an empty cell stays ``""``). Blank lines
    are not skipped, so line numbers in errors are the file's own.

    Args:
        path: The file.
        n_columns: Fields per line.
        sep: Separator; ``None`` means runs of whitespace.
        header: Whether the first line is a header.
        chunk_rows: Rows per chunk; bounds memory on day-long files.
        **read_csv: Further ``pandas.read_csv`` arguments (``usecols``, ``dtype``…);
            the last column must not be dropped by ``usecols``: it detects short lines.

    Yields:
        (file line number of the chunk's first row, DataFrame) pairs.

    Raises:
        InputError: Empty file, wrong field count, corrupt gzip, an unreadable or binary file.
    """
    last = n_columns - 1
    names = read_csv.pop("names", list(range(n_columns)))
    dtype = dict(read_csv.pop("dtype", {}) or {})
    if last_required:
        dtype[names[last]] = "str"  # a short line leaves this cell "" (NaN only from na_values)
    na_values = read_csv.pop("na_values", ["NaN", "nan", "NA"])
    try:
        reader = pd.read_csv(path, sep=r"\s+" if sep is None else sep, header=None,
                             names=names, skiprows=1 if header else 0, dtype=dtype,
                             keep_default_na=False, na_values=na_values,
                             skip_blank_lines=False, chunksize=chunk_rows, engine="c",
                             compression="infer", **read_csv)
        first = 2 if header else 1
        with reader:
            for chunk in reader:
                if last_required:
                    short = (chunk[names[last]] == "").to_numpy()
                    if short.any():
                        raise _field_count_error(path, first + int(np.argmax(short)), n_columns,
                                                 sep)
                yield first, chunk
                first += len(chunk)
    except pd.errors.EmptyDataError:
        raise InputError(path, f"file is empty; expected lines of {n_columns} fields") from None
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        if match is None:
            raise InputError(path, f"cannot parse as a table of {n_columns} fields ({exc})") from None
        raise _field_count_error(path, int(match[1]), n_columns, sep) from None
    except READ_ERRORS as exc:
        raise read_error(path, exc) from None


def numeric_columns(frame: pd.DataFrame, columns: Sequence[object], path: Path, first_line: int,
                    *, allow_nan: bool = False, names: Sequence[str] | None = None) -> np.ndarray:
    """The given columns of a chunk as float64, naming the first bad cell if any.

    Args:
        frame: A chunk from ``read_table_chunks`` (or any frame with one row per line).
        columns: Column keys to convert.
        path: The file, for errors.
        first_line: File line number of the frame's first row.
        allow_nan: Whether missing/NaN cells are legal.
        names: Field names for errors (default: the column keys).

    Raises:
        InputError: A non-numeric cell, a value a float32 cannot hold (inf, 1e39), or a
            missing one when ``allow_nan`` is false.
    """
    names = [str(c) for c in columns] if names is None else list(names)
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        cells = frame[column]
        values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        present = cells.notna().to_numpy()
        if not pd.api.types.is_numeric_dtype(cells):
            present = present & (cells.astype("str").str.strip() != "").to_numpy()  # "" is missing
        bad = np.isnan(values) & present
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(path, f"expected a number, found {cells.iloc[row]!r}",
                             line=first_line + row, field=names[j])
        over = beyond_float32(values)
        if over.any():
            row = int(np.argmax(over))
            cell = cells.iloc[row]
            raise InputError(path, f"{FINITE_EXPECTED}, found "
                             f"{cell if isinstance(cell, str) else float(cell)!r}",
                             line=first_line + row, field=names[j])
        if not allow_nan and np.isnan(values).any():
            row = int(np.argmax(np.isnan(values)))
            hint = " (the last line is truncated)" if line_text(path, first_line + row)[1] else ""
            raise InputError(path, f"missing value; expected a number{hint}",
                             line=first_line + row, field=names[j])
        out[:, j] = values
    return out


def label_ids(raw: np.ndarray, known: Mapping[int, str] | Sequence[int], path: Path,
              first_line: int, field: str, null: int | None = None) -> np.ndarray:
    """Integer label ids checked against the label map, ``null`` mapped to ``UNLABELLED``.

    Args:
        raw: Label cells as float (from ``numeric_columns``).
        known: Legal label ids (a mapping's keys or a sequence).
        path: The file, for errors.
        first_line: File line number of ``raw[0]``.
        field: Field name, for errors.
        null: The dataset's null-class id, mapped to −1.

    Raises:
        InputError: A non-integer id or one outside the label map.
    """
    legal = np.array(sorted(set(known) | ({null} if null is not None else set())))
    ok = np.isin(raw, legal)
    if not ok.all():
        row = int(np.argmin(ok))
        raise InputError(path, f"label {raw[row]:g} is not in the label map; expected one of "
                         f"{', '.join(map(str, legal))}", line=first_line + row, field=field)
    ids = raw.astype(np.int32)
    if null is not None:
        ids[ids == null] = UNLABELLED
    return ids


class Spill:
    """Rows of one array appended chunk by chunk to an unnamed temporary file, then mapped.

    A reader of a day-long file spills its parsed chunks here instead of keeping them in
    a list: the whole recording never sits in memory at the source rate, and no second
    copy is made to join the chunks. The file has no name (``tempfile.TemporaryFile``) and
    disappears when the mapping is dropped.

    Args:
        dtype: Element type.
        width: Columns per row (``None`` for a 1-D array).
    """

    def __init__(self, dtype: np.dtype, width: int | None = None) -> None:
        self._dtype = np.dtype(dtype)
        self._width = width
        self._file = tempfile.TemporaryFile()
        self.rows = 0

    def append(self, chunk: np.ndarray) -> None:
        """Write the rows of ``chunk`` after those already written."""
        self._file.write(np.ascontiguousarray(chunk, dtype=self._dtype).tobytes())
        self.rows += len(chunk)

    def array(self) -> np.ndarray:
        """All rows written (at least one), as a read-only memory map."""
        self._file.flush()
        shape = (self.rows,) if self._width is None else (self.rows, self._width)
        mapped = np.memmap(self._file, dtype=self._dtype, mode="r", shape=shape)
        self._file.close()  # the mapping keeps its own handle on the data
        return mapped


def append_block(blocks: list[np.ndarray], chunk: np.ndarray, block_bytes: int = 1 << 26
                 ) -> None:
    """Append ``chunk`` to ``blocks``, joining the chunks after the last full block into one
    once they hold ``block_bytes``: a day-long file's columns then sit in a few large
    allocations, which go back to the system when freed, instead of thousands of chunk-sized
    ones that the C allocator keeps."""
    blocks.append(chunk)
    tail = len(blocks)
    while tail > 0 and blocks[tail - 1].nbytes < block_bytes:
        tail -= 1
    if sum(b.nbytes for b in blocks[tail:]) >= block_bytes:
        blocks[tail:] = [np.concatenate(blocks[tail:])]


def check_increasing(times: np.ndarray, path: Path, first_line: int, field: str,
                     previous: float | None = None) -> None:
    """Raise unless ``times`` strictly increase (continuing from ``previous``)."""
    steps = np.diff(times, prepend=times[:1] if previous is None else [previous])
    if previous is None:
        steps[0] = 1
    bad = steps <= 0
    if bad.any():
        row = int(np.argmax(bad))
        kind = "duplicated" if steps[row] == 0 else "goes backwards"
        raise InputError(path, f"timestamp {kind}; expected strictly increasing times",
                         line=first_line + row, field=field)


@dataclass(frozen=True)
class GapReport:
    """What the NaN-gap policy did to one recording.

    Attributes:
        recording_id: The recording before splitting.
        interpolated_gaps: NaN runs (per channel) filled by linear interpolation.
        interpolated_samples: Cells filled.
        long_gaps: Stretches longer than the limit (or at an end) that were cut out.
        dropped_samples: Samples (rows) cut out with them.
        parts: Recordings yielded.
    """

    recording_id: str
    interpolated_gaps: int
    interpolated_samples: int
    long_gaps: int
    dropped_samples: int
    parts: int


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def apply_gap_policy(values: np.ndarray, *, max_gap: int, channel_names: Sequence[str],
                     path: Path, first_line: int, recording_id: str, on_long_gap: str,
                     on_gap: Callable[[GapReport], None] | None = None,
                     breaks: Sequence[int] = ()) -> tuple[np.ndarray, list[slice]]:
    """Fill short NaN gaps and find the pieces between long ones.

    Policy: per channel, a NaN run of at most ``max_gap`` samples with data on both
    sides is filled by linear interpolation; a longer run, or one touching either end,
    is cut out of the recording (all channels), which is split there. The recording is
    also split before each row in ``breaks`` (time jumps). An all-NaN channel is an error.

    Args:
        values: samples × channels, float; modified in place.
        max_gap: Longest run (samples) that is interpolated.
        channel_names: For errors.
        path: The file, for errors.
        first_line: File line of ``values[0]``.
        recording_id: For the report.
        on_long_gap: ``"split"`` (cut and split) or ``"error"`` (raise on the first).
        on_gap: Called with the ``GapReport``; it is also logged at INFO.
        breaks: Rows that start a new piece (counted as long gaps).

    Returns:
        The filled values and the slices of the pieces to keep, in order.

    Raises:
        InputError: An all-NaN channel, or a long gap when ``on_long_gap="error"``.
    """
    if on_long_gap not in ("split", "error"):
        raise InputError(path, f"on_long_gap must be 'split' or 'error', not {on_long_gap!r}",
                         field="on_long_gap")
    n = len(values)
    cut = np.zeros(n, dtype=bool)
    n_short = n_filled = 0
    index = np.arange(n)
    for j in np.flatnonzero(np.isnan(values).any(axis=0)):
        column = values[:, j]
        missing = np.isnan(column)
        if missing.all():
            raise InputError(path, "channel is NaN in every row; expected data (drop the "
                             "channel or fix the file)", field=channel_names[j])
        starts, ends = _runs(missing)
        long = (ends - starts > max_gap) | (starts == 0) | (ends == n)
        if long.any() and on_long_gap == "error":
            k = int(np.argmax(long))
            raise InputError(path, f"NaN gap of {ends[k] - starts[k]} samples exceeds the "
                             f"limit of {max_gap} samples (max_gap_s)",
                             line=first_line + int(starts[k]), field=channel_names[j])
        in_long = np.zeros(n, dtype=bool)
        for s, e in zip(starts[long], ends[long]):
            in_long[s:e] = True
        cut |= in_long
        short = missing & ~in_long
        if short.any():
            column[short] = np.interp(index[short], index[~missing], column[~missing])
        n_short += int((~long).sum())
        n_filled += int(short.sum())
    bounds = np.asarray(breaks, dtype=int)
    pieces = []
    for s, e in zip(*_runs(~cut)):
        edges = np.r_[s, bounds[(bounds > s) & (bounds < e)], e]
        pieces += [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    report = GapReport(recording_id, n_short, n_filled, int(len(_runs(cut)[0])) + len(breaks),
                       int(cut.sum()), len(pieces))
    LOG.info("%s: %s", path, report)
    if on_gap is not None:
        on_gap(report)
    return values, pieces


def checked_unit(unit: str, where: str | Path, field: str) -> str:
    """``unit`` when the texts can state it: one word (``m/s²``, ``deg/s``, ``µT``) that
    does not end with a period, or none (``""``: a unitless value).

    Raises:
        InputError: A unit with a space, which a reader of "0.4 arbitrary units" cannot
            tell from words that follow a number, or one ending in a period (``a.u.``):
            "reaches 0.4 a.u.." ends its sentence twice.
    """
    if any(c.isspace() for c in unit) or unit.endswith("."):
        raise InputError(where, f"unit {unit!r}: expected one word without a final period, "
                                f"like m/s², deg/s or {ARBITRARY_UNIT} (arbitrary units)",
                         field=field)
    return unit


def channel_from_name(name: str, unit: str) -> Channel:
    """A ``Channel`` parsed from ``<location>_<modality>_<axis>`` (or ``<location>_<modality>``).

    The axis is the last part when it is one letter or digit (``x``, ``1``); the modality
    is the part before it; everything earlier is the location (``right_lower_arm``).
    """
    parts = name.split("_")
    if len(parts) >= 3 and len(parts[-1]) == 1:
        return Channel(name, "_".join(parts[:-2]), parts[-2], parts[-1], unit)
    if len(parts) >= 2:
        return Channel(name, "_".join(parts[:-1]), parts[-1], "", unit)
    return Channel(name, "", name, "", unit)
