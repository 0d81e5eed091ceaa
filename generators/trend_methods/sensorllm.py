"""The seed notebook's trend method, reproduced exactly.

The direction of every sample-to-sample difference (equal values = steady); runs of
equal direction are merged. A segment covering differences ``a..b`` spans samples ``a``
to ``b + 1``, so neighbouring segments share their boundary sample. Times are seconds
from the window start; the seed rounds them to two decimals when phrasing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from generators.trend_methods import DIRECTION_OF_SIGN
from generators.types import TrendSegment


@dataclass(frozen=True)
class SensorLLMParams:
    """The seed's method has no parameters."""


PARAMS = SensorLLMParams


def segment(series: Sequence[np.ndarray], sample_rate_hz: float,
            params: SensorLLMParams = SensorLLMParams()) -> list[list[TrendSegment]]:
    """The seed's segments of each series.

    Args:
        series: 1-D float64 series of at least two samples each.
        sample_rate_hz: Sampling rate.
        params: No parameters.

    Returns:
        One list of merged segments per series, in time order.
    """
    return [_segment_one(x, sample_rate_hz) for x in series]


def steady_rel(params: SensorLLMParams) -> float:
    """0: the overall direction is the bare sign of the summed change, as in the seed."""
    return 0.0


def _segment_one(x: np.ndarray, sample_rate_hz: float) -> list[TrendSegment]:
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"need a 1-D series of at least 2 samples, got shape {x.shape}")
    sign = np.sign(np.diff(x)).astype(np.int8)
    change = np.flatnonzero(sign[1:] != sign[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [sign.size]))  # one past the last difference
    out = []
    for a, b, s in zip(starts.tolist(), ends.tolist(), sign[starts].tolist()):
        t0, t1 = a / sample_rate_hz, b / sample_rate_hz
        v0, v1 = float(x[a]), float(x[b])
        out.append(TrendSegment(t0, t1, v0, v1, DIRECTION_OF_SIGN[s],
                                (v1 - v0) / (t1 - t0) if t1 > t0 else 0.0))
    return out
