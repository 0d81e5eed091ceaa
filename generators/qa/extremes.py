"""Stage-1 extremes and peaks: highest and lowest value and when, range, prominent peaks."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from generators.qa import Facts, QAContext
from generators.qa._common import secs, sensor_name, val

STAGE = 1


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel with its extremes (first occurrence) and peak count.

    The peak count is the ``peaks`` feature (prominence ≥ max(8 × noise, 0.2 × range):
    a noise floor, so that sensor noise alone gives none).

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``unit``, ``max_value``, ``max_t``, ``min_value``,
        ``min_t``, ``range`` and ``n_peaks``.
    """
    rate = ctx.sample_rate_hz
    for i, s in enumerate(ctx.summaries):
        x = ctx.values[:, i].astype(np.float64)
        hi, lo = int(np.argmax(x)), int(np.argmin(x))
        yield Facts(channels=(s.channel.name,), values={
            "sensor": sensor_name(s.channel), "unit": s.channel.unit,
            "max_value": val(x[hi]), "max_t": secs(hi / rate),
            "min_value": val(x[lo]), "min_t": secs(lo / rate),
            "range": val(x[hi] - x[lo]),
            "n_peaks": int(s.features["peaks"]["count"]),
        })
