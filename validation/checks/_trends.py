"""Trend facts of a stored series, recomputed per trend method, and their comparison."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from validation.checks import Failure, Row
from validation.checks._read import Stated
from validation.checks._signal import overall, sign_runs

TIME_DIRECTIONS = ("up", "down", "steady")


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


def compare_times(check: str, stated: list[tuple[str, Stated]], segs: Segments) -> list[Failure]:
    """Cumulative seconds per direction: every present direction stated once, each correct."""
    out = []
    said = [d for d, _ in stated]
    present = set(segs.directions)
    if sorted(said) != sorted(present):
        out.append(Failure(check, f"text gives times for {sorted(said)}, the series has "
                                  f"{sorted(present)}"))
    for d, value in stated:
        if d in present and not seconds_agree(value, segs.total_seconds(d)):
            out.append(Failure(check, f"{d} total {value}s, series gives "
                                      f"{segs.total_seconds(d)[0]:.4f}s"))
    return out
