"""Stage-2 activity QA: statistics, trends and correlations of all channels → activity."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import (STAT_DECIMALS, correlation_facts, humanize, same_sensor_pairs,
                                   secs, sensor_name, trend_overview)

STAGE = 2


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per window with every channel; none for a window spanning an activity
    change (its one label would name only the first part; ``transition`` describes it).

    Correlations are stated for each pair of axes of the same sensor (acc x–y, x–z, y–z,
    then gyro), with r rounded to two decimals and the strength word taken from the
    rounded value so text and number agree.

    Args:
        ctx: The window.

    Yields:
        Facts with ``n_channels``, ``n_samples``, ``duration_s``, ``sample_rate_hz``,
        ``channels`` (per channel: ``name``, ``sensor``, ``unit``, ``mean``, ``std`` and
        the trend overview), ``correlations`` (``a``, ``b``, ``r``, ``strength``,
        ``sign``, ``relation`` like "strong positive" or "negligible") and ``activity`` (humanized).
    """
    if ctx.window.next_activity is not None:
        return
    n = ctx.values.shape[0]
    channels = []
    for s in ctx.summaries:
        channels.append({
            "name": s.channel.name, "sensor": sensor_name(s.channel), "unit": s.channel.unit,
            "mean": round(float(s.stats["mean"]), STAT_DECIMALS),
            "std": round(float(s.stats["std"]), STAT_DECIMALS),
            **trend_overview(s),
        })
    correlations = []
    r = ctx.window_feature("correlation")["matrix"]
    for i, j in same_sensor_pairs(ctx.channels):
        correlations.append({"a": sensor_name(ctx.channels[i]), "b": sensor_name(ctx.channels[j]),
                             **correlation_facts(r[i][j])})
    yield Facts(channels=tuple(c.name for c in ctx.channels), values={
        "n_channels": len(channels),
        "n_samples": n,
        "duration_s": secs(n / ctx.sample_rate_hz),
        "sample_rate_hz": ctx.sample_rate_hz,
        "channels": channels,
        "correlations": correlations,
        "activity": humanize(ctx.window.activity),
    })
