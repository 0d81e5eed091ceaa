"""``harqa trends``: trend segments of every numeric column of a CSV file."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import typer

from flows.formats import check_format
from generators import trends
from generators.trend_methods import TREND_METHODS
from generators.errors import InputError
from generators.text import fmt_number
from generators.types import TrendSegment


DELIMITERS = ",;\t|"
"""Field separators ``harqa trends`` recognises (spreadsheets in many locales write ``;``)."""


RATE_RANGE_HZ = (1e-3, 1e6)
"""Sampling rates ``harqa trends`` accepts: a sample every 1,000 s to a million a second
(outside it, times print as 1e+300 s, and an infinite rate never finishes)."""


_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
"""A number written with a decimal comma: a column of them is not text to skip."""


def _delimiter(sample: str) -> str:
    """The field separator of a file that starts with ``sample`` (a comma when unclear)."""
    whole_lines = sample[:sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(whole_lines, delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or no separator used consistently
        return ","


def read_series_csv(path: Path) -> dict[str, np.ndarray]:
    """Read a CSV with a header; every numeric column becomes one series.

    The separator (comma, semicolon, tab or bar) is detected from the first lines, and
    a UTF-8 byte-order mark (as spreadsheets write) is not part of the first name. A
    column is numeric when all its cells parse as numbers; columns where none do
    (timestamps, labels) are not series. Anything in between is an error.

    Args:
        path: The CSV file.

    Returns:
        Column name → float64 series, in header order.

    Raises:
        InputError: Missing/unreadable file, no header, ragged rows, a column mixing
            numbers and text or with empty cells, fewer than two rows, or no numeric column.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            delimiter = _delimiter(fh.read(65536))
            fh.seek(0)
            rows = list(csv.reader(fh, delimiter=delimiter))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"cannot read CSV: {exc}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError(path, "expected a header row naming the columns", line=1)
    header = [h.strip() for h in rows[0]]
    body = [(i, r) for i, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]
    for line, r in body:
        if len(r) != len(header):
            raise InputError(path, f"expected {len(header)} fields as in the header, found "
                             f"{len(r)}", line=line)
    if len(body) < 2:
        raise InputError(path, f"expected at least 2 data rows, found {len(body)}")
    out: dict[str, np.ndarray] = {}
    for col, name in enumerate(header):
        cells = [r[col] for _, r in body]
        try:
            values = np.array(cells, dtype=np.float64)  # parsed in C; the slow scan below
        except ValueError:                              # runs only for text or bad cells
            bad = []
            for i, cell in enumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    bad.append(i)
            if len(bad) == len(cells):
                if all(_DECIMAL_COMMA.fullmatch(c.strip()) for c in cells):
                    raise InputError(path, f"expected numbers with a decimal point, found a "
                                     f"decimal comma ({cells[0]!r})", line=body[0][0],
                                     field=name) from None
                continue  # a text column (time stamps, labels): not a series
            line, r = body[bad[0]]
            raise InputError(path, f"expected a number in this numeric column, found "
                             f"{r[col]!r}", line=line, field=name) from None
        if not np.isfinite(values).all():
            line = body[int(np.flatnonzero(~np.isfinite(values))[0])][0]
            raise InputError(path, "expected a finite number", line=line, field=name)
        out[name] = values
    if not out:
        raise InputError(path, f"expected at least one numeric column (fields separated by "
                         f"{delimiter!r}; found columns {header})")
    return out


def _decimals(values: list[float]) -> int:
    """Decimals that show four significant digits of the values' range: a denoised value
    of a series at 0 is 4e-16 or so, which says nothing to a reader but float rounding."""
    span = max(values) - min(values)
    return 3 if span <= 0 else max(0, 3 - int(np.floor(np.log10(span))))


def _text(channels: dict[str, list[TrendSegment]]) -> str:
    lines = []
    for name, segs in channels.items():
        lines.append(f"{name}: {len(segs)} segment{'s' if len(segs) != 1 else ''}")
        d = _decimals([v for s in segs for v in (s.start_value, s.end_value)])
        lines += [f"  {s.start_s:.2f}–{s.end_s:.2f} s  {s.direction:<6}  "
                  f"{fmt_number(s.start_value, d)} → {fmt_number(s.end_value, d)}  "
                  f"({s.slope_per_s:+.4g}/s)"
                  for s in segs]
    return "\n".join(lines)


def render_trends(input: Path, rate: float, method: str = trends.DEFAULT_METHOD,
                  format: str = "json") -> str:
    """The output of ``harqa trends`` as a string.

    Args:
        input: CSV file with a header.
        rate: Sampling rate in Hz.
        method: Trend method name.
        format: ``json`` or ``text``.

    Returns:
        JSON ``{"channels": {"<col>": {"segments": [{start_s, end_s, start_value,
        end_value, direction, slope_per_s}, ...]}}}`` or a readable listing.

    Raises:
        InputError: Bad file, rate, method or format.
    """
    lo, hi = RATE_RANGE_HZ
    if not lo <= rate <= hi:
        raise InputError("--rate", f"expected a sampling rate from {lo:g} to {hi:g} Hz, "
                                   f"got {rate:g}")
    if method not in TREND_METHODS:
        raise InputError("--method", f"unknown trend method {method!r}; known: "
                         f"{', '.join(TREND_METHODS.names())}")
    check_format(format)
    series = read_series_csv(input)
    segs = trends.detect_batch(list(series.values()), rate, method)
    channels = dict(zip(series, segs))
    if format == "text":
        return _text(channels)
    return json.dumps({"channels": {name: {"segments": [asdict(s) for s in ss]}
                                    for name, ss in channels.items()}})


def trends_command(
    input: Path = typer.Option(..., "--input", help="CSV file with a header; each numeric column is one series."),
    rate: float = typer.Option(..., "--rate", help="Sampling rate in Hz."),
    method: str = typer.Option(trends.DEFAULT_METHOD, "--method", help=f"Trend method: {', '.join(TREND_METHODS.names())}."),
    format: str = typer.Option("json", "--format", help="json or text."),
) -> None:
    """Print the trend segments of every numeric column of a CSV file.

    Raises:
        InputError: Bad file, rate, method or format (the caller reports it).
    """
    typer.echo(render_trends(input, rate, method, format))
