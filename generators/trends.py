"""Trend segmentation of a series into up/down/steady segments, by registered method."""

from __future__ import annotations

from typing import Callable

import numpy as np

from generators.registry import Registry
from generators.types import TrendSegment

TrendMethod = Callable[..., list[TrendSegment]]
TREND_METHODS: Registry[TrendMethod] = Registry("trend method")

_DIRECTION_OF_SIGN = {1: "up", -1: "down", 0: "steady"}


def _segments_from_runs(values: np.ndarray, sample_rate_hz: float, starts: np.ndarray,
                        ends: np.ndarray, directions: list[str]) -> list[TrendSegment]:
    """Build segments from sample-index boundaries (``ends`` inclusive sample index)."""
    out = []
    for a, b, d in zip(starts.tolist(), ends.tolist(), directions):
        t0, t1 = a / sample_rate_hz, b / sample_rate_hz
        v0, v1 = float(values[a]), float(values[b])
        out.append(TrendSegment(t0, t1, v0, v1, d, (v1 - v0) / (t1 - t0) if t1 > t0 else 0.0))
    return out


@TREND_METHODS.register("sensorllm")
def sensorllm(values: np.ndarray, sample_rate_hz: float) -> list[TrendSegment]:
    """The seed notebook's trends, reproduced exactly.

    The direction of every sample-to-sample difference (equal values = steady); runs of
    equal direction are merged. A segment covering differences ``a..b`` spans samples
    ``a`` to ``b + 1``, so neighbouring segments share their boundary sample. Times are
    seconds from the window start; the seed rounds them to two decimals when phrasing.

    Args:
        values: 1-D series of at least two samples.
        sample_rate_hz: Sampling rate.

    Returns:
        The merged segments in time order.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"need a 1-D series of at least 2 samples, got shape {x.shape}")
    sign = np.sign(np.diff(x)).astype(np.int8)
    change = np.flatnonzero(sign[1:] != sign[:-1]) + 1
    run_starts = np.concatenate(([0], change))
    run_ends = np.concatenate((change, [sign.size]))  # one past the last difference
    directions = [_DIRECTION_OF_SIGN[int(s)] for s in sign[run_starts]]
    return _segments_from_runs(x, sample_rate_hz, run_starts, run_ends, directions)


def detect(values: np.ndarray, sample_rate_hz: float, method: str = "sensorllm",
           **params: object) -> list[TrendSegment]:
    """Segment one series into trends.

    Args:
        values: 1-D series.
        sample_rate_hz: Sampling rate.
        method: A name in ``TREND_METHODS``.
        **params: Method parameters.

    Returns:
        Segments in time order covering the whole series.
    """
    return TREND_METHODS[method](values, sample_rate_hz, **params)
