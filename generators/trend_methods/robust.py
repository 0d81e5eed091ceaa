"""The ``robust`` trend method: denoise, piecewise-linear fit, steadiness judged against noise.

Steps, vectorized over a whole batch of series of any lengths (``segment``): denoise with
a zero-phase low-pass (``denoise``); estimate each series' noise from what that removed
(``_residual_noise``); fit least-squares lines bottom-up, joining neighbours while that
costs less than ``split_k`` × noise² × ln(samples) of squared error (segments no shorter
than ``min_duration_s``), then move each boundary to its best place near where it is
(``_refine``); call a segment steady when its change is below ``max(steady_k × noise,
steady_rel × range, steady_z × noise × change_scale)``; merge neighbours of equal
direction; turn a short steady piece between a rise and a fall into one turning point
(``_sharpen_turns``). docs/trends.md describes the method and its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
from scipy import ndimage, signal

from generators.trend_methods import DIRECTION_OF_SIGN, estimate_noise
from generators.types import TrendSegment


@dataclass(frozen=True)
class RobustParams:
    """Parameters of the ``robust`` trend method (recorded in every row's provenance).

    Attributes:
        cutoff_hz: −3 dB cutoff of the Savitzky–Golay denoiser, in Hz, so it means the
            same at any sample rate (see ``denoise``); human movement lives mostly below
            it. No smoothing when it is at or above 0.45 × the sample rate.
        polyorder: Polynomial order of the denoiser.
        min_duration_s: Shortest segment; shorter windows give one segment.
        split_k: Two neighbouring lines are joined into one while that raises the
            squared error of the fit to the denoised signal by less than ``split_k`` ×
            noise² × ln(samples) (a BIC-like penalty: noise alone rarely pays it, a real
            corner does).
        steady_k: A segment whose change (slope × duration) is below ``steady_k`` × the
            estimated noise is steady…
        steady_rel: …or below this fraction of the window's denoised range…
        steady_z: …or below ``steady_z`` standard errors of the change itself: the
            noise × ``change_scale`` (the std of the denoised change between the two
            samples under white noise), which is larger at a window's edges and in
            windows too short to smooth much.
        noise_floor_rel: The noise estimate is at least this fraction of the window's
            range, so clean or quantised signals are not cut at every rounding error.
    """

    cutoff_hz: float = 4.0
    polyorder: int = 2
    min_duration_s: float = 0.2
    split_k: float = 2.0
    steady_k: float = 2.0
    steady_rel: float = 0.1
    steady_z: float = 3.0
    noise_floor_rel: float = 0.005


PARAMS = RobustParams


@dataclass(frozen=True, eq=False)
class SegmentTable:
    """Segments of a batch of series, as flat arrays in (row, time) order.

    Attributes:
        row: Row of the batch each segment belongs to.
        start: First sample index (shared with the previous segment's ``end``).
        end: Last sample index.
        start_value: Fitted value at ``start``.
        end_value: Fitted value at ``end``.
        sign: +1 up, −1 down, 0 steady.
    """

    row: np.ndarray
    start: np.ndarray
    end: np.ndarray
    start_value: np.ndarray
    end_value: np.ndarray
    sign: np.ndarray

    def to_segments(self, n_rows: int, sample_rate_hz: float) -> list[list[TrendSegment]]:
        """Convert to one list of ``TrendSegment`` per row."""
        t0 = (self.start / sample_rate_hz).tolist()
        t1 = (self.end / sample_rate_hz).tolist()
        v0, v1 = self.start_value.tolist(), self.end_value.tolist()
        slope = ((self.end_value - self.start_value)
                 / np.maximum(self.end - self.start, 1) * sample_rate_hz).tolist()
        names = [DIRECTION_OF_SIGN[s] for s in self.sign.tolist()]
        segs = list(map(TrendSegment, t0, t1, v0, v1, names, slope))
        bounds = np.searchsorted(self.row, np.arange(n_rows + 1)).tolist()
        return [segs[bounds[r]:bounds[r + 1]] for r in range(n_rows)]


@lru_cache(maxsize=64)
def smoothing_window(sample_rate_hz: float, cutoff_hz: float, polyorder: int) -> int:
    """Shortest odd Savitzky–Golay window whose gain at ``cutoff_hz`` is at most −3 dB.

    Args:
        sample_rate_hz: Sampling rate.
        cutoff_hz: Wanted cutoff in Hz.
        polyorder: Polynomial order of the filter.

    Returns:
        The window length in samples (1, i.e. no smoothing, when the cutoff is at or
        above 0.45 × the sample rate).
    """
    if cutoff_hz >= 0.45 * sample_rate_hz:
        return 1
    # The -3 dB point of a Savitzky-Golay filter falls as the window grows (Schafer 2011).
    length = polyorder + 2 + (polyorder + 1) % 2
    while abs(signal.freqz(signal.savgol_coeffs(length, polyorder), worN=[cutoff_hz],
                           fs=sample_rate_hz)[1][0]) > 2 ** -0.5:
        length += 2
    return length


def denoise(values: np.ndarray, sample_rate_hz: float,
            cutoff_hz: float = RobustParams.cutoff_hz,
            polyorder: int = RobustParams.polyorder,
            lengths: np.ndarray | None = None) -> np.ndarray:
    """Savitzky–Golay smoothing along the last axis, its window set by a cutoff in Hz.

    The filter is zero-phase (corners are not shifted) and leaves straight lines exactly
    as they are, edges included (polynomial fit at the ends), so piecewise-linear
    signals lose only noise and a little sharpness at their corners.

    Args:
        values: 1-D series or 2-D batch (rows × samples).
        sample_rate_hz: Sampling rate.
        cutoff_hz: Cutoff in Hz (−3 dB), so it means the same at any sample rate.
        polyorder: Polynomial order.
        lengths: For a batch of series of different lengths laid in one padded array,
            the samples of each row (its first ``lengths[i]``); padding is left as it is.

    Returns:
        The smoothed float64 array, same shape. Series shorter than the window use the
        longest odd window that fits; those too short for it are returned unchanged. A
        row's result does not depend on the batch or padding it came in.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        return denoise(x[None, :], sample_rate_hz, cutoff_hz, polyorder, lengths)[0]
    if x.ndim != 2:
        raise ValueError(f"need a 1-D series or a 2-D batch, got shape {x.shape}")
    n = np.full(x.shape[0], x.shape[1]) if lengths is None else np.asarray(lengths)
    widest = smoothing_window(float(sample_rate_hz), float(cutoff_hz), int(polyorder))
    window = np.minimum(widest, n - (n + 1) % 2)
    y = x.copy()
    for length in np.unique(window[window > polyorder + 1]).tolist():
        idx = np.flatnonzero(window == length)
        y[idx] = _savgol_rows(x[idx], n[idx], length, polyorder)
    return y


def _savgol_rows(x: np.ndarray, n: np.ndarray, length: int, polyorder: int) -> np.ndarray:
    """Savitzky–Golay filter of ``length`` samples over the first ``n[i]`` samples of each
    row (all at least ``length``); the rest of each row is copied."""
    hat = _savgol_hat(length, polyorder)
    half = length // 2
    # Inside a row each output reads only its own row's samples within half a window,
    # so filtering the padded rows together changes nothing there.
    y = ndimage.correlate1d(x, hat[half], axis=-1, mode="nearest")
    # Edges: the polynomial fitted to the first/last window (scipy's mode="interp").
    # Multiply-and-sum, not matmul: BLAS may round differently for different batch
    # sizes, and a row's result must not depend on the batch it came in.
    y[:, :half] = (x[:, None, :length] * hat[:half]).sum(axis=-1)
    rows = np.arange(x.shape[0])[:, None]
    last = n[:, None] - length + np.arange(length)  # each row's last window
    tail = (x[rows, last][:, None, :] * hat[length - half:]).sum(axis=-1)
    y[rows, last[:, length - half:]] = tail
    pad = np.arange(x.shape[1]) >= n[:, None]
    y[pad] = x[pad]
    return y


@lru_cache(maxsize=64)
def _savgol_hat(length: int, polyorder: int) -> np.ndarray:
    """Least-squares polynomial fit over ``length`` samples as a matrix (its middle row is
    the Savitzky–Golay filter, its first/last rows the fits at the edges)."""
    t = np.arange(length, dtype=np.float64)
    vander = np.vander(t - t.mean(), polyorder + 1)
    return vander @ np.linalg.pinv(vander)


def _ragged(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat ``arange(start, start + length)`` for every pair, and each item's group."""
    group = np.repeat(np.arange(lengths.size), lengths)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(group.size) - offsets[group] + starts[group], group


class _LineFits:
    """Least-squares lines over inclusive sample ranges ``[a, b]`` of a batch's rows.

    Prefix sums of x, t·x and x² (t = sample index) make every fit O(1); the sums of t
    and t² have closed forms. Each row keeps only its own ``length + 1`` prefixes (not
    the zero padding up to the longest row), so the random lookups of a fit stay in
    small, dense tables; one flat table per sum, since gathering from a 1-D array is
    many times faster than gathering rows of a 2-D one.
    """

    def __init__(self, x: np.ndarray, lengths: np.ndarray) -> None:
        rows, n = x.shape
        t = np.arange(n, dtype=np.float64)
        sums = np.zeros((3, rows, n + 1))  # each sum contiguous while it accumulates
        for k, v in enumerate((x, x * t, x * x)):
            np.cumsum(v, axis=1, out=sums[k, :, 1:])
        own = np.arange(n + 1) <= lengths[:, None]
        self.prefix = tuple(s[own] for s in sums)  # row by row, in order
        self.base = np.cumsum(lengths + 1) - (lengths + 1)  # where each row's prefixes start

    def _sums(self, r: np.ndarray, a: np.ndarray, b: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        lo = self.base[r] + a
        hi = lo + (b - a + 1)
        m = (b - a + 1).astype(np.float64)
        sx, stx, sxx = (p[hi] - p[lo] for p in self.prefix)
        cov = stx - (a + b) * 0.5 * sx  # Σ(t − t̄)·x
        vt = m * (m * m - 1) / 12.0  # Σ(t − t̄)²
        return m, sx, cov, vt, sxx

    def sse(self, r: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Squared error of the best line over each ``[a, b]``."""
        m, sx, cov, vt, sxx = self._sums(r, a, b)
        explained = np.divide(cov * cov, vt, out=np.zeros_like(cov), where=vt > 0)
        return np.maximum(sxx - sx * sx / m - explained, 0.0)


def _best_split(fits: _LineFits, r: np.ndarray, a: np.ndarray, b: np.ndarray, lo: np.ndarray,
                hi: np.ndarray) -> np.ndarray:
    """Per range ``[a, b]``: the ``k`` in ``[lo, hi]`` minimising SSE(a..k) + SSE(k..b)."""
    lengths = hi - lo + 1
    k, grp = _ragged(lo, lengths)
    cost = fits.sse(r[grp], a[grp], k) + fits.sse(r[grp], k, b[grp])
    offsets = np.cumsum(lengths) - lengths
    lowest = np.minimum.reduceat(cost, offsets)
    # Each range's candidates are contiguous: its first minimum is the first hit at or
    # after its offset.
    hits = np.flatnonzero(cost <= lowest[grp])
    return k[hits[np.searchsorted(hits, offsets)]]


def _bottom_up(fits: _LineFits, tol: np.ndarray, min_len: int, lengths: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bottom-up piecewise-linear segmentation of every row (row ``i`` has ``lengths[i]`` samples).

    Rows start as pieces of ``min_len // 2`` (at least 2) sample steps, the last piece
    ending at the row's last sample; neighbouring pieces are joined while joining raises
    the squared error by less than the row's ``tol``, cheapest first, and pieces shorter
    than ``min_len`` steps are joined regardless (before any other). Every pair that comes
    before both neighbouring pairs in that order is joined in the same vectorized step,
    so all rows advance together.

    Returns:
        Rows, first and last sample indices of the segments, sorted by (row, start).
    """
    piece = max(2, min_len // 2)
    counts = -(-np.maximum(lengths - piece, 1) // piece)  # ceil: pieces per row
    k, r = _ragged(np.zeros(lengths.size, dtype=np.int64), counts)
    a = k * piece
    b = np.where(k == counts[r] - 1, lengths[r] - 1, a + piece)
    sse = fits.sse(r, a, b)
    while True:
        pair = np.flatnonzero(r[1:] == r[:-1])
        if not pair.size:
            break
        nxt = pair + 1
        joined = fits.sse(r[pair], a[pair], b[nxt])
        cost = joined - sse[pair] - sse[nxt]
        short = (b[pair] - a[pair] < min_len) | (b[nxt] - a[nxt] < min_len)
        wanted = short | (cost < tol[r[pair]])
        if not wanted.any():
            break
        chained = pair[1:] == pair[:-1] + 1  # consecutive pairs share a segment
        # Pair p comes first when it is short and its neighbour not, or both alike and
        # p is cheaper (ties go to the left pair, so some pair of every chain joins).
        same = short[1:] == short[:-1]
        left_wins = (short[:-1] & ~short[1:]) | (same & (cost[:-1] <= cost[1:]))
        first = wanted.copy()
        first[1:] &= ~chained | ~left_wins
        first[:-1] &= ~chained | left_wins
        join = pair[first]
        b[join] = b[join + 1]
        sse[join] = joined[first]
        keep = np.ones(r.size, dtype=bool)
        keep[join + 1] = False
        r, a, b, sse = r[keep], a[keep], b[keep], sse[keep]
    return r, a, b


def _refine(fits: _LineFits, r: np.ndarray, a: np.ndarray, b: np.ndarray, min_len: int,
            sweeps: int = 2) -> None:
    """Move each inner boundary to its best place near where it is, in place.

    Greedy joining fixes a boundary before it knows the next ones, and the first pieces
    sit on a grid of ``min_len // 2`` samples, so a boundary can land beside the true
    corner. Each boundary may move up to that grid spacing, keeping both its segments at
    least ``min_len`` long. Boundaries of even, then odd, segment index are
    re-optimised together (they share no segment), ``sweeps`` times.
    """
    inner = np.flatnonzero(r[1:] == r[:-1])  # boundary between segment i and i + 1
    # Parity within the row, so a row is refined the same way in any batch.
    local = inner - np.searchsorted(r, r[inner])
    reach = max(2, min_len // 2)  # the spacing of the first pieces
    for _ in range(sweeps):
        for parity in (0, 1):
            i = inner[local % 2 == parity]
            if i.size:
                lo = np.maximum(a[i] + min_len, b[i] - reach)
                hi = np.minimum(b[i + 1] - min_len, b[i] + reach)
                best = _best_split(fits, r[i], a[i], b[i + 1], lo, hi)
                b[i] = best
                a[i + 1] = best


def change_scale(start: np.ndarray, end: np.ndarray, lengths: np.ndarray,
                 sample_rate_hz: float, cutoff_hz: float = RobustParams.cutoff_hz,
                 polyorder: int = RobustParams.polyorder) -> np.ndarray:
    """Std of the denoised change from sample ``start`` to ``end`` under unit white noise.

    A denoised sample is a weighted sum of raw ones (``denoise``: a row of the
    Savitzky–Golay fit's hat matrix, placed over the window that fits the sample), so
    the change between two is ``(w_end − w_start) · x`` and its std, for white noise of
    std 1, is ``‖w_end − w_start‖``: ``‖w_start‖² + ‖w_end‖²`` less twice their dot
    product, which only overlapping windows have.

    Args:
        start: First sample of each segment.
        end: Last sample of each segment (≥ ``start``).
        lengths: Samples of the series each segment belongs to.
        sample_rate_hz: Sampling rate.
        cutoff_hz: The denoiser's cutoff.
        polyorder: The denoiser's polynomial order.

    Returns:
        One float64 factor per segment (√2 where the series is too short to smooth).
    """
    start, end = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
    n = np.asarray(lengths, dtype=np.int64)
    widest = smoothing_window(float(sample_rate_hz), float(cutoff_hz), int(polyorder))
    window = np.minimum(widest, n - (n + 1) % 2)
    out = np.where(end > start, np.sqrt(2.0), 0.0)
    for length in np.unique(window[window > polyorder + 1]).tolist():
        k = np.flatnonzero(window == length)
        hat, half = _savgol_hat(length, polyorder), length // 2

        def place(i: np.ndarray, nk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Row of ``hat`` giving sample ``i``, and the window's first sample."""
            row = np.where(i < half, i, np.where(i >= nk - half, length - (nk - i), half))
            return row, np.clip(i - half, 0, nk - length)

        (ra, oa), (rb, ob) = place(start[k], n[k]), place(end[k], n[k])
        shift = np.arange(length) - (ob - oa)[:, None]  # w_end's index under w_start's
        overlap = (hat[ra] * np.where(shift >= 0, hat[rb[:, None], shift.clip(min=0)], 0.0)
                   ).sum(axis=1)
        norm = (hat * hat).sum(axis=1)  # the diagonal in exact arithmetic
        q = norm[ra] + norm[rb] - 2 * overlap
        out[k] = np.sqrt(np.clip(q, 0.0, None))
    return out


def _merge(table: SegmentTable, threshold: Callable[[np.ndarray, np.ndarray, np.ndarray],
                                                    np.ndarray]) -> SegmentTable:
    """Merge runs of equal direction; re-judge merged steady runs; repeat until stable.

    ``threshold(rows, starts, ends)`` is the change a segment must reach to rise or fall.
    """
    while True:
        new = np.ones(table.row.size, dtype=bool)
        new[1:] = (table.row[1:] != table.row[:-1]) | (table.sign[1:] != table.sign[:-1])
        first = np.flatnonzero(new)
        last = np.append(first[1:], table.row.size) - 1
        v0, v1 = table.start_value[first], table.end_value[last]
        sign = table.sign[first]
        change = v1 - v0
        rows = table.row[first]
        need = threshold(rows, table.start[first], table.end[last])
        resign = np.where(np.abs(change) >= need, np.sign(change), 0).astype(np.int8)
        resign = np.where(sign == 0, resign, sign)
        table = SegmentTable(rows, table.start[first], table.end[last], v0, v1, resign)
        if np.array_equal(resign, sign):
            return table


def _residual_noise(raw: np.ndarray, smooth: np.ndarray, lengths: np.ndarray,
                    sample_rate_hz: float, params: RobustParams) -> np.ndarray:
    """Noise as what the denoiser removes: the robust std of ``raw − smooth``.

    Fast real movement (a step's swing) has large second differences but lives below
    the cutoff, so measuring noise above the cutoff keeps it from being called noise.
    For white noise of std σ the residual of a Savitzky–Golay filter has std
    σ·√(1 − h₀) (h₀ its centre weight), which is divided out. Rows too short to smooth
    use ``estimate_noise``. Row ``i`` holds its series in its first ``lengths[i]``
    samples.
    """
    widest = smoothing_window(float(sample_rate_hz), float(params.cutoff_hz),
                              int(params.polyorder))
    window = np.minimum(widest, lengths - (lengths + 1) % 2)
    smoothed = window > params.polyorder + 1
    h0 = np.zeros(lengths.size)
    for w in np.unique(window[smoothed]).tolist():
        h0[window == w] = _savgol_hat(w, params.polyorder)[w // 2, w // 2]
    # The median of each row's own samples: padding sorts last as +inf.
    resid = np.sort(np.where(np.arange(raw.shape[1]) < lengths[:, None],
                             np.abs(raw - smooth), np.inf), axis=1)
    rows = np.arange(lengths.size)
    lo, hi = resid[rows, (lengths - 1) // 2], resid[rows, lengths // 2]
    median = np.where(lengths % 2 == 1, lo, (lo + hi) / 2)
    est = 1.4826 * median / np.sqrt(1.0 - h0)
    fallback = np.flatnonzero(~smoothed | ~(est > 0))
    for n, idx in _by_length(lengths[fallback]).items():
        est[fallback[idx]] = estimate_noise(raw[fallback[idx], :n])
    return est


def segment(series: Sequence[np.ndarray], sample_rate_hz: float,
            params: RobustParams = RobustParams()) -> list[list[TrendSegment]]:
    """The ``robust`` segments of 1-D series of any lengths, all in one pass.

    Means are taken per length; the centred rows are then laid in one zero-padded array,
    smoothed and measured there (each row reads only its own samples) and fitted with
    per-row prefix sums equal to those of each row alone, so a series gets the same
    segments in any batch. Start and end values are those of the denoised signal at the
    boundary samples, so "rises by X over Y s" is true of the smoothed signal (not of
    single noisy samples, and not overshooting like the ends of a line fitted to a curve).

    Args:
        series: 1-D float64 series of at least two finite samples each.
        sample_rate_hz: Sampling rate.
        params: Method parameters.

    Returns:
        One list of segments per series, in time order.
    """
    lengths = np.array([s.size for s in series], dtype=np.int64)
    if lengths.size and lengths.min() < 2:
        raise ValueError("every series needs at least 2 samples")
    rows, width = lengths.size, int(lengths.max(initial=2))
    raw = np.zeros((rows, width))
    offset, span = np.zeros(rows), np.zeros(rows)
    # Means per length: a row's sum must not depend on the padding around it.
    for n, idx in _by_length(lengths).items():
        block = np.stack([series[i] for i in idx])
        if not np.isfinite(block).all():
            raise ValueError("series contains NaN or infinite values")
        mean = block.mean(axis=1, keepdims=True)  # centred rows keep the prefix sums precise
        raw[idx, :n] = block - mean
        offset[idx] = mean[:, 0]
        span[idx] = np.ptp(block, axis=1)
    x = denoise(raw, sample_rate_hz, params.cutoff_hz, params.polyorder, lengths)
    noise = np.maximum(_residual_noise(raw, x, lengths, sample_rate_hz, params),
                       params.noise_floor_rel * span)
    inside = np.arange(width) < lengths[:, None]
    spread = np.where(inside, x, -np.inf).max(axis=1) - np.where(inside, x, np.inf).min(axis=1)
    min_len = max(1, int(round(params.min_duration_s * sample_rate_hz)))
    fits = _LineFits(x, lengths)
    row, a, b = _bottom_up(fits, params.split_k * noise ** 2 * np.log(lengths), min_len, lengths)
    _refine(fits, row, a, b, min_len)
    smooth = x + offset[:, None]
    v0, v1 = smooth[row, a], smooth[row, b]
    floor = np.maximum(params.steady_k * noise, params.steady_rel * spread)

    def threshold(r: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        scale = change_scale(start, end, lengths[r], sample_rate_hz, params.cutoff_hz,
                             params.polyorder)
        return np.maximum(floor[r], params.steady_z * noise[r] * scale)

    change = v1 - v0
    sign = np.where(np.abs(change) >= threshold(row, a, b), np.sign(change), 0).astype(np.int8)
    table = _sharpen_turns(_merge(SegmentTable(row, a, b, v0, v1, sign), threshold), smooth,
                           2 * min_len)
    return table.to_segments(rows, sample_rate_hz)


def steady_rel(params: RobustParams) -> float:
    """``params.steady_rel``: the net change of a window is judged like one of its segments."""
    return params.steady_rel


def _by_length(lengths: np.ndarray) -> dict[int, np.ndarray]:
    """Length → indices of the rows of that length."""
    order = np.argsort(lengths, kind="stable")
    values, starts = np.unique(lengths[order], return_index=True)
    return {int(v): idx for v, idx in zip(values, np.split(order, starts[1:]))}


def _sharpen_turns(table: SegmentTable, smooth: np.ndarray, max_len: int) -> SegmentTable:
    """Replace a short steady segment between a rise and a fall by one turning point.

    Smoothing rounds a sharp peak or trough, and the lines then give the rounded top a
    short flat piece of its own. Where that piece is at most ``max_len`` sample steps
    long, its neighbours meet instead at the piece's highest (after a rise) or lowest
    (after a fall) smoothed sample.
    """
    r, s = table.row, table.sign
    i = np.flatnonzero((s[1:-1] == 0) & (s[:-2] * s[2:] == -1) & (r[:-2] == r[2:])
                       & (table.end[1:-1] - table.start[1:-1] <= max_len)) + 1
    if not i.size:
        return table
    lengths = table.end[i] - table.start[i] + 1
    pos, grp = _ragged(table.start[i], lengths)
    score = smooth[r[i][grp], pos] * s[i - 1][grp]  # the top after a rise, the bottom after a fall
    offsets = np.cumsum(lengths) - lengths
    hits = np.flatnonzero(score >= np.maximum.reduceat(score, offsets)[grp])
    turn = pos[hits[np.searchsorted(hits, offsets)]]
    value = smooth[r[i], turn]
    end, start = table.end.copy(), table.start.copy()
    end_value, start_value = table.end_value.copy(), table.start_value.copy()
    end[i - 1], start[i + 1] = turn, turn
    end_value[i - 1], start_value[i + 1] = value, value
    keep = np.ones(r.size, dtype=bool)
    keep[i] = False
    return SegmentTable(r[keep], start[keep], end[keep], start_value[keep], end_value[keep],
                        s[keep])


