"""Trend segments of a stored series, recomputed per trend method, and their comparison.

Both methods are re-implemented here from their specification (``generators/trends.py``
docstrings and ``RobustParams``), without calling the generator's code: the seed's sign
runs exactly, and the ``robust`` method vectorized over a batch of series of one length
(each series' segments those it would have alone). The parameters are the row's own (its provenance),
so the checks compare counts, boundaries and directions exactly.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import ndimage
from scipy.signal import savgol_coeffs

from validation.checks import Failure, Row
from validation.checks._read import one
from validation.checks._signal import mad_noise, overall, sign_runs

ROBUST_DEFAULTS = {"cutoff_hz": 4.0, "polyorder": 2, "min_duration_s": 0.2, "split_k": 2.0,
                   "steady_k": 2.0, "steady_rel": 0.1, "steady_z": 0.0, "noise_floor_rel": 0.005}
"""The ``robust`` method's parameters for rows whose provenance omits one: the documented
defaults, but ``steady_z`` 0 (rows written before it existed were judged without it; rows
since record it)."""

_NAMES = {1: "up", -1: "down", 0: "steady"}


@dataclass(frozen=True)
class Segments:
    """Recomputed segments of one channel.

    Attributes:
        bounds: (first, last) sample index of each segment (neighbours share a sample).
        directions: Direction of each segment.
        values: (start, end) value of each segment (raw samples for the seed method,
            the denoised level for ``robust``).
        rate: Sampling rate.
        overall: Direction of the summed change of the rising and falling segments
            (robust: steady when below ``steady_rel`` of the segments' value range).
    """

    bounds: tuple[tuple[int, int], ...]
    directions: tuple[str, ...]
    values: tuple[tuple[float, float], ...]
    rate: float
    overall: str

    def times(self) -> list[tuple[float, float]]:
        """(start, end) seconds of each segment, unrounded."""
        return [(a / self.rate, b / self.rate) for a, b in self.bounds]

    def total_seconds(self, direction: str) -> float:
        """Cumulative time of one direction summed from the 2-decimal boundaries the text
        shows (so stated totals add up to the stated segments)."""
        return sum(round(b, 2) - round(a, 2)
                   for (a, b), d in zip(self.times(), self.directions) if d == direction)

    def counts(self) -> dict[str, int]:
        """Number of segments per present direction."""
        out: dict[str, int] = {}
        for d in self.directions:
            out[d] = out.get(d, 0) + 1
        return out

    def slopes(self) -> list[float]:
        """Change per second of each segment (end − start value over its duration)."""
        return [(v1 - v0) / max(b - a, 1) * self.rate
                for (a, b), (v0, v1) in zip(self.bounds, self.values)]


def segments(row: Row, channel: int) -> Segments | Failure:
    """Segments of one channel by the row's trend method and parameters.

    Read from ``row.trends`` when :func:`semantic.check_table` computed them with the
    table's other series (:func:`segments_of`); computed on their own otherwise.

    Args:
        row: The row.
        channel: Channel index in ``row.series``.

    Returns:
        The segments, or a ``Failure`` naming a short series or an unknown method.
    """
    if row.trends is not None and channel in row.trends:
        return row.trends[channel]
    return segments_of([(row, channel)])[0]


def segments_of(wanted: Sequence[tuple[Row, int]]) -> list[Segments | Failure]:
    """:func:`segments` of many (row, channel) pairs: each method (``METHODS``) gets all
    its pairs at once (the ``robust`` method runs once over each group of series of one
    length, rate and parameter set, identical series once).

    Returns:
        One result per pair, in order.
    """
    out: list[Segments | Failure | None] = [None] * len(wanted)
    by_method: dict[str, list[int]] = {}
    for i, (row, channel) in enumerate(wanted):
        n = np.shape(row.series[channel])[0]
        if n < 2:
            out[i] = Failure("trend.series", f"channel {channel} has {n} samples; need ≥ 2")
        elif row.trend_method not in METHODS:
            out[i] = Failure("trend.method", f"no independent check for trend method "
                                             f"{row.trend_method!r}")
        else:
            by_method.setdefault(row.trend_method, []).append(i)
    for method, idx in by_method.items():
        for i, found in zip(idx, METHODS[method]([wanted[i] for i in idx])):
            out[i] = found
    return out


def _sensorllm(wanted: Sequence[tuple[Row, int]]) -> list[Segments | Failure]:
    """The seed's segments: runs of equal sign of the sample-to-sample differences."""
    out: list[Segments | Failure] = []
    for row, channel in wanted:
        x = np.asarray(row.series[channel], dtype=np.float64)
        runs = sign_runs(x)
        bounds = tuple((r.first, r.last) for r in runs)
        values = tuple((float(x[a]), float(x[b])) for a, b in bounds)
        directions = tuple(r.direction for r in runs)
        out.append(Segments(bounds, directions, values, row.sample_rate_hz,
                            overall(directions, values)))
    return out


def _robust(wanted: Sequence[tuple[Row, int]]) -> list[Segments | Failure]:
    """The ``robust`` segments (:func:`robust_segments`), run once per group of series of
    one length, rate and parameter set (identical series once)."""
    out: list[Segments | Failure | None] = [None] * len(wanted)
    groups: dict[tuple, dict[bytes, list[int]]] = {}
    for i, (row, channel) in enumerate(wanted):
        if unknown := sorted(set(row.trend_params) - set(ROBUST_DEFAULTS)):
            out[i] = Failure("trend.method", f"unknown robust parameter(s) {unknown}")
            continue
        x = np.asarray(row.series[channel], dtype=np.float64)
        params = tuple(sorted({**ROBUST_DEFAULTS, **row.trend_params}.items()))
        key = (x.size, row.sample_rate_hz, params)
        groups.setdefault(key, {}).setdefault(x.tobytes(), []).append(i)
    for (n, rate, params), by_series in groups.items():
        series = np.frombuffer(b"".join(by_series), dtype=np.float64).reshape(-1, n)
        steady_rel = dict(params)["steady_rel"]
        for found, users in zip(robust_segments(series, rate, **dict(params)),
                                by_series.values()):
            bounds, signs, values = found
            directions = tuple(_NAMES[s] for s in signs)
            # The robust method judges the net change like a segment: steady below
            # steady_rel of the range the fitted values span (the seed's method states
            # the bare sign).
            segs = Segments(bounds, directions, values, rate,
                            overall(directions, values, steady_rel))
            for i in users:
                out[i] = segs
    return out


METHODS: Mapping[str, Callable[[Sequence[tuple[Row, int]]], list[Segments | Failure]]] = {
    "robust": _robust, "sensorllm": _sensorllm}
"""Trend method name → its independent re-implementation over many (row, channel) pairs
(``tests/test_trends_batched.py`` checks that every generator method has one)."""


# ---------------------------------------------------------------- the robust method

@functools.lru_cache(maxsize=64)
def smoothing_length(rate: float, cutoff_hz: float, polyorder: int) -> int:
    """Shortest odd Savitzky–Golay window whose gain at ``cutoff_hz`` is ≤ 1/√2 (1 = none).

    The gain is the magnitude of the filter's frequency response, evaluated directly.
    """
    if cutoff_hz >= 0.45 * rate:
        return 1
    length = polyorder + 2 if polyorder % 2 else polyorder + 3  # shortest odd > polyorder + 1
    phase = np.exp(-2j * np.pi * cutoff_hz / rate * np.arange(length))
    while abs(phase @ savgol_coeffs(length, polyorder)) > 2 ** -0.5:
        length += 2
        phase = np.exp(-2j * np.pi * cutoff_hz / rate * np.arange(length))
    return length


@functools.lru_cache(maxsize=64)
def _projection(length: int, polyorder: int) -> np.ndarray:
    """Least-squares polynomial fit over ``length`` samples as a matrix (fitted values =
    matrix @ samples): its middle row is the Savitzky–Golay filter, its first and last
    rows the fits at the window's edges."""
    t = np.arange(length, dtype=np.float64)
    basis = np.vander(t - t.mean(), polyorder + 1)
    return basis @ np.linalg.pinv(basis)


@functools.lru_cache(maxsize=256)
def _smoother(n: int, length: int, polyorder: int) -> np.ndarray:
    """``_savgol`` of an ``n``-sample series as a matrix (smoothed = matrix @ samples),
    column by column from unit impulses (the filter is linear)."""
    return np.stack([_savgol(e, length, polyorder) for e in np.eye(n)], axis=1)


def _savgol(x: np.ndarray, length: int, polyorder: int) -> np.ndarray:
    """Savitzky–Golay smoothing along the last axis, the ends from the polynomial fitted to
    the first and last window (scipy's ``mode="interp"``).

    Computed from the projection matrix, sample by sample in float64, rather than with
    ``scipy.signal.savgol_filter``, whose results differ in the last bit: on quantised
    series equal smoothed values then stop being equal, and a tie (the top of a plateau,
    two equally good boundaries) is broken the other way than the generator broke it.
    """
    hat = _projection(length, polyorder)
    half = length // 2
    y = ndimage.correlate1d(x, hat[half], axis=-1, mode="nearest")
    y[..., :half] = (x[..., None, :length] * hat[:half]).sum(axis=-1)
    y[..., -half:] = (x[..., None, -length:] * hat[length - half:]).sum(axis=-1)
    return y


class _Lines:
    """Squared error of the least-squares line over any inclusive sample range of each
    series of a batch (rows of a 2-D array).

    Prefix sums of x, t·x and x² give each fit in constant time. (The same algebra as the
    generator's: near a tie between two costs, any other rounding could pick the other.)
    """

    def __init__(self, x: np.ndarray) -> None:
        n = x.shape[-1]
        t = np.arange(n, dtype=np.float64)
        # One array of the three prefix sums, so a fit costs one gather per end, not three.
        self.sums = np.zeros((3, x.shape[0], n + 1))
        np.cumsum(np.stack([x, x * t, x * x]), axis=-1, out=self.sums[:, :, 1:])
        m = np.arange(n + 1, dtype=np.float64)  # by number of samples
        # The variance term m(m² − 1)/12 of the sample times; ∞ below two samples, where a
        # line explains nothing (cov² / ∞ = 0).
        self.time_var = np.where(m > 1, m * (m * m - 1) / 12.0, np.inf)

    def sse(self, s, a, b):
        """Residual sum of squares of the best line over samples ``a..b`` of series ``s``
        (integer arrays of broadcastable shapes)."""
        sx, sxt, sxx = self.sums[:, s, b + 1] - self.sums[:, s, a]
        m = b - a + 1
        cov = sxt - (a + b) * 0.5 * sx
        return np.maximum(sxx - sx * sx / m - cov * cov / self.time_var[m], 0.0)


_TRUE = np.ones(1, dtype=bool)


def _join_bottom_up(lines: _Lines, n: int, min_len: int, tol: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces of ``max(2, min_len // 2)`` steps, joined pairwise while cheap or short, in
    every series of the batch at once (``tol``: one tolerance per series).

    A pair of neighbours is wanted when either piece is shorter than ``min_len`` steps or
    joining raises the squared error by less than its series' ``tol``. Within a series,
    pairs are ranked short first, then by that cost (ties: the left pair); each round
    joins every wanted pair ranked before both of its neighbouring pairs, until none is
    wanted.

    Returns:
        Series, first and last sample of each segment (series by series, in time order).
    """
    step = max(2, min_len // 2)
    count = -(-max(n - step, 1) // step)  # the last piece takes the remaining steps
    first = np.arange(count) * step
    last = np.minimum(first + step, n - 1)
    last[-1] = n - 1
    series = np.repeat(np.arange(tol.size), count)
    first, last = np.tile(first, tol.size), np.tile(last, tol.size)
    err = lines.sse(series, first, last)
    while first.size > 1:
        inside = series[:-1] == series[1:]  # pair p (pieces p, p + 1) is within a series
        joined = lines.sse(series[:-1], first[:-1], last[1:])
        cost = joined - err[:-1] - err[1:]
        short = (last - first) < min_len
        short = short[:-1] | short[1:]
        wanted = inside & (short | (cost < tol[series[:-1]]))
        if not wanted.any():
            break
        # p_first[p]: pair p ranks before pair p + 1 (or pair p + 1 is another series')
        p_first = np.where(short[:-1] != short[1:], short[:-1], cost[:-1] <= cost[1:])
        p_first |= ~inside[1:]
        after = ~p_first | ~inside[:-1]  # pair p + 1 ranks before pair p, or p is not
        join = wanted & np.concatenate((_TRUE, after)) & np.concatenate((p_first, _TRUE))
        p = np.flatnonzero(join)
        last[p], err[p] = last[p + 1], joined[p]
        keep = np.ones(first.size, dtype=bool)
        keep[p + 1] = False
        series, first, last, err = series[keep], first[keep], last[keep], err[keep]
    return series, first, last


def _move_boundaries(lines: _Lines, series: np.ndarray, first: np.ndarray, last: np.ndarray,
                     min_len: int) -> None:
    """Two sweeps over each series' even- then odd-numbered inner boundaries: each moves
    (in place) to the split of its two segments with the least squared error, within the
    first pieces' spacing of where it was, keeping both segments ``min_len`` steps long
    (first best)."""
    reach = max(2, min_len // 2)
    offsets = np.arange(-reach, reach + 1)
    inner = np.flatnonzero(series[:-1] == series[1:])  # boundary after segment j
    starts = np.flatnonzero(np.concatenate((_TRUE, series[1:] != series[:-1])))
    rank = inner - starts[series[inner]]  # the boundary's number within its series
    for _ in range(2):
        for parity in (0, 1):
            i = inner[rank % 2 == parity]
            if not i.size:
                continue
            s, a, k, b = series[i, None], first[i, None], last[i, None], last[i + 1, None]
            ks = k + offsets  # candidates × boundaries, some out of range
            ok = (ks >= a + min_len) & (ks <= b - min_len)
            ks_safe = np.where(ok, ks, k)
            cost = np.where(ok, lines.sse(s, a, ks_safe) + lines.sse(s, ks_safe, b), np.inf)
            best = ks[np.arange(i.size), np.argmin(cost, axis=1)]
            last[i] = first[i + 1] = best


def robust_segments(values: np.ndarray, rate: float, *, cutoff_hz: float, polyorder: int,
                    min_duration_s: float, split_k: float, steady_k: float, steady_rel: float,
                    steady_z: float, noise_floor_rel: float) -> list[tuple]:
    """The ``robust`` trend segments of each series of a batch, from the method's
    specification (each series' segments are those it would have alone).

    Denoise (Savitzky–Golay, window set by ``cutoff_hz``); noise = robust std of what
    that removed (rescaled by √(1 − centre weight)), at least ``noise_floor_rel`` × the
    raw range; bottom-up line fit with join tolerance ``split_k`` × noise² × ln(n) and
    segments of at least ``min_duration_s``; boundary refinement; a segment is steady
    when its change in the denoised level is below ``max(steady_k × noise, steady_rel ×
    denoised range, steady_z × noise × std of that change under unit white noise)``;
    equal neighbours merged (merged steady runs re-judged, until stable); a steady piece
    of at most two minimum lengths between a rise and a fall becomes one turning point
    at its extreme.

    Args:
        values: Series × samples float64 array, at least two samples.
        rate: Sampling rate.
        cutoff_hz, polyorder, min_duration_s, split_k, steady_k, steady_rel, steady_z,
            noise_floor_rel: The method's parameters (``RobustParams``).

    Returns:
        Per series ``(bounds, signs, values)``: per segment (first, last) sample,
        +1/−1/0 and the denoised (start, end) values.
    """
    raw = np.asarray(values, dtype=np.float64)
    n = raw.shape[1]
    mean = raw.mean(axis=1, keepdims=True)
    centred = raw - mean
    length = min(smoothing_length(float(rate), float(cutoff_hz), int(polyorder)),
                 n if n % 2 else n - 1)
    if length > polyorder + 1:
        smooth = _savgol(centred, length, polyorder)
        weights = _smoother(n, length, polyorder)
        centre = _projection(length, polyorder)[length // 2, length // 2]
        noises = (1.4826 * np.median(np.abs(centred - smooth), axis=1)).tolist()
        noises = [v / math.sqrt(1.0 - centre) for v in noises]
        noises = [v if v > 0 else mad_noise(c) for v, c in zip(noises, centred)]
    else:
        smooth, weights = centred.copy(), np.eye(n)
        noises = [mad_noise(c) for c in centred]
    noises = [max(v, noise_floor_rel * r) for v, r in zip(noises, np.ptp(raw, axis=1).tolist())]
    min_len = max(1, int(round(min_duration_s * rate)))
    lines = _Lines(smooth)
    tol = np.array([split_k * v ** 2 * math.log(n) for v in noises])
    series, first, last = _join_bottom_up(lines, n, min_len, tol)
    _move_boundaries(lines, series, first, last, min_len)
    cut = np.flatnonzero(series[1:] != series[:-1]) + 1
    return [_judge(level, noise, steady_rel * r, f.tolist(), l.tolist(), weights, min_len,
                   steady_k, steady_z)
            for level, noise, r, f, l in zip(smooth + mean, noises,
                                              np.ptp(smooth, axis=1).tolist(),
                                              np.split(first, cut), np.split(last, cut))]


def _judge(level: np.ndarray, noise: float, steady_range: float, first: list[int],
           last: list[int], weights: np.ndarray, min_len: int, steady_k: float,
           steady_z: float) -> tuple:
    """One series' fitted segments judged, merged and turned (:func:`robust_segments`):
    ``steady_range`` is ``steady_rel`` × the denoised range."""
    at = level.tolist()  # Python floats: the per-segment judgements below index it often
    threshold = max(steady_k * noise, steady_range)

    def judged(a: int, b: int) -> int:
        change = at[b] - at[a]
        if abs(change) < threshold:  # steady whatever the standard error below
            return 0
        # the change is (weights[b] − weights[a]) · raw: its std under noise of std 1
        need = steady_z * noise * float(np.linalg.norm(weights[b] - weights[a]))
        return (change > 0) - (change < 0) if abs(change) >= need else 0

    runs = [(a, b, judged(a, b)) for a, b in zip(first, last)]
    while True:  # merge equal neighbours; a merged steady run may now rise or fall
        merged: list[tuple[int, int, int]] = []
        for a, b, s in runs:
            if merged and merged[-1][2] == s:
                merged[-1] = (merged[-1][0], b, s)
            else:
                merged.append((a, b, s))
        runs = [(a, b, judged(a, b) if s == 0 else s) for a, b, s in merged]
        if runs == merged:
            break
    bounds = [[a, b] for a, b, _ in runs]
    signs = [s for *_, s in runs]
    drop = [i for i in range(1, len(runs) - 1)
            if signs[i] == 0 and signs[i - 1] * signs[i + 1] == -1
            and bounds[i][1] - bounds[i][0] <= 2 * min_len]
    for i in drop:  # the top after a rise, the bottom after a fall (first on ties)
        a, b = bounds[i]
        turn = a + int(np.argmax(level[a:b + 1] * signs[i - 1]))
        bounds[i - 1][1] = bounds[i + 1][0] = turn
    keep = sorted(set(range(len(runs))) - set(drop))
    return (tuple((bounds[i][0], bounds[i][1]) for i in keep), tuple(signs[i] for i in keep),
            tuple((at[bounds[i][0]], at[bounds[i][1]]) for i in keep))


# ---------------------------------------------------------------- comparisons

def compare_times(check: str, stated: list[dict], segs: Segments) -> list[Failure]:
    """Cumulative seconds per direction (items ``t.dir``, ``t.seconds``): each present
    direction stated once, each total within the text's rounding of the true one."""
    out = []
    said = [one(t, "t.dir") for t in stated]
    present = set(segs.directions)
    if sorted(said) != sorted(present):
        out.append(Failure(check, f"text gives times for {sorted(said)}, the series has "
                                  f"{sorted(present)}"))
    for t in stated:
        d, value = one(t, "t.dir"), one(t, "t.seconds")
        if d in present and not value.agrees(segs.total_seconds(d)):
            out.append(Failure(check, f"{d} total {value}s, series gives "
                                      f"{segs.total_seconds(d):.4f}s"))
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
