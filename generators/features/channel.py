"""Per-channel features of windows, vectorized over batches of equal-length series, and
the ``FEATURES`` registry they are looked up in."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Sequence

import numpy as np
from scipy import signal

from generators import trend_methods
from generators.registry import Registry
from generators.types import Channel

G0 = 9.80665  # standard gravity, m/s²
ACC_UNITS = {"g": 1.0, "m/s²": G0, "m/s^2": G0, "m/s2": G0}
"""Units of acceleration the texts convert to g (unit → g per unit)."""
#: Placements where the body moves once per step: where the signal alone leaves step or
#: stride open (``cadence``), a one-beat cycle there is a step.
TRUNK_LOCATIONS = frozenset({"waist", "hip", "chest", "back", "trunk", "torso", "pelvis"})


#: A window moves (is more than sensor noise) when its std is at least this many noise
#: levels (``trend_methods.estimate_noise``): noise is then at most 1/25 = 4 % of its
#: variance. How this and the thresholds below were chosen: docs/features.md.
MOVING_NOISE_K = 5.0
#: A window is periodic when it moves and its self-correlation at the period reaches
#: this (below it, a "period" may be a chance fit of noise).
PERIODIC_MIN_STRENGTH = 0.4


@dataclass(frozen=True, eq=False)
class SeriesBatch:
    """Equal-length single-channel windows, with shared intermediate results.

    Attributes:
        values: float64 array, windows × samples.
        sample_rate_hz: Sampling rate.
        channels: The channel of each row (unit, modality, location); rows of different
            channels may share a batch.
    """

    values: np.ndarray
    sample_rate_hz: float
    channels: tuple[Channel, ...]

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or len(self.channels) != self.values.shape[0]:
            raise ValueError(f"need one channel per row of a 2-D array: {len(self.channels)} "
                             f"channels for shape {self.values.shape}")

    @classmethod
    def of(cls, values: np.ndarray, sample_rate_hz: float, channel: Channel) -> SeriesBatch:
        """A batch whose rows all belong to ``channel``."""
        x = np.atleast_2d(np.asarray(values, dtype=np.float64))
        return cls(x, float(sample_rate_hz), (channel,) * x.shape[0])

    def column(self, attribute: str) -> np.ndarray:
        """An attribute of each row's channel (``unit``, ``modality``…) as an object array
        (built once per batch: several features ask for the same one; do not modify it)."""
        cache = self._column_cache
        if attribute not in cache:
            cache[attribute] = np.array([getattr(c, attribute) for c in self.channels],
                                        dtype=object)
        return cache[attribute]

    @cached_property
    def _column_cache(self) -> dict[str, np.ndarray]:
        return {}

    @property
    def n(self) -> int:
        """Samples per window."""
        return int(self.values.shape[1])

    @cached_property
    def noise(self) -> np.ndarray:
        """Robust noise level per window (``trend_methods.estimate_noise``)."""
        return trend_methods.estimate_noise(self.values)

    @cached_property
    def std(self) -> np.ndarray:
        """Population standard deviation per window (channel unit)."""
        return self.values.std(axis=1)

    @cached_property
    def moving(self) -> np.ndarray:
        """Whether each window varies beyond its noise: std ≥ ``MOVING_NOISE_K`` × noise > 0
        or, for a noiseless window, std > 0."""
        return (self.std >= MOVING_NOISE_K * self.noise) & (self.std > 0)

    @cached_property
    def detrended(self) -> np.ndarray:
        """Values minus each window's least-squares line (drift is not a rhythm)."""
        x = self.values
        t = np.arange(self.n) - (self.n - 1) / 2.0
        tt = float((t * t).sum())
        slope = (x * t).sum(axis=1, keepdims=True) / tt if tt > 0 else 0.0
        return x - x.mean(axis=1, keepdims=True) - slope * t

    @cached_property
    def autocorrelation(self) -> tuple[np.ndarray, np.ndarray]:
        """Lags (samples) and, per window, the autocorrelation at each lag.

        The value at lag L is the Pearson correlation of the detrended window with itself
        shifted by L samples (1.0 for an exactly periodic signal). Lags run from one
        below 1/8 s to one above half the window (two periods must fit); empty when
        that range is too short.
        """
        x, n, fs = self.detrended, self.n, self.sample_rate_hz
        lo, hi = max(1, int(np.ceil(fs / 8.0))), n // 2
        rows = x.shape[0]
        if hi - lo < 2:
            return np.zeros(0, dtype=np.int64), np.zeros((rows, 0))
        spec = np.fft.rfft(x, 2 * n, axis=1)
        cross = np.fft.irfft(spec * spec.conj(), 2 * n, axis=1)[:, lo - 1:hi + 2]
        lags = np.arange(lo - 1, hi + 2)
        m = n - lags
        p = np.hstack([np.zeros((rows, 1)), np.cumsum(x, axis=1)])
        q = np.hstack([np.zeros((rows, 1)), np.cumsum(x * x, axis=1)])
        s1, s2 = p[:, n - lags], p[:, [n]] - p[:, lags]
        q1, q2 = q[:, n - lags], q[:, [n]] - q[:, lags]
        denom = np.sqrt(np.maximum(q1 - s1 * s1 / m, 0) * np.maximum(q2 - s2 * s2 / m, 0))
        r = np.divide(cross - s1 * s2 / m, denom, out=np.zeros_like(cross), where=denom > 1e-12)
        return lags, r

    @cached_property
    def periodicity(self) -> tuple[np.ndarray, np.ndarray]:
        """Best period (s, NaN if none) and its strength (0–1) per window.

        The period is the first local maximum of ``autocorrelation`` reaching 90 % of the
        highest one (so a multiple of the period is not taken for it), refined by a
        parabola through its neighbours; its strength is the autocorrelation there.
        """
        lags, r = self.autocorrelation
        rows = r.shape[0]
        if not lags.size:
            return np.full(rows, np.nan), np.zeros(rows)
        mid = r[:, 1:-1]
        local = (mid > r[:, :-2]) & (mid >= r[:, 2:])
        best = np.where(local, mid, -np.inf).max(axis=1, keepdims=True)
        chosen = local & (mid >= 0.9 * best) & (best > 0)
        found = chosen.any(axis=1)
        i = np.argmax(chosen, axis=1)
        rr = np.arange(rows)
        y0, y1, y2 = r[rr, i], r[rr, i + 1], r[rr, i + 2]
        curve = y0 - 2 * y1 + y2
        shift = np.divide(0.5 * (y0 - y2), curve, out=np.zeros(rows), where=curve < 0)
        period = np.where(found, (lags[i + 1] + shift) / self.sample_rate_hz, np.nan)
        strength = np.where(found, np.clip(y1, 0.0, 1.0), 0.0)
        return period, strength


