"""Check a periodicity row: period, frequency, cycles, strength, cadence from self-correlation."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from validation.checks import Failure, Row, spans_change
from validation.checks._channels import channel_of
from validation.checks._read import Stated, Unreadable, one, read_row
from validation.checks._signal import G_PER_UNIT, MOVING_NOISE_K, mad_noise

REGULARITY = ((0.7, "clearly periodic"), (0.4, "somewhat periodic"))
"""The documented scale: periodicity strength (as the text rounds it) at or above → words;
below the last limit a window is not periodic and must not be called so."""

GAIT_CADENCE = (60.0, 220.0)
"""Steps per minute a gait cadence may have."""

GAIT_MIN_STRENGTH = 0.5
"""A cadence is only given for a periodicity at least this strong…"""

GAIT_MIN_STD_G = 0.05
"""…of an accelerometer whose std reaches this many g (steps shake the body)."""

TRUNK = frozenset({"waist", "hip", "chest", "back", "trunk", "torso", "pelvis"})
"""Placements where the body rises once per step: a one-beat cycle there is a step."""

HALF_RATIO = 0.5
"""A cycle is a stride when the self-correlation near half of it reaches this share of
the period's strength (two alike steps)…"""

STRIDE_GAIN = 0.05
"""…and a step when near twice the period it beats the period's strength by this much
(left and right steps differ)."""


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Pearson correlation of the line-detrended series with itself at each lag 0…n−2.

    All lags at once: the lagged products from ``np.correlate`` and the overlapping
    parts' sums from cumulative sums (the generator uses FFTs on the whole window
    instead); 0 where either part is constant.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 2:
        return np.zeros(0)
    t = np.arange(n, dtype=np.float64)
    d = x - np.polyval(np.polyfit(t, x, 1), t)
    lag = np.arange(n - 1)
    m = (n - lag).astype(np.float64)
    cross = np.correlate(d, d, "full")[n - 1:2 * n - 2]  # Σ d[i]·d[i + lag]
    s1 = np.concatenate(([0.0], np.cumsum(d)))
    s2 = np.concatenate(([0.0], np.cumsum(d * d)))
    sa, saa = s1[n - lag], s2[n - lag]  # the head d[:n − lag]
    sb, sbb = s1[n] - s1[lag], s2[n] - s2[lag]  # the tail d[lag:]
    va = np.maximum(saa - sa * sa / m, 0.0)
    vb = np.maximum(sbb - sb * sb / m, 0.0)
    # both parts vary (std product above a relative floor), else the lag scores 0
    varies = np.sqrt(va * vb) / m > 1e-12 * max(float(np.abs(d).max()), 1e-300) ** 2
    r = np.zeros(n - 1)
    r[varies] = (cross - sa * sb / m)[varies] / np.sqrt(va * vb)[varies]
    return r


def period(x: np.ndarray, rate: float) -> tuple[float, float] | None:
    """The repeating period (s) and its strength, ``None`` when nothing repeats twice.

    The period is the first local maximum of the autocorrelation (lags from 1/8 s to half
    the window) reaching 90 % of the highest one, refined by a parabola through it and its
    neighbours; the strength is the autocorrelation there, clipped to 0–1.
    """
    r = autocorrelation(x)
    lo, hi = max(1, int(np.ceil(rate / 8.0))), x.size // 2
    if hi - lo < 2 or hi + 1 >= r.size:
        return None
    lags = np.arange(lo, hi + 1)
    peak = lags[(r[lags] > r[lags - 1]) & (r[lags] >= r[lags + 1])]
    if not peak.size or r[peak].max() <= 0:
        return None
    k = int(peak[np.argmax(r[peak] >= 0.9 * r[peak].max())])
    curve = r[k - 1] - 2 * r[k] + r[k + 1]
    shift = 0.5 * (r[k - 1] - r[k + 1]) / curve if curve < 0 else 0.0
    return (k + shift) / rate, float(np.clip(r[k], 0.0, 1.0))


