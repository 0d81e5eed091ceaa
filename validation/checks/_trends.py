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


def segments(row: Row, channel: int) -> Segments | Failure | None:
    """Segments of one channel by the row's trend method, or why they cannot be had.

    The seed method is recomputed exactly; for ``robust`` (``None``) the stated segments
    are checked against the series instead (``check_fitted``), as its smoothing and
    merging are not re-implemented here.

    Args:
        row: The row.
        channel: Channel index in ``row.series``.

    Returns:
        The segments, ``None`` for ``robust``, or a ``Failure`` naming an unknown method.
    """
    x = np.asarray(row.series[channel], dtype=np.float64)
    if x.size < 2:
        return Failure("trend.series", f"channel {channel} has {x.size} samples; need ≥ 2")
    if row.trend_method == "robust":
        return None
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


def compare_overview(prefix: str, stated: Mapping[str, list], segs: "Segments | Fitted",
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
    if isinstance(segs, Fitted):
        return _overview_fitted(prefix, p, stated, segs, where)
    out = []
    n_trends, n_segments = len(set(segs.directions)), len(segs.directions)
    said = one(stated, f"{p}n_trends", n_trends)  # "a single trend" phrasings state no number
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


@dataclass(frozen=True)
class Fitted:
    """What the checks know of a channel whose segments they do not recompute (``robust``).

    Attributes:
        x: The channel's series (float64).
        rate: Sampling rate.
        noise: Robust noise level (MAD of first differences / (0.6745·√2)).
        overall: Direction from the first to the last sample.
        half: Half-width (samples) of the local mean that stands for the smoothed level,
            a quarter period of the method's cutoff (``trend_params.cutoff_hz``).
    """

    x: np.ndarray
    rate: float
    noise: float
    overall: str
    half: int

    @classmethod
    def of(cls, row: Row, channel: int) -> "Fitted":
        """The channel ``channel`` of ``row``."""
        x = np.asarray(row.series[channel], dtype=np.float64)
        d = np.diff(x)
        noise = float(np.median(np.abs(d - np.median(d)))) / (0.6745 * np.sqrt(2))
        cutoff = float(row.trend_params.get("cutoff_hz", 4.0))
        half = min(max(1, int(round(row.sample_rate_hz / (4 * cutoff)))), (x.size - 1) // 4)
        return cls(x, row.sample_rate_hz, noise, overall(x), half)

    @property
    def end_s(self) -> float:
        """Time of the last sample."""
        return (self.x.size - 1) / self.rate

    def index(self, t: Stated) -> int | None:
        """Sample index of a stated time, ``None`` when it is not on a sample boundary."""
        k = int(round(t.value * self.rate))
        return k if 0 <= k < self.x.size and t.agrees(k / self.rate) else None

    def grid_exact(self) -> bool:
        """Whether every sample time is exact at two decimals (50 Hz, 100 Hz…)."""
        return abs(self.rate * 100 / round(self.rate * 100) - 1) < 1e-9 and \
            (100 / self.rate).is_integer()

    def level(self, k: int) -> float:
        """Local level at sample ``k``: the mean of the samples within ``half`` of it."""
        lo, hi = max(0, k - self.half), min(self.x.size, k + self.half + 1)
        return float(self.x[lo:hi].mean())

    def change(self, a: int, b: int) -> float:
        """Change of the local level from sample ``a`` to sample ``b``."""
        return self.level(b) - self.level(a)

    def largest_move(self) -> tuple[float, float]:
        """Largest rise and largest fall of the local level between any two samples."""
        kernel = np.ones(2 * self.half + 1) / (2 * self.half + 1)
        level = np.convolve(np.pad(self.x, self.half, mode="edge"), kernel, mode="valid")
        rise = float(np.max(level - np.minimum.accumulate(level)))
        fall = float(np.max(np.maximum.accumulate(level) - level))
        return rise, fall

    def absent_ok(self, direction: str) -> bool:
        """Whether the series can lack any ``direction`` segment: no large move that way."""
        rise, fall = self.largest_move()
        limit = 0.5 * float(np.ptp(self.x)) + 4 * self.noise
        return (rise if direction == "up" else fall) <= limit

    def direction_ok(self, direction: str, a: int, b: int) -> bool:
        """A stated direction agrees with the fitted change over ``a..b`` within noise."""
        change = self.change(a, b)
        tol = 2 * self.noise * np.sqrt(2) + 0.02 * float(np.ptp(self.x)) + 1e-12
        if direction == "up":
            return change > -tol
        if direction == "down":
            return change < tol
        return abs(change) <= 8 * tol + 0.25 * float(np.ptp(self.x))


def fitted(row: Row, channel: int) -> "Segments | Fitted | Failure":
    """Recomputed segments (seed method) or the ``Fitted`` view (``robust``)."""
    segs = segments(row, channel)
    return Fitted.of(row, channel) if segs is None else segs


def check_fitted(prefix: str, said: list[tuple], f: Fitted) -> list[Failure]:
    """Stated robust segments ``[(t0, t1, dir)]`` against the series.

    They must tile the window on sample boundaries, neighbours must differ in direction
    (runs are merged), and each direction must agree with the sign of the change of the
    local level over its span (within the noise).
    """
    out = []
    idx = [(f.index(t0), f.index(t1), d) for t0, t1, d in said]
    if not said or idx[0][0] != 0 or idx[-1][1] != f.x.size - 1:
        return [Failure(f"{prefix}.times", f"segments do not span 0–{f.end_s:.2f}s")]
    for k, ((a, b, d), (t0, t1, _)) in enumerate(zip(idx, said)):
        if a is None or b is None or b <= a:
            return [Failure(f"{prefix}.times", f"segment {k + 1} ({t0}–{t1}s) is not on "
                                               f"sample boundaries")]
        if k and idx[k - 1][1] != a:
            return [Failure(f"{prefix}.times", f"segment {k + 1} starts at {t0}s, the previous "
                                               f"one ends at {said[k - 1][1]}s")]
        if k and idx[k - 1][2] == d:
            out.append(Failure(f"{prefix}.direction", f"segments {k} and {k + 1} are both {d}"))
        if not f.direction_ok(d, a, b):
            out.append(Failure(f"{prefix}.direction", f"segment {k + 1} ({t0}–{t1}s) said {d}, "
                                                      f"fitted change {f.change(a, b):+.4f}"))
    return out


def _overview_fitted(prefix: str, p: str, stated: Mapping[str, list], f: Fitted,
                     where: str) -> list[Failure]:
    """Overview facts checkable without the segmentation: counts agree with the listed
    times, times are whole samples and add up to the window, overall is first→last."""
    out = []
    loops = stated.get(f"{p}times", [])
    if len(loops) != 1:
        return [Failure(f"{prefix}.times", f"{where}expected one list of times, got {len(loops)}")]
    items = [(one(t, "t.dir"), one(t, "t.seconds")) for t in loops[0]]
    n_trends = len(items)
    n_changes = one(stated, f"{p}n_changes") if f"{p}n_changes" in stated else None
    said_trends = one(stated, f"{p}n_trends", n_trends)
    if said_trends != n_trends or len({d for d, _ in items}) != n_trends:
        out.append(Failure(f"{prefix}.count", f"{where}text says {said_trends} distinct trends "
                                              f"but lists times for {[d for d, _ in items]}"))
    if n_changes is not None and (n_changes < n_trends or (n_trends == 1) != (n_changes == 1)):
        out.append(Failure(f"{prefix}.count", f"{where}{n_changes} segments cannot hold "
                                              f"{n_trends} distinct trends"))
    step = 1 / f.rate
    slack = 1e-6 if f.grid_exact() else 0.005 * (n_trends + 1)
    for d, t in items:
        k = round(t.value / step)
        if abs(k * step - t.value) > slack + 0.5 * 10.0 ** -t.decimals * (not f.grid_exact()):
            out.append(Failure(f"{prefix}.times", f"{where}{d} total {t}s is not a whole "
                                                  f"number of samples"))
    total = sum(t.value for _, t in items)
    if abs(total - f.end_s) > slack + 1e-6:
        out.append(Failure(f"{prefix}.times", f"{where}times add up to {total:.2f}s, the window "
                                              f"lasts {f.end_s:.2f}s"))
    said_dirs = {d for d, _ in items}
    if n_trends == 1 and not f.direction_ok(items[0][0], 0, f.x.size - 1):
        out.append(Failure(f"{prefix}.direction", f"{where}one {items[0][0]} trend, the level "
                                                  f"changes by {f.change(0, f.x.size - 1):+.4f}"))
    for d in ("up", "down"):
        if d not in said_dirs and not f.absent_ok(d):
            out.append(Failure(f"{prefix}.direction", f"{where}no {d} trend stated, the series "
                                                      f"has a large {d} move"))
    expected = f.overall if n_trends > 1 else None  # merged runs: one trend = one segment
    said_overall = one(stated, f"{p}overall") if stated.get(f"{p}overall") else None
    if said_overall != expected:
        out.append(Failure(f"{prefix}.overall", f"{where}text says overall {said_overall}, "
                                                f"series gives {expected}"))
    return out
