"""Recorded clocks onto a uniform grid: the one place readers with timestamps go through.

Phones, watches and RFID tags stamp samples irregularly: duplicated times, samples that
arrive a little late (out of order), jittered steps and gaps. :func:`regularize` turns
one recording's stamped samples into parts on a uniform grid by a stated policy
(:class:`ClockPolicy`) and says what it found (:class:`ClockReport`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from generators.errors import InputError
from generators.readers._common import number_option
from generators.types import UNLABELLED, Recording

LOG = logging.getLogger("generators.readers")

DUPLICATES = ("mean", "first")
ON_GRID = 1e-6
"""Samples within this fraction of a period of the grid are on it and kept as they are."""


@dataclass(frozen=True)
class ClockPolicy:
    """How stamped samples are placed on the grid.

    Attributes:
        rate_hz: Grid rate; ``None`` infers it from the median step between distinct times.
        duplicates: Samples sharing a time: ``"mean"`` (averaged, default) or ``"first"``.
        max_backwards_s: A sample stamped at most this long before an earlier one is
            sorted into place (clock jitter); further back is an error.
        max_gap_s: Steps up to this long are interpolated; longer ones split the
            recording into parts, never bridged.
    """

    rate_hz: float | None = None
    duplicates: str = "mean"
    max_backwards_s: float = 0.05
    max_gap_s: float = 0.1

    @classmethod
    def from_options(cls, options: dict, where: str | Path, field: str = "") -> "ClockPolicy":
        """A policy from a spec mapping (keys as the attributes), each value checked; errors
        name ``<field>.<key>`` (or the key alone)."""
        prefix = f"{field}." if field else ""
        unknown = set(options) - {"rate_hz", "duplicates", "max_backwards_s", "max_gap_s"}
        if unknown:
            raise InputError(where, f"unknown clock keys {sorted(unknown)}; known: duplicates, "
                             "max_backwards_s, max_gap_s, rate_hz", field=field or None)
        if options.get("duplicates", "mean") not in DUPLICATES:
            raise InputError(where, f"duplicates {options['duplicates']!r}; expected mean or "
                             "first", field=f"{prefix}duplicates")
        given = {k: v for k, v in options.items() if v is not None}
        for key in set(given) - {"duplicates"}:
            given[key] = number_option(given[key], where, f"{prefix}{key}",
                                       "Hz" if key == "rate_hz" else "seconds",
                                       positive=key != "max_backwards_s")
        return cls(**given)


@dataclass(frozen=True)
class ClockReport:
    """What one recording's clock looked like and what the policy made of it.

    Attributes:
        recording_id: The recording before splitting.
        samples: Stamped samples read.
        rate_hz: Grid rate.
        rate_inferred: Whether ``rate_hz`` is the median step's (no nominal rate given).
        median_step_s: Median step between distinct times.
        step_p5_s: 5th percentile of those steps (jitter, with ``step_p95_s``).
        step_p95_s: 95th percentile.
        duplicated: Samples stamped with the time of the sample before them.
        backwards: Samples stamped before an earlier sample (sorted into place).
        off_band: Steps between distinct times outside 0.5–1.5 × the median.
        gaps: Steps longer than ``max_gap_s`` (the recording is split there).
        parts: Recordings made.
        grid_samples: Samples on the grid, all parts together.
    """

    recording_id: str
    samples: int
    rate_hz: float
    rate_inferred: bool
    median_step_s: float
    step_p5_s: float
    step_p95_s: float
    duplicated: int
    backwards: int
    off_band: int
    gaps: int
    parts: int
    grid_samples: int


@dataclass(frozen=True)
class Part:
    """One gap-free stretch on the grid: its first time (s after the recording's earliest
    stamp), values and labels."""

    start_s: float
    values: np.ndarray
    labels: np.ndarray


def _sorted(times: np.ndarray, lines: np.ndarray, max_back: float, unit: float, path: Path,
            field: str) -> tuple[np.ndarray | None, int]:
    """The stable sort order (``None`` if already sorted) and the count of late samples."""
    late = np.flatnonzero(np.diff(times) < 0) + 1
    if not len(late):
        return None, 0
    latest = np.maximum.accumulate(times)
    behind = latest[late - 1] - times[late]
    if (behind > max_back * unit).any():
        worst = int(np.argmax(behind > max_back * unit))
        row = int(late[worst])
        raise InputError(path, f"timestamp goes backwards by {behind[worst] / unit:g} s; "
                         f"expected increasing times (out-of-order samples are sorted up to "
                         f"max_backwards_s = {max_back:g} s)",
                         line=int(lines[row]), field=field)
    return np.argsort(times, kind="stable"), len(late)


@dataclass(frozen=True)
class _Cleaned:
    """One source's samples sorted, duplicates merged and cut at long gaps.

    Attributes:
        origin: The earliest stamp as written (the times' zero), in the source's unit.
        times: Distinct times from ``origin`` (float64, source unit), increasing.
        values: Samples × channels at ``times``.
        labels: Label id at ``times``.
        bounds: Gap-free stretches are ``[bounds[k], bounds[k + 1])``.
        period: Grid period in the source's unit.
        report: What the clock looked like.
    """

    origin: Any
    times: np.ndarray
    values: np.ndarray
    labels: np.ndarray
    bounds: np.ndarray
    period: float
    report: ClockReport


def _clean(times: np.ndarray, values: np.ndarray, labels: np.ndarray, lines: np.ndarray,
           policy: ClockPolicy, *, unit: float, path: Path, field: str,
           recording_id: str) -> _Cleaned:
    """The policy up to the grid (arguments and errors as :func:`regularize`)."""
    times = np.asarray(times)
    bad = ~np.isfinite(times)
    if bad.any():
        raise InputError(path, f"timestamp {times[int(np.argmax(bad))]}; expected a finite "
                         "time", line=int(lines[int(np.argmax(bad))]), field=field)
    if len(times) < 2:
        raise InputError(path, "one row only; expected at least two timestamps to place "
                         "samples in time", line=int(lines[0]) if len(lines) else None,
                         field=field)
    # From the earliest time, before float64: an integer clock (ns since 1970) stays exact.
    origin = times.min()
    times = (times - origin).astype(np.float64, copy=False)
    order, backwards = _sorted(times, lines, policy.max_backwards_s, unit, path, field)
    if order is not None:
        times, values, labels = times[order], values[order], labels[order]
        del order
    first = np.flatnonzero(np.r_[True, np.diff(times) > 0])
    if len(first) == 1:
        raise InputError(path, f"all {len(times)} timestamps equal {origin:g}; expected "
                         "increasing times", line=int(lines[0]), field=field)
    if len(first) < len(times):
        if policy.duplicates == "mean":
            values = np.add.reduceat(values, first, axis=0)
            values /= np.diff(np.r_[first, len(times)]).astype(values.dtype)[:, None]
        else:
            values = values[first]
        times, labels = times[first], labels[first]
    steps = np.diff(times)
    median = float(np.median(steps))
    period = unit / policy.rate_hz if policy.rate_hz else median
    if policy.max_gap_s * unit < period:
        raise InputError(path, f"max_gap_s = {policy.max_gap_s:g} s is shorter than the grid's "
                         f"period of {period / unit:g} s; expected at least one period",
                         field="max_gap_s")
    cuts = np.flatnonzero(steps > policy.max_gap_s * unit) + 1
    bounds = np.r_[0, cuts, len(times)]
    p5, p95 = np.percentile(steps, [5, 95]) / unit
    report = ClockReport(
        recording_id=recording_id, samples=len(lines), rate_hz=unit / period,
        rate_inferred=not policy.rate_hz, median_step_s=median / unit, step_p5_s=float(p5),
        step_p95_s=float(p95), duplicated=len(lines) - len(first), backwards=backwards,
        off_band=int(((steps < 0.5 * median) | (steps > 1.5 * median)).sum()),
        gaps=len(cuts), parts=len(bounds) - 1,
        grid_samples=int(sum(_grid_length(times[a], times[b - 1], period)
                             for a, b in zip(bounds[:-1], bounds[1:]))))
    LOG.info("%s: %s", path, report)
    return _Cleaned(origin, times, values, labels, bounds, period, report)


def regularize(times: np.ndarray, values: np.ndarray, labels: np.ndarray, lines: np.ndarray,
               policy: ClockPolicy, *, unit: float, path: Path, field: str,
               recording_id: str) -> tuple[Iterator[Part], ClockReport]:
    """Place one recording's stamped samples on a uniform grid, split at long gaps.

    Out-of-order samples within ``max_backwards_s`` are sorted (stable); samples sharing a
    time are averaged or the first kept; each gap-free stretch gets a grid from its first
    time at ``rate_hz`` (given or the median step's) and its values by linear
    interpolation per channel (``numpy.interp``); a grid point takes the label of the
    last sample at or before it (never interpolated). A stretch already on the grid
    keeps its values unchanged.

    Args:
        times: Sample times in ``1 / unit`` seconds (float64, or int64 for an integer
            clock; any origin): the source's own unit, so that an even clock in whole
            milliseconds gives an exact rate.
        values: Samples × channels.
        labels: Label id per sample.
        lines: File line (or row) of each sample, for errors.
        policy: The clock policy.
        unit: Time units per second (1e9 for nanoseconds).
        path: The file, for errors.
        field: The time column, for errors.
        recording_id: For the report.

    Returns:
        The parts (computed one at a time as they are iterated) and the report.

    Raises:
        InputError: A non-finite time, a single sample, all samples at one time, a
            sample further back than ``max_backwards_s``, or a ``max_gap_s`` shorter
            than the grid's period.
    """
    c = _clean(times, values, labels, lines, policy, unit=unit, path=path, field=field,
               recording_id=recording_id)

    def parts() -> Iterator[Part]:
        for a, b in zip(c.bounds[:-1], c.bounds[1:]):
            yield _on_grid(c.times[a:b], c.values[a:b], c.labels[a:b], c.period, unit)

    return parts(), c.report


def _grid_length(start: float, end: float, period: float) -> int:
    """Grid points from ``start`` up to ``end`` (a point within ``ON_GRID`` of it included)."""
    return int(np.floor((end - start) / period + ON_GRID)) + 1


def _on_grid(times: np.ndarray, values: np.ndarray, labels: np.ndarray, period: float,
             unit: float) -> Part:
    """One gap-free stretch interpolated onto the grid from its first time."""
    grid = times[0] + np.arange(_grid_length(times[0], times[-1], period)) * period
    if len(grid) == len(times) and np.abs(grid - times).max() <= ON_GRID * period:
        return Part(float(times[0]) / unit, np.asarray(values, dtype=np.float32), labels)
    out = np.empty((len(grid), values.shape[1]), dtype=np.float32)
    for j in range(values.shape[1]):
        out[:, j] = np.interp(grid, times, values[:, j])
    held = np.searchsorted(times, grid + ON_GRID * period, side="right") - 1
    return Part(float(times[0]) / unit, out, labels[held])


def session_starts(keys: np.ndarray, times: np.ndarray, max_back: float) -> np.ndarray:
    """Where sessions begin in a file that concatenates them: the first row, and every row
    whose key (user, device…) differs from the row before or whose time lies more than
    ``max_back`` (in the times' unit) before it, where a new session's clock begins."""
    return np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1])
                                | (np.diff(times) < -max_back)])

def clocked_recordings(times: np.ndarray, values: np.ndarray, labels: np.ndarray,
                       lines: np.ndarray, policy: ClockPolicy, *, unit: float, path: Path,
                       field: str, recording_id: str,
                       on_clock: Callable[[ClockReport], None] | None = None,
                       **recording: Any) -> Iterator[Recording]:
    """The recordings :func:`regularize` makes of one stamped recording.

    Args:
        times, values, labels, lines, policy, unit, path, field: As for :func:`regularize`.
        recording_id: Id of the recording; parts are ``<id>-part<k>`` when it is split.
        on_clock: Receives the report (before the first recording is yielded).
        **recording: The other ``Recording`` fields (dataset, subject, channels, …).

    Yields:
        One ``Recording`` per part, at the grid's rate.
    """
    parts, report = regularize(times, values, labels, lines, policy, unit=unit, path=path,
                               field=field, recording_id=recording_id)
    del times, values, labels, lines  # the parts hold what they need; a day's arrays go now
    if on_clock is not None:
        on_clock(report)
    for k, part in enumerate(parts, start=1):
        yield Recording(recording_id=recording_id if report.parts == 1
                        else f"{recording_id}-part{k}", sample_rate_hz=report.rate_hz,
                        values=part.values, labels=part.labels, **recording)


@dataclass(frozen=True)
class Source:
    """One sensor file's stamped samples, for :func:`joined_recordings`.

    Attributes:
        times, values, labels, lines, policy, unit, path, field: As for :func:`regularize`
            (``labels`` all ``UNLABELLED`` in a source without labels).
        labelled: Whether this source carries the recording's labels.
    """

    times: np.ndarray
    values: np.ndarray
    labels: np.ndarray
    lines: np.ndarray
    policy: ClockPolicy
    unit: float
    path: Path
    field: str
    labelled: bool = False


def _seconds(origin: Any, unit: float) -> Fraction:
    """A stamp as exact seconds (an int64 ns clock since 1970 keeps every nanosecond)."""
    value = origin.item() if hasattr(origin, "item") else origin
    return Fraction(value) / Fraction(unit)


def joined_recordings(sources: list[Source], *, recording_id: str,
                      on_clock: Callable[[ClockReport], None] | None = None,
                      **recording: Any) -> Iterator[Recording]:
    """One recording from several sensor files with clocks of their own, on one grid.

    Each source goes through the clock policy on its own (sorting, duplicates, its gaps)
    and is interpolated (``numpy.interp``, per channel) onto a common grid: its origin is
    the latest first stamp of the sources, its rate the first source's grid rate (the
    spec's, or that source's median step's). Only the time every source covers is kept:
    the overlap of their spans, cut where any source has a gap longer than its
    ``max_gap_s`` (``…-part<k>``). Labels come from the labelled source, by the sample
    in force at each grid point. Stamps of different sources are compared exactly
    (each source's earliest stamp as a fraction of a second).

    Args:
        sources: The sources, channels in this order.
        recording_id: Id of the recording; parts are ``<id>-part<k>`` when it is split.
        on_clock: Receives each source's report (``recording_id (file name)``).
        **recording: The other ``Recording`` fields (dataset, subject, channels, …).

    Yields:
        One ``Recording`` per stretch that every source covers.

    Raises:
        InputError: What :func:`regularize` refuses in any source, or sources whose
            spans do not overlap (each file and its span named).
    """
    cleaned = [_clean(s.times, s.values, s.labels, s.lines, s.policy, unit=s.unit, path=s.path,
                      field=s.field, recording_id=f"{recording_id} ({s.path.name})")
               for s in sources]
    if on_clock is not None:
        for c in cleaned:
            on_clock(c.report)
    zero = min(_seconds(c.origin, s.unit) for c, s in zip(cleaned, sources))
    secs = [c.times / s.unit + float(_seconds(c.origin, s.unit) - zero)
            for c, s in zip(cleaned, sources)]
    period = cleaned[0].period / sources[0].unit
    start = max(t[0] for t in secs)
    spans = [(t[0], t[-1]) for t in secs]
    if min(t[-1] for t in secs) < start:
        raise InputError(sources[0].path, "the sensor files of one recording do not overlap in "
                         "time (s from the earliest stamp: " + "; ".join(
                             f"{s.path.name} {a:g}–{b:g}" for s, (a, b) in zip(sources, spans))
                         + "); expected files recorded at the same time", field="sources")
    stretches = [[(t[a], t[b - 1]) for a, b in zip(c.bounds[:-1], c.bounds[1:])]
                 for t, c in zip(secs, cleaned)]
    common = stretches[0]
    for other in stretches[1:]:
        common = [(max(a0, b0), min(a1, b1)) for a0, a1 in common for b0, b1 in other
                  if max(a0, b0) <= min(a1, b1)]
    points = [np.arange(np.ceil((a - start) / period - ON_GRID),
                        np.floor((b - start) / period + ON_GRID) + 1) for a, b in common]
    points = [k for k in points if len(k)]
    labelled = [k for k, s in enumerate(sources) if s.labelled]
    for n, k in enumerate(points, start=1):
        grid = start + k * period
        out = np.empty((len(grid), sum(c.values.shape[1] for c in cleaned)), dtype=np.float32)
        col = 0
        for t, c in zip(secs, cleaned):
            for j in range(c.values.shape[1]):
                out[:, col] = np.interp(grid, t, c.values[:, j])
                col += 1
        if labelled:
            t, c = secs[labelled[0]], cleaned[labelled[0]]
            labels = c.labels[np.searchsorted(t, grid + ON_GRID * period, side="right") - 1]
        else:
            labels = np.full(len(grid), UNLABELLED, dtype=np.int32)
        yield Recording(recording_id=recording_id if len(points) == 1
                        else f"{recording_id}-part{n}", sample_rate_hz=cleaned[0].report.rate_hz,
                        values=out, labels=labels, **recording)
