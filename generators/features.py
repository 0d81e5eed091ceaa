"""Per-channel statistics and features of a window, computed with numpy."""

from __future__ import annotations

import numpy as np

from generators import trends
from generators.types import Channel, ChannelSummary


def basic_stats(values: np.ndarray) -> dict[str, float]:
    """Mean, population std, min, max, median and range of a 1-D series.

    Args:
        values: 1-D series.

    Returns:
        Statistic name → value (in the series' unit).
    """
    x = np.asarray(values, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    return {
        "mean": float(x.mean()),
        "std": float(x.std()),
        "min": lo,
        "max": hi,
        "median": float(np.median(x)),
        "range": hi - lo,
    }


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two series; 0.0 when either is constant."""
    a = np.asarray(a, dtype=np.float64) - np.mean(a)
    b = np.asarray(b, dtype=np.float64) - np.mean(b)
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def summarize(values: np.ndarray, sample_rate_hz: float, channel: Channel,
              trend_method: str = "sensorllm") -> ChannelSummary:
    """All facts for one channel of one window.

    Args:
        values: 1-D series of the window.
        sample_rate_hz: Sampling rate.
        channel: The channel's metadata.
        trend_method: Name in ``trends.TREND_METHODS``.

    Returns:
        The channel summary.
    """
    segs = trends.detect(values, sample_rate_hz, method=trend_method)
    return ChannelSummary(channel=channel, segments=tuple(segs), stats=basic_stats(values))
