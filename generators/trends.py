"""Trend segmentation of series into up/down/steady segments: the API over the methods.

The methods are the modules of ``generators/trend_methods/`` (``TREND_METHODS``, the
``TrendMethod`` contract); every function here takes a method's name and its parameters
as keywords (fields of the method's ``PARAMS``), and an unknown name of either is an
error listing the known ones.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np

from generators.trend_methods import TREND_METHODS
from generators.types import TrendSegment

DEFAULT_METHOD = "robust"


def _params(method: str, params: Mapping[str, object]) -> object:
    """The method's ``PARAMS`` with ``params`` overriding its defaults."""
    cls = TREND_METHODS[method].PARAMS  # unknown methods fail here, listing the known ones
    known = sorted(f.name for f in fields(cls))
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise TypeError(f"unknown {method} parameter(s) {unknown}; known: {known}")
    return cls(**params)


def trend_params(method: str, **params: object) -> dict[str, object]:
    """The full parameter set of a method, defaults included, for provenance.

    Args:
        method: A name in ``TREND_METHODS``.
        **params: Parameters overriding the defaults.

    Returns:
        A JSON-serialisable dict (``{}`` for methods without parameters).
    """
    return asdict(_params(method, params))


def overall_direction(segments: Sequence[TrendSegment], steady_rel: float = 0.0) -> str:
    """Sign of the summed change (end − start value) of the rising and falling segments,
    or ``steady`` when that net change is below ``steady_rel`` × the range the segments'
    values span.

    The segments' own values, not the raw first and last samples, and steady segments
    count as no change: a noisy end sample or the drift of a steady stretch cannot make
    a window that falls and then holds "rise overall". With ``steady_rel`` = 0 and the
    seed's segments (raw samples, steady = no change) this is the seed's sign of the sum
    of all sample-to-sample differences.

    Args:
        segments: One window's segments in time order.
        steady_rel: Net changes below this fraction of the segments' value range are
            steady: rises and falls that cancel out, as a person reading the plot sees.

    Returns:
        ``up``, ``down`` or ``steady``.
    """
    net = sum(float(s.end_value) - float(s.start_value) for s in segments
              if s.direction != "steady")
    values = [float(v) for s in segments for v in (s.start_value, s.end_value)]
    if values and abs(net) < steady_rel * (max(values) - min(values)):
        return "steady"
    return "up" if net > 0 else "down" if net < 0 else "steady"


def overall(segments: Sequence[TrendSegment], method: str = DEFAULT_METHOD,
            **params: object) -> str:
    """The overall direction of a window segmented by ``method``: ``overall_direction``
    with the method's ``steady_rel``.

    Args:
        segments: The window's segments.
        method: The trend method that made them.
        **params: Its parameters.

    Returns:
        ``up``, ``down`` or ``steady`` (``overall_direction``).
    """
    return overall_direction(segments, _overall_rel(method, tuple(sorted(params.items()))))


@lru_cache(maxsize=64)
def _overall_rel(method: str, params: tuple) -> float:
    """The method's ``steady_rel`` of ``overall`` (cached: summaries ask once per
    channel-window)."""
    return TREND_METHODS[method].steady_rel(_params(method, dict(params)))


def detect(values: np.ndarray, sample_rate_hz: float, method: str = DEFAULT_METHOD,
           **params: object) -> list[TrendSegment]:
    """Segment one series into trends.

    Args:
        values: 1-D series of at least two samples.
        sample_rate_hz: Sampling rate.
        method: A name in ``TREND_METHODS``.
        **params: Method parameters.

    Returns:
        Segments in time order covering the whole series.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"need a 1-D series of at least 2 samples, got shape {x.shape}")
    return detect_batch([x], sample_rate_hz, method, **params)[0]


def detect_batch(windows: Sequence[np.ndarray] | np.ndarray, sample_rate_hz: float,
                 method: str = DEFAULT_METHOD, **params: object) -> list[list[TrendSegment]]:
    """Segment many series at once (each gets the segments it would get alone).

    Args:
        windows: A 2-D array (rows × samples) or a sequence of 1-D series of any lengths.
        sample_rate_hz: Sampling rate shared by all series.
        method: A name in ``TREND_METHODS``.
        **params: Method parameters.

    Returns:
        One segment list per series, in input order.
    """
    p = _params(method, params)
    series = [np.asarray(w, dtype=np.float64) for w in windows]
    for i, s in enumerate(series):
        if s.ndim != 1:
            raise ValueError(f"series {i} is not 1-D (shape {s.shape})")
    return TREND_METHODS[method].segment(series, sample_rate_hz, p) if series else []


def group_by_length(series: Sequence[np.ndarray]) -> list[tuple[list[int], np.ndarray]]:
    """Stack 1-D series of equal length into 2-D batches.

    Args:
        series: 1-D arrays.

    Returns:
        ``(input indices, rows × samples array)`` per distinct length.
    """
    by_len: dict[int, list[int]] = {}
    for i, s in enumerate(series):
        if s.ndim != 1:
            raise ValueError(f"series {i} is not 1-D (shape {s.shape})")
        by_len.setdefault(s.shape[0], []).append(i)
    return [(idx, np.stack([series[i] for i in idx])) for idx in by_len.values()]
