"""Trend facts of a stored series, recomputed per trend method, and their comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from validation.checks import Failure, Row
from validation.checks._read import Stated, one
from validation.checks._signal import overall, sign_runs

@dataclass(frozen=True)
class Segments:
    """Recomputed segments of one channel.

    Attributes:
        bounds: (first, last) sample index of each segment.
        directions: Direction of each segment.
        rate: Sampling rate.
        overall: Direction from the first to the last sample.
    """

    bounds: tuple[tuple[int, int], ...]
    directions: tuple[str, ...]
    rate: float
    overall: str

    def times(self) -> list[tuple[float, float]]:
        """(start, end) seconds of each segment, unrounded."""
        return [(a / self.rate, b / self.rate) for a, b in self.bounds]

    def total_seconds(self, direction: str) -> tuple[float, float]:
        """Cumulative time of one direction: exact, and summed from 2-decimal boundaries."""
        exact = sum(b - a for (a, b), d in zip(self.times(), self.directions) if d == direction)
        rounded = sum(round(b, 2) - round(a, 2)
                      for (a, b), d in zip(self.times(), self.directions) if d == direction)
        return exact, rounded

    def counts(self) -> dict[str, int]:
        """Number of segments per present direction."""
        out: dict[str, int] = {}
        for d in self.directions:
            out[d] = out.get(d, 0) + 1
        return out


def segments(row: Row, channel: int) -> Segments | Failure:
    """Segments of one channel of the row by the row's trend method, or why they cannot be had.

    Args:
        row: The row.
        channel: Channel index in ``row.series``.

    Returns:
        The segments, or a ``Failure`` naming the unsupported method.
    """
    x = np.asarray(row.series[channel], dtype=np.float64)
    if x.size < 2:
        return Failure("trend.series", f"channel {channel} has {x.size} samples; need ≥ 2")
    if row.trend_method != "sensorllm":
        return Failure("trend.method", f"no independent check for trend method "
                                       f"{row.trend_method!r}")
    runs = sign_runs(x)
    return Segments(tuple((r.first, r.last) for r in runs), tuple(r.direction for r in runs),
                    row.sample_rate_hz, overall(x))


def seconds_agree(stated: Stated, pair: tuple[float, float]) -> bool:
    """A stated cumulative time matches the exact or the boundary-rounded sum."""
    return any(stated.agrees(v) for v in pair)


def compare_times(check: str, stated: list[dict], segs: Segments) -> list[Failure]:
    """Cumulative seconds per direction (items ``t.dir``, ``t.seconds``): each present
    direction stated once, each total correct."""
    out = []
    said = [one(t, "t.dir") for t in stated]
    present = set(segs.directions)
    if sorted(said) != sorted(present):
        out.append(Failure(check, f"text gives times for {sorted(said)}, the series has "
                                  f"{sorted(present)}"))
    for t in stated:
        d, value = one(t, "t.dir"), one(t, "t.seconds")
        if d in present and not seconds_agree(value, segs.total_seconds(d)):
            out.append(Failure(check, f"{d} total {value}s, series gives "
                                      f"{segs.total_seconds(d)[0]:.4f}s"))
    return out


def compare_overview(prefix: str, stated: Mapping[str, list], segs: Segments,
                     where: str = "") -> list[Failure]:
    """Counts of distinct trends and segments, times per trend and the overall trend.

    Args:
        prefix: Check-name prefix (the QA type).
        stated: Read values with ``<p>n_trends``, ``<p>n_changes`` (optional),
            ``<p>times`` (one loop) and ``<p>overall`` (optional) where ``<p>`` is the
            field prefix found in the keys (``""`` or ``"c."``).
        segs: The recomputed segments.
        where: Text naming the channel, for messages.

    Returns:
        Failures (empty when the text agrees).
    """
    p = "c." if any(k.startswith("c.") for k in stated) else ""
    out = []
    n_trends, n_segments = len(set(segs.directions)), len(segs.directions)
    said = one(stated, f"{p}n_trends", n_trends if f"{p}n_changes" in stated else None)
    if said != n_trends:
        out.append(Failure(f"{prefix}.count", f"{where}text says {said} distinct trends, "
                                              f"series has {n_trends}"))
    if f"{p}n_changes" in stated and one(stated, f"{p}n_changes") != n_segments:
        out.append(Failure(f"{prefix}.count", f"{where}text says "
                                              f"{one(stated, f'{p}n_changes')} segments, "
                                              f"series has {n_segments}"))
    loops = stated.get(f"{p}times", [])
    if len(loops) != 1:
        out.append(Failure(f"{prefix}.times", f"{where}expected one list of times, got "
                                              f"{len(loops)}"))
    else:
        out += compare_times(f"{prefix}.times", loops[0], segs)
    expected = segs.overall if n_segments > 1 else None
    said_overall = one(stated, f"{p}overall") if stated.get(f"{p}overall") else None
    if said_overall != expected:
        out.append(Failure(f"{prefix}.overall", f"{where}text says overall {said_overall}, "
                                                f"series gives {expected}"))
    return out
