"""Facts recomputed from a row's stored series, independently of the generator's code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.signal import find_peaks

_DIRECTION = np.array(["down", "steady", "up"])  # indexed by sign + 1


@dataclass(frozen=True)
class Run:
    """One run of equal difference signs: samples ``first`` to ``last`` (inclusive).

    Attributes:
        first: Sample index where the run starts.
        last: Sample index where it ends (shared with the next run).
        direction: ``up``, ``down`` or ``steady``.
    """

    first: int
    last: int
    direction: str


def sign_runs(x: np.ndarray) -> list[Run]:
    """Runs of equal sample-to-sample difference sign (the seed's trend definition).

    Boundaries are found as the positions where the sign code changes, using a
    run-length encoding of the sign sequence (not the generator's merge code).

    Args:
        x: 1-D series of at least two samples.

    Returns:
        Runs in time order; run ``k`` spans samples ``first`` to ``last`` inclusive.
    """
    code = np.sign(np.diff(np.asarray(x, dtype=np.float64))).astype(np.int64) + 1
    breaks = np.nonzero(code[1:] - code[:-1])[0] + 1
    firsts = np.r_[0, breaks]
    lasts = np.r_[breaks, code.size]
    return [Run(int(a), int(b), str(_DIRECTION[code[a]])) for a, b in zip(firsts, lasts)]


def mad_noise(x: np.ndarray) -> float:
    """White-noise std of a series from its second differences: 1.4826 · median|Δ²x| / √6
    (a second difference of white noise has std σ·√6); their RMS / √6 when the median is
    zero (quantised, mostly flat series); 0 for fewer than three samples."""
    d2 = np.diff(np.asarray(x, dtype=np.float64), 2)
    if not d2.size:
        return 0.0
    mad = 1.4826 * float(np.median(np.abs(d2))) / np.sqrt(6.0)
    return mad if mad > 0 else float(np.sqrt(np.mean(d2 * d2) / 6.0))


PEAK_NOISE_K, PEAK_RANGE_REL = 8.0, 0.2
"""A prominent peak rises at least max(8 × noise, 0.2 × range) above its bases (the
documented rule of ``extremes``: white noise alone has no peak that prominent)."""

G_PER_UNIT = {"g": 1.0, "m/s²": 9.80665, "m/s^2": 9.80665, "m/s2": 9.80665}
"""One unit of acceleration in g (standard gravity)."""

MOVING_NOISE_K = 5.0
"""The documented rule: a series moves (more than sensor noise) when its std is at least
5 × its noise level; only a moving series may be called periodic or given a cadence."""


def prominent_peaks(x: np.ndarray) -> int:
    """Number of local maxima (not at the ends) of at least the prominence above."""
    x = np.asarray(x, dtype=np.float64)
    need = max(PEAK_NOISE_K * mad_noise(x), PEAK_RANGE_REL * float(np.ptp(x)), 1e-12)
    return int(find_peaks(x, prominence=need)[0].size)


def overall(directions: Sequence[str], values: Sequence[tuple[float, float]],
            steady_rel: float = 0.0) -> str:
    """Direction of the summed change (end − start value) of the segments that are not
    steady; steady when it is below ``steady_rel`` × the range of the segments' values."""
    delta = sum(float(b) - float(a) for d, (a, b) in zip(directions, values) if d != "steady")
    ends = [float(v) for pair in values for v in pair]
    if ends and abs(delta) < steady_rel * (max(ends) - min(ends)):
        return "steady"
    return "up" if delta > 0 else "down" if delta < 0 else "steady"


def mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation in float64."""
    x = np.asarray(x, dtype=np.float64)
    m = float(np.mean(x))
    return m, float(np.sqrt(np.mean((x - m) ** 2)))


def correlations(series: np.ndarray) -> np.ndarray:
    """Pearson r of every pair of a channels × samples series, in float64 (channels ×
    channels); 0.0 for a pair with a constant channel."""
    x = np.asarray(series, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    sums = np.einsum("ij,ij->i", x, x)
    moving = np.ptp(series, axis=1) != 0
    scale = np.sqrt(np.where(moving, sums, 1.0))
    r = np.clip((x @ x.T) / np.outer(scale, scale), -1.0, 1.0)
    r[~moving, :] = 0.0
    r[:, ~moving] = 0.0
    return r


CORRELATION_WORDS = ((0.7, "strong"), (0.4, "moderate"), (0.2, "weak"), (0.0, "negligible"))
"""The documented strength scale: |r| (as rounded in the text) at or above each limit."""


def correlation_relation(r: float) -> str:
    """``negligible`` or ``<strength> <positive|negative>`` for an r as the text rounds it."""
    strength = next(word for limit, word in CORRELATION_WORDS if abs(r) >= limit)
    if strength == "negligible":
        return strength
    return f"{strength} {'positive' if r > 0 else 'negative'}"


def activity_words(label: str) -> str:
    """An activity label as the text names it: ``WALKING_UPSTAIRS`` → ``walking upstairs``,
    ``STAND_TO_SIT`` → ``the stand-to-sit transition``."""
    words = label.strip().lower().split("_")
    if len(words) == 3 and words[1] == "to" and all(w.isalpha() for w in words):
        return f"the {words[0]}-to-{words[2]} transition"
    return " ".join(label.replace("_", " ").split()).lower()
