"""Stage-1 amount and rate of change: start and end value, net change, mean rate."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import secs, sensor_name, val

STAGE = 1


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel: how much the series changed from its first to last sample.

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``unit``, ``start_s``, ``end_s``, ``start_value``,
        ``end_value`` (rounded), ``change`` (end − start of the rounded values),
        ``abs_change``, ``rate_per_s`` (the unrounded end − start over the duration:
        true of the samples, not of the rounded ends) and ``direction`` (sign of the
        change).
    """
    n = ctx.values.shape[0]
    duration = (n - 1) / ctx.sample_rate_hz
    for i, ch in enumerate(ctx.channels):
        x0, x1 = float(ctx.values[0, i]), float(ctx.values[-1, i])
        first, last = val(x0), val(x1)
        change = val(last - first)  # of the stated (rounded) ends, so the text adds up
        yield Facts(channels=(ch.name,), values={
            "sensor": sensor_name(ch), "unit": ch.unit,
            "start_s": 0.0, "end_s": secs(duration),
            "start_value": first, "end_value": last,
            "change": change, "abs_change": abs(change),
            "rate_per_s": val((x1 - x0) / duration),
            "direction": "up" if change > 0 else "down" if change < 0 else "steady",
        })