Columns = dict[str, np.ndarray]
FeatureFn = Callable[[SeriesBatch], Columns]
#: Column naming the rows a feature applies to (a bool array); the feature is left out
#: of the other rows' facts.
APPLIES = "_applies"
#: Per-channel features: each takes a ``SeriesBatch`` and returns columns (name → one
#: value per window). Times end in ``_s``, frequencies in ``_hz``; a ``unit`` column
#: names the unit of the amounts that are in the channel's own unit.
FEATURES: Registry[FeatureFn] = Registry("feature")


@FEATURES.register("stats")
def stats(batch: SeriesBatch) -> Columns:
    """Mean, population std, min, max, median and range (channel unit)."""
    return {**_stat_columns(batch.values), "unit": batch.column("unit")}


def _stat_columns(x: np.ndarray) -> dict[str, np.ndarray]:
    lo, hi = x.min(axis=1), x.max(axis=1)
    return {"mean": x.mean(axis=1), "std": x.std(axis=1), "min": lo, "max": hi,
            "median": np.median(x, axis=1), "range": hi - lo}


def _largest_rise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Largest x[j] − x[i] over i ≤ j per row, with i (latest lowest point) and j (first)."""
    low = np.minimum.accumulate(x, axis=1)
    idx = np.arange(x.shape[1])
    low_at = np.maximum.accumulate(np.where(x == low, idx, 0), axis=1)
    gain = x - low
    j = np.argmax(gain, axis=1)
    rows = np.arange(x.shape[0])
    return gain[rows, j], low_at[rows, j], j


def _move(batch: SeriesBatch, sign: float) -> Columns:
    amount, i, j = _largest_rise(sign * batch.values)
    fs = batch.sample_rate_hz
    return {"amount": amount, "start_s": i / fs, "end_s": j / fs, "duration_s": (j - i) / fs,
            "unit": batch.column("unit")}


@FEATURES.register("largest_rise")
def largest_rise(batch: SeriesBatch) -> Columns:
    """The largest increase from an earlier to a later sample: amount, when, how long.

    Measured on the samples themselves (so exactly checkable); amount 0 and duration 0
    when the window never rises.
    """
    return _move(batch, 1.0)


@FEATURES.register("largest_fall")
def largest_fall(batch: SeriesBatch) -> Columns:
    """The largest decrease from an earlier to a later sample (amount is positive)."""
    return _move(batch, -1.0)


#: Peaks must stand out by this many noise levels (``trend_methods.estimate_noise``)…
PEAK_NOISE_K = 8.0
#: …and by this fraction of the window's range.
PEAK_RANGE_REL = 0.2


@FEATURES.register("peaks")
def peaks(batch: SeriesBatch) -> Columns:
    """Peaks with prominence ≥ max(8 × noise, 0.2 × range): count, highest, when.

    ``highest`` and ``highest_at_s`` are NaN (``None`` in JSON) without peaks.
    """
    x, fs = batch.values, batch.sample_rate_hz
    rows, n = x.shape
    need = np.maximum(PEAK_NOISE_K * batch.noise, PEAK_RANGE_REL * np.ptp(x, axis=1))
    # One find_peaks call for the whole batch: rows laid end to end, each followed by a
    # "wall" sample higher than anything, so a peak's bases stay inside its own row;
    # wlen (a row and a bit either side) keeps the walls' own searches short.
    wall = np.full((rows, 1), x.max(initial=0.0) + np.ptp(x) + 1.0)
    flat = np.hstack([x, wall]).ravel()
    found, _ = signal.find_peaks(flat, prominence=np.repeat(np.maximum(need, 1e-12), n + 1),
                                 wlen=2 * (n + 1) + 1)
    row, col = np.divmod(found, n + 1)
    keep = col < n
    row, col = row[keep], col[keep]
    top, top_at = np.full(rows, np.nan), np.full(rows, np.nan)
    if row.size:
        height = x[row, col]
        starts = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
        best = np.maximum.reduceat(height, starts)
        hits = np.flatnonzero(height >= np.repeat(best, np.diff(np.append(starts, row.size))))
        first = hits[np.searchsorted(hits, starts)]  # the earliest of equal highest peaks
        top[row[starts]], top_at[row[starts]] = height[first], col[first] / fs
    return {"count": np.bincount(row, minlength=rows), "highest": top, "highest_at_s": top_at,
            "unit": batch.column("unit")}


@FEATURES.register("frequency")
def frequency(batch: SeriesBatch) -> Columns:
    """Dominant frequency (largest FFT bin of the detrended window) and periodicity.

    ``dominant_hz`` is NaN for a constant or straight-line window; ``period_s`` is NaN
    and ``periodicity`` 0 when no repeating pattern fits twice in the window (see
    ``SeriesBatch.periodicity``). ``periodic`` is true when the window moves
    (``SeriesBatch.moving``: noise is not movement) and its periodicity reaches
    ``PERIODIC_MIN_STRENGTH``.
    """
    power = np.abs(np.fft.rfft(batch.detrended, axis=1)[:, 1:]) ** 2
    k = np.argmax(power, axis=1) + 1
    energy = np.maximum((batch.values ** 2).sum(axis=1), 1e-300)
    has = power.max(axis=1, initial=0.0) > 1e-20 * energy  # above rounding noise
    period, strength = batch.periodicity
    return {"dominant_hz": np.where(has, k * batch.sample_rate_hz / batch.n, np.nan),
            "period_s": period, "periodicity": strength,
            "periodic": batch.moving & ~np.isnan(period) & (strength >= PERIODIC_MIN_STRENGTH)}


#: Gait: periodicity at least this…
GAIT_MIN_PERIODICITY = 0.5
#: …at a cadence in this range (steps per minute)…
GAIT_CADENCE_RANGE = (60.0, 220.0)
#: …from an accelerometer whose std reaches this (g): steps shake the body by more, so a
#: still sensor's small rhythm is not taken for gait.
GAIT_MIN_STD_G = 0.05


#: A cycle holds two steps (a stride) when its autocorrelation also peaks near half the
#: period at least this share of the period's strength…
STRIDE_HALF_RATIO = 0.5
#: …and is one step when the autocorrelation near twice the period (the stride) beats the
#: period's by this much: left and right steps differ, the stride repeats better.
STEP_STRIDE_GAIN = 0.05


@FEATURES.register("cadence")
def cadence(batch: SeriesBatch) -> Columns:
    """Steps per minute for accelerometers during gait, from the signal's period.

    Whether one cycle (the period) is a step or a stride is read from the signal, on any
    placement (a watch's cycle may be the step, a thigh's the stride):

    1. the autocorrelation peaks near half the period (0.35–0.65 of it) at least
       ``STRIDE_HALF_RATIO`` as strongly: two alike steps in the cycle, a stride;
    2. else the cycle has one beat, and is a step on the trunk (``TRUNK_LOCATIONS``:
       the body rises once per step), or where twice the period fits the lags and the
       autocorrelation near it (1.8–2.2 of the period) beats the period's by
       ``STEP_STRIDE_GAIN`` (one step of a stride whose left and right steps differ),
       or where only one step per cycle gives a cadence in ``GAIT_CADENCE_RANGE``;
    3. else a stride where only two steps per cycle give one in that range;
    4. else undecided (a limb's one-beat cycle that may be either).

    ``steps_per_cycle`` (1 or 2) says which. Both NaN (``None`` in JSON) when undecided,
    when the window moves less than gait does (``GAIT_MIN_STD_G``; an acceleration unit
    not in ``ACC_UNITS`` gives no cadence), is not periodic enough or the cadence is
    outside ``GAIT_CADENCE_RANGE``; left out for other modalities. (Not
    ``SeriesBatch.moving``: heel strikes raise the noise estimate of a walking window,
    so the gait amplitude is the test; docs/features.md.)
    """
    acc = batch.column("modality") == "acc"
    per_g = np.array([ACC_UNITS.get(u, np.inf) for u in batch.column("unit")])
    shakes = batch.std / per_g >= GAIT_MIN_STD_G
    trunk = np.array([c.location in TRUNK_LOCATIONS for c in batch.channels], dtype=bool)
    period, strength = batch.periodicity
    lags, r = batch.autocorrelation
    cycle = period * batch.sample_rate_hz  # samples

    def best_near(lo_share: float, hi_share: float) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            near = (lags >= lo_share * cycle[:, None]) & (lags <= hi_share * cycle[:, None])
        return np.where(near, r, -np.inf).max(axis=1, initial=-np.inf)

    lo, hi = GAIT_CADENCE_RANGE
    with np.errstate(invalid="ignore", divide="ignore"):
        fits = [(spm >= lo) & (spm <= hi) for spm in (60.0 / period, 120.0 / period)]
        twice_fits = 2 * cycle <= (lags[-1] if lags.size else 0)
    halves = best_near(0.35, 0.65) >= STRIDE_HALF_RATIO * strength
    gain = twice_fits & (best_near(1.8, 2.2) >= strength + STEP_STRIDE_GAIN)
    step = ~halves & (trunk | gain | (fits[0] & ~fits[1]))
    stride = halves | (~step & fits[1] & ~fits[0])
    steps_per_cycle = np.where(stride, 2.0, np.where(step, 1.0, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        spm = 60.0 * steps_per_cycle / period
        gait = shakes & (strength >= GAIT_MIN_PERIODICITY) & (spm >= lo) & (spm <= hi)
    return {"steps_per_min": np.where(gait, spm, np.nan),
            "steps_per_cycle": np.where(gait, steps_per_cycle, np.nan), APPLIES: acc}


@FEATURES.register("energy")
def energy(batch: SeriesBatch) -> Columns:
    """Signal magnitude (mean absolute value, RMS, channel unit) and energy (mean square)."""
    x = batch.values
    sq = (x * x).mean(axis=1)
    unit = batch.column("unit")
    return {"mean_abs": np.abs(x).mean(axis=1), "rms": np.sqrt(sq), "energy": sq,
            "unit": unit, "energy_unit": np.array([f"({u})²" for u in unit], dtype=object)}


def _json_rows(columns: Columns) -> list[dict[str, object]]:
    """Turn columns into one JSON-ready dict per window (NaN → None, numpy → Python)."""
    lists = []
    for col in columns.values():
        values = col.tolist()
        # Checked in Python: a batch is often a few rows, where np.isnan(...).any() costs more.
        lists.append([None if v != v else v for v in values] if col.dtype.kind == "f" else values)
    names = list(columns)
    return [dict(zip(names, vals)) for vals in zip(*lists)]


def feature_rows(batch: SeriesBatch, name: str) -> list[dict[str, object] | None]:
    """One registered feature of every window of a batch.

    Args:
        batch: Equal-length windows.
        name: Feature name.

    Returns:
        Per window, the feature's JSON-serialisable fields, or ``None`` where it does
        not apply to the row's channel.
    """
    cols = dict(FEATURES[name](batch))
    applies = cols.pop(APPLIES, None)
    rows: list[dict[str, object] | None] = \
        list(_json_rows(cols)) or [None] * batch.values.shape[0]  # a feature of no fields
    if applies is not None:
        rows = [fields if ok else None for fields, ok in zip(rows, applies.tolist())]
    return rows


def compute_features(batch: SeriesBatch, names: Sequence[str] | None = None
                     ) -> list[dict[str, dict[str, object]]]:
    """Registered features of every window of a batch.

    Args:
        batch: Equal-length windows.
        names: Feature names (default: all registered).

    Returns:
        Per window, feature name → its JSON-serialisable fields; features that do not
        apply to the row's channel are left out.
    """
    rows = batch.values.shape[0]
    per_window: list[dict[str, dict[str, object]]] = [{} for _ in range(rows)]
    for name in names or FEATURES.names():
        for d, fields in zip(per_window, feature_rows(batch, name)):
            if fields is not None:
                d[name] = fields
    return per_window


def basic_stats(values: np.ndarray) -> dict[str, float]:
    """Mean, population std, min, max, median and range of a 1-D series.

    Args:
        values: 1-D series.

    Returns:
        Statistic name → value (in the series' unit).
    """
    x = np.asarray(values, dtype=np.float64)[None, :]
    return {k: float(v[0]) for k, v in _stat_columns(x).items()}

