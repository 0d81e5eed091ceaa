"""Trend methods: one module per method, keyed by file name in ``TREND_METHODS``.

A method module (the :class:`generators.contracts.TrendMethod` contract) defines
``PARAMS`` (its frozen parameters dataclass), ``segment(series, sample_rate_hz, params)``
(the segments of a batch of series) and ``steady_rel(params)`` (what ``trends.overall``
needs). ``generators.trends`` is the API over them (``detect``, ``detect_batch``,
``overall``, ``trend_params``).
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

from generators.contracts import TrendMethod
from generators.registry import Registry

TREND_METHODS: Registry[TrendMethod] = Registry("trend method")
"""Trend method name (= module name in this package) → its module."""

DIRECTION_OF_SIGN = {1: "up", -1: "down", 0: "steady"}
"""Sign of a segment's change → its direction."""


def estimate_noise(values: np.ndarray) -> np.ndarray:
    """Robust white-noise level of each row: the MAD of second differences.

    A second difference of white noise of std σ has std σ·√6 and a straight line has
    none, so ``1.4826 · median|Δ²x| / √6`` estimates σ and ignores the few corners of a
    piecewise-linear signal. Rows whose median is zero (quantised, mostly flat) fall back
    to the root mean square of the second differences.

    Args:
        values: 1-D series or 2-D batch (rows × samples).

    Returns:
        One noise level per row (a 0-d array for a 1-D input), in the series' unit.
    """
    x = np.asarray(values, dtype=np.float64)
    d2 = np.diff(x, 2, axis=-1)
    if d2.shape[-1] == 0:
        return np.zeros(x.shape[:-1])
    mad = np.asarray(1.4826 * np.median(np.abs(d2), axis=-1) / np.sqrt(6.0))  # 0-d for 1-D
    flat = ~(mad > 0)
    if flat.any():  # the fallback only for the rows that need it (most have a MAD)
        d2 = d2[flat]
        mad[flat] = np.sqrt(np.mean(d2 * d2, axis=-1) / 6.0)
    return mad


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            TREND_METHODS.add(info.name, importlib.import_module(f"{__name__}.{info.name}"))


_discover()