def steps_per_cycle(x: np.ndarray, rate: float, p: float, strength: float,
                    location: str) -> int | None:
    """Whether the period ``p`` (s) of ``x`` is a stride (2), a step (1) or undecided.

    The documented rule, on the self-correlation at the lags the period is sought in
    (1/8 s to half the window): a peak near half the period (0.35–0.65 of it) of at least
    ``HALF_RATIO`` × ``strength`` makes a stride; else a step on the trunk, or where
    near twice the period (1.8–2.2 of it, when twice the period is a lag) it reaches
    ``strength`` + ``STRIDE_GAIN``, or where only a step per cycle gives a cadence in
    ``GAIT_CADENCE``; else a stride where only two do; else undecided.
    """
    r = autocorrelation(x)
    lags = np.arange(max(1, int(np.ceil(rate / 8.0))) - 1, x.size // 2 + 2)
    c = p * rate

    def near(a: float, b: float) -> float:
        inside = lags[(lags >= a * c) & (lags <= b * c)]
        return float(r[inside].max()) if inside.size else -np.inf

    if near(0.35, 0.65) >= HALF_RATIO * strength:
        return 2
    lo, hi = GAIT_CADENCE
    step_fits, stride_fits = (lo <= 60 * k / p <= hi for k in (1, 2))
    gain = 2 * c <= lags[-1] and near(1.8, 2.2) >= strength + STRIDE_GAIN
    if location in TRUNK or gain or (step_fits and not stride_fits):
        return 1
    return 2 if stride_fits and not step_fits else None


def check(row: Row) -> Iterator[Failure]:
    """Recompute the channel's period and strength; every stated figure follows from them."""
    try:
        q, a = read_row(row)
        said = {k: one(a, k) for k in a}
        asked = one(q, "sensor") if "sensor" in q else None
    except Unreadable as exc:
        yield Failure("periodicity.structure", str(exc))
        return
    for named in (said.get("sensor"), asked):
        if named is not None and channel_of(row, str(named)) != 0:
            yield Failure("periodicity.channel", f"names {named!r}, not the row's channel")
    yield from spans_change(row, "periodicity", "no single rhythm")
    rate, n = row.sample_rate_hz, row.series.shape[1]
    if "duration_s" in said and not said["duration_s"].agrees(n / rate):
        yield Failure("periodicity.value", f"window of {said['duration_s']}s, series "
                                           f"{n / rate:.4f}s")
    found = period(row.series[0], rate)
    if found is None:
        yield Failure("periodicity.period", "the series repeats no pattern twice")
        return
    p, strength = found
    x = np.asarray(row.series[0], dtype=np.float64)
    # float32 storage against the generator's float64 sums: a hair of slack at the limits.
    if x.std() < MOVING_NOISE_K * mad_noise(x) * (1 - 1e-9):
        yield Failure("periodicity.noise", f"called periodic, but its std {x.std():.5f} is "
                                           f"below {MOVING_NOISE_K:g} × its noise "
                                           f"{mad_noise(x):.5f}: the repetition is noise")
    if strength < REGULARITY[-1][0] - 1e-6:
        yield Failure("periodicity.strength", f"called periodic at strength {strength:.3f}, "
                                              f"below {REGULARITY[-1][0]}")
    # float32 storage against the generator's float64 sums: allow a hair beyond rounding.
    for key, true in (("period_s", p), ("freq_hz", 1 / p), ("n_cycles", n / rate / p),
                      ("strength", strength)):
        if key in said and not said[key].agrees(true, extra=1e-6):
            yield Failure("periodicity.value", f"{key} {said[key]}, series {true:.4f}")
    if "per_minute" in said and not Stated(float(said["per_minute"]), 0).agrees(60 / p, 1e-6):
        yield Failure("periodicity.value", f"{said['per_minute']} per minute, series {60 / p:.3f}")
    if "regularity" in said:
        level = said["strength"].value if "strength" in said else round(strength, 2)
        word = next((w for limit, w in REGULARITY if level >= limit), "not periodic")
        if str(said["regularity"]).lower() != word:
            yield Failure("periodicity.regularity", f"{said['regularity']!r} for strength "
                                                    f"{level:.2f}, which is {word!r}")
    steps = said.get("steps_per_min")
    if steps is not None:
        lo, hi = GAIT_CADENCE
        per_cycle = said.get("steps_per_cycle")
        decided = steps_per_cycle(x, rate, p, strength, row.channel_locations[0])
        fits = Stated(float(steps), 0).agrees(60 * (decided or 0) / p, 1e-6)
        shake = x.std() / G_PER_UNIT.get(row.channel_units[0], np.inf)
        if row.channel_modalities[0] != "acc" or not fits or not lo - 0.5 <= steps <= hi + 0.5 \
                or strength < GAIT_MIN_STRENGTH - 1e-6 or per_cycle != decided \
                or shake < GAIT_MIN_STD_G * (1 - 1e-9):
            yield Failure("periodicity.cadence", f"{steps} steps per minute at {per_cycle} steps "
                                                 f"per cycle; the {p:.3f}s cycle holds "
                                                 f"{decided or 'an undecided number of'} "
                                                 f"(needs a gait-like accelerometer: strength "
                                                 f"{strength:.2f}, std {shake:.3f} g)")
