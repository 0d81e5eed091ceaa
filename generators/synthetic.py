"""Seeded synthetic signals with known true trend segments, and scores against that truth;
phone-like sample clocks with their true times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from generators.seeding import stable_rng
from generators.types import DIRECTIONS, TrendSegment

_SIGN = {"up": 1, "down": -1, "steady": 0}


@dataclass(frozen=True, eq=False)
class SyntheticSignal:
    """A generated series with its ground truth.

    Attributes:
        values: The noisy series (float64).
        clean: The series before noise.
        sample_rate_hz: Sampling rate.
        segments: The true trend segments (of ``clean``), neighbours sharing boundaries.
        noise_sigma: Std of the added Gaussian noise.
    """

    values: np.ndarray
    clean: np.ndarray
    sample_rate_hz: float
    segments: tuple[TrendSegment, ...]
    noise_sigma: float

    @property
    def breakpoints_s(self) -> np.ndarray:
        """Times of the inner segment boundaries."""
        return breakpoints(self.segments)


def _from_knots(knots: np.ndarray, knot_values: np.ndarray, directions: Sequence[str],
                sample_rate_hz: float, noise_sigma: float, rng: np.random.Generator
                ) -> SyntheticSignal:
    """Polyline through (sample index, value) knots, plus Gaussian noise."""
    n = int(knots[-1]) + 1
    clean = np.interp(np.arange(n), knots, knot_values)
    segs = tuple(
        TrendSegment(a / sample_rate_hz, b / sample_rate_hz, float(v0), float(v1), d,
                     float((v1 - v0) / (b - a) * sample_rate_hz))
        for a, b, v0, v1, d in zip(knots[:-1].tolist(), knots[1:].tolist(),
                                   knot_values[:-1], knot_values[1:], directions)
    )
    values = clean + noise_sigma * rng.standard_normal(n)
    return SyntheticSignal(values, clean, float(sample_rate_hz), segs, float(noise_sigma))


def piecewise_linear(seed: int, key: str = "0", *, sample_rate_hz: float = 50.0,
                     n_segments: tuple[int, int] = (1, 5),
                     duration_s: tuple[float, float] = (0.3, 1.5),
                     rise: tuple[float, float] = (1.0, 3.0), noise_sigma: float = 0.1
                     ) -> SyntheticSignal:
    """A piecewise-linear series of up, down and steady segments.

    Neighbouring segments always differ in direction, so every true boundary is one a
    person would see. Steady segments have slope 0; up/down ones change by a uniform
    amount in ``rise``. Boundaries lie on samples.

    Args:
        seed: Seed.
        key: Stable id of this signal under the seed.
        sample_rate_hz: Sampling rate.
        n_segments: Inclusive range of the number of segments.
        duration_s: Range of each segment's duration (at least one sample).
        rise: Range of the absolute change of up/down segments.
        noise_sigma: Std of the Gaussian noise added.

    Returns:
        The signal and its truth.
    """
    rng = stable_rng(seed, "pwl", key)
    count = int(rng.integers(n_segments[0], n_segments[1] + 1))
    directions = [str(rng.choice(DIRECTIONS))]
    for _ in range(count - 1):
        directions.append(str(rng.choice([d for d in DIRECTIONS if d != directions[-1]])))
    lengths = np.maximum(1, np.ceil(rng.uniform(*duration_s, count) * sample_rate_hz)).astype(int)
    knots = np.concatenate([[0], np.cumsum(lengths)])
    steps = rng.uniform(*rise, count) * np.array([_SIGN[d] for d in directions])
    knot_values = rng.uniform(-2.0, 2.0) + np.concatenate([[0.0], np.cumsum(steps)])
    return _from_knots(knots, knot_values, directions, sample_rate_hz, noise_sigma, rng)


def periodic(seed: int, key: str = "0", *, sample_rate_hz: float = 50.0,
             frequency_hz: float = 1.0, amplitude: float = 1.0, duration_s: float = 4.0,
             noise_sigma: float = 0.0) -> SyntheticSignal:
    """A triangle wave (alternating up and down lines) starting at a trough.

    Args:
        seed: Seed (noise only).
        key: Stable id of this signal under the seed.
        sample_rate_hz: Sampling rate; a half period should be a whole number of samples
            for the boundaries to fall on samples.
        frequency_hz: Frequency of the wave.
        amplitude: Half the peak-to-peak height.
        duration_s: Length.
        noise_sigma: Std of the Gaussian noise added.

    Returns:
        The signal and its truth (one segment per half period).
    """
    rng = stable_rng(seed, "periodic", key)
    half = sample_rate_hz / (2 * frequency_hz)
    n = int(round(duration_s * sample_rate_hz))
    knots = np.unique(np.append(np.round(np.arange(0, n, half)).astype(int), n - 1))
    knot_values = np.where(np.arange(knots.size) % 2 == 0, -amplitude, amplitude).astype(float)
    last = knots[-1] - knots[-2]
    knot_values[-1] = knot_values[-2] + (knot_values[-1] - knot_values[-2]) * last / half
    directions = ["up" if i % 2 == 0 else "down" for i in range(knots.size - 1)]
    return _from_knots(knots, knot_values, directions, sample_rate_hz, noise_sigma, rng)


def gait(seed: int, key: str = "0", *, steps_per_min: float, beat: str,
         other: float = 0.0, sample_rate_hz: float = 50.0, duration_s: float = 5.0,
         amplitude_g: float = 0.3, noise_sigma: float = 0.01) -> np.ndarray:
    """One accelerometer axis (g, about 1 g of gravity) during a walk of known step rate.

    Args:
        seed: Seed (noise only).
        key: Stable id of this signal under the seed.
        steps_per_min: The true cadence.
        beat: ``step``: the sensor moves once per step (the trunk's bounce, a watch that
            feels each heel strike), a sine at the step rate; ``stride``: once per stride
            (a thigh's swing), a sine at half that rate.
        other: Amplitude, relative to the beat's, of a sine at the other rate: on a
            ``step`` beat the difference of left and right steps (a stride-rate
            component), on a ``stride`` beat the heel strikes (a step-rate one).
        sample_rate_hz: Sampling rate.
        duration_s: Length.
        amplitude_g: Amplitude of the beat.
        noise_sigma: Std of the Gaussian noise added.
    """
    if beat not in ("step", "stride"):
        raise ValueError(f"beat is 'step' or 'stride', got {beat!r}")
    rng = stable_rng(seed, "gait", key)
    t = np.arange(int(round(duration_s * sample_rate_hz))) / sample_rate_hz
    step_hz = steps_per_min / 60.0
    main, second = (step_hz, step_hz / 2) if beat == "step" else (step_hz / 2, step_hz)
    x = np.sin(2 * np.pi * main * t) + other * np.sin(2 * np.pi * second * t + 0.7)
    return 1.0 + amplitude_g * x + noise_sigma * rng.standard_normal(t.size)


def noisy_constant(seed: int, key: str = "0", *, sample_rate_hz: float = 50.0,
                   duration_s: float = 2.0, level: float = 0.0, noise_sigma: float = 0.1
                   ) -> SyntheticSignal:
    """Gaussian noise around a constant: truth is one steady segment.

    Args:
        seed: Seed.
        key: Stable id of this signal under the seed.
        sample_rate_hz: Sampling rate.
        duration_s: Length.
        level: The constant.
        noise_sigma: Std of the noise.

    Returns:
        The signal and its truth.
    """
    rng = stable_rng(seed, "constant", key)
    n = max(2, int(round(duration_s * sample_rate_hz)))
    return _from_knots(np.array([0, n - 1]), np.array([level, level]), ["steady"],
                       sample_rate_hz, noise_sigma, rng)


def breakpoints(segments: Sequence[TrendSegment]) -> np.ndarray:
    """Inner boundary times of a segment list (empty for one segment)."""
    return np.array([s.end_s for s in segments[:-1]], dtype=np.float64)


def sample_signs(segments: Sequence[TrendSegment], n_samples: int,
                 sample_rate_hz: float) -> np.ndarray:
    """Direction (+1/−1/0) of every sample; a shared boundary sample goes to the later segment.

    Args:
        segments: Segments in time order covering the series.
        n_samples: Length of the series.
        sample_rate_hz: Sampling rate.

    Returns:
        int8 array of length ``n_samples``.
    """
    ends = np.round(breakpoints(segments) * sample_rate_hz)
    which = np.searchsorted(ends, np.arange(n_samples), side="right")
    return np.array([_SIGN[s.direction] for s in segments], dtype=np.int8)[which]


def direction_accuracy(truth: Sequence[TrendSegment], detected: Sequence[TrendSegment],
                       n_samples: int, sample_rate_hz: float) -> float:
    """Fraction of samples whose detected direction equals the true one."""
    return float(np.mean(sample_signs(truth, n_samples, sample_rate_hz)
                         == sample_signs(detected, n_samples, sample_rate_hz)))


def match_breakpoints(truth_s: np.ndarray, detected_s: np.ndarray,
                      tolerance_s: float) -> tuple[int, int, int]:
    """One-to-one matching of breakpoints within a tolerance (most matches, then closest).

    Args:
        truth_s: True breakpoint times.
        detected_s: Detected breakpoint times.
        tolerance_s: Largest allowed distance of a match.

    Returns:
        ``(true positives, false positives, false negatives)``.
    """
    truth_s, detected_s = np.asarray(truth_s, float), np.asarray(detected_s, float)
    if not truth_s.size or not detected_s.size:
        return 0, int(detected_s.size), int(truth_s.size)
    dist = np.abs(truth_s[:, None] - detected_s[None, :])
    # Matches within tolerance cost less than any mismatch, so the count is maximal.
    cost = np.where(dist <= tolerance_s + 1e-9, dist, 1e6)
    r, c = linear_sum_assignment(cost)
    tp = int(np.sum(cost[r, c] < 1e6))
    return tp, int(detected_s.size) - tp, int(truth_s.size) - tp


def f1(tp: int, fp: int, fn: int) -> float:
    """F1 score from counts; 1.0 when there was nothing to find and nothing was found."""
    denom = 2 * tp + fp + fn
    return 1.0 if denom == 0 else 2 * tp / denom


def phone_clock(seed: int, duration_s: float, *, rate_hz: float = 100.0, late: float = 0.1,
                together: float = 0.03, swapped: float = 0.001,
                gaps: Sequence[tuple[float, float]] = ()) -> tuple[np.ndarray, np.ndarray]:
    """True sample times and the whole-millisecond stamps a phone's sensor API writes.

    Steps are the nominal period with Gaussian jitter of a tenth of it. A share ``late``
    of the samples arrive 0.5–0.98 periods late and the next one correspondingly early
    (both steps fall outside 0.5–1.5 × the period); a share ``together`` come within
    0.1 ms of the previous one, so they mostly share its stamp; a share ``swapped`` are
    written after the sample that follows them (a backwards stamp in the file). No
    sample lies inside a ``(start_s, length_s)`` gap.

    Args:
        seed: Seed of every draw.
        duration_s: Length of the clock.
        rate_hz: Nominal rate.
        late, together, swapped: Shares of samples, as above.
        gaps: Stretches without samples.

    Returns:
        ``(true_s, stamp_ms)`` in file order: float64 seconds and integer milliseconds
        (the stamp is the true time truncated to the millisecond).
    """
    rng = np.random.default_rng(seed)
    period = 1.0 / rate_hz
    n = int(duration_s * rate_hz)
    steps = period * (1 + 0.1 * rng.standard_normal(n)).clip(0.5, 1.5)
    delay = period * rng.uniform(0.5, 0.98, n) * (rng.random(n) < late)
    steps += delay - np.roll(delay, 1)
    close = rng.random(n) < together
    steps[close] = 1e-4 * rng.random(int(close.sum()))
    true_s = np.cumsum(steps) - steps[0]
    keep = np.ones(n, dtype=bool)
    for start, length in gaps:
        keep &= (true_s < start) | (true_s >= start + length)
    true_s = true_s[keep]
    order = np.arange(len(true_s))
    for i in np.flatnonzero(rng.random(len(true_s) - 1) < swapped):
        order[i], order[i + 1] = order[i + 1], order[i]
    true_s = true_s[order]
    return true_s, np.floor(true_s * 1000).astype(np.int64)
