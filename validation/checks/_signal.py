"""Facts recomputed from a row's stored series, independently of the generator's code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def overall(x: np.ndarray) -> str:
    """Direction from the first to the last sample (the sum of all differences)."""
    delta = float(np.float64(x[-1]) - np.float64(x[0]))
    return "up" if delta > 0 else "down" if delta < 0 else "steady"


def mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation in float64."""
    x = np.asarray(x, dtype=np.float64)
    m = float(np.mean(x))
    return m, float(np.sqrt(np.mean((x - m) ** 2)))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of two series; 0.0 when either is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


CORRELATION_WORDS = ((0.7, "strong"), (0.4, "moderate"), (0.2, "weak"), (0.0, "negligible"))
"""The documented strength scale: |r| (as rounded in the text) at or above each limit."""


def correlation_relation(r: float) -> str:
    """``negligible`` or ``<strength> <positive|negative>`` for an r as the text rounds it."""
    strength = next(word for limit, word in CORRELATION_WORDS if abs(r) >= limit)
    if strength == "negligible":
        return strength
    return f"{strength} {'positive' if r > 0 else 'negative'}"


def activity_words(label: str) -> str:
    """An activity label as the text names it: ``WALKING_UPSTAIRS`` → ``walking upstairs``."""
    return " ".join(label.replace("_", " ").split()).lower()
