"""Stage-2 channel comparison: which axis of each sensor moves most, which pair correlates most."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import (STAT_DECIMALS, correlation_facts, group_name,
                                   same_sensor_pairs, sensor_groups, sensor_name)

STAGE = 2


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per window with at least one multi-axis sensor.

    "Moves most" is the largest standard deviation (rounded as stated) within a sensor;
    when the two largest are equal, ``tie`` is set and the text names both. "Most
    correlated" is the same-sensor pair with the largest |r| (r rounded to two decimals).

    Args:
        ctx: The window.

    Yields:
        Facts with ``groups`` (per sensor: ``sensor``, ``axis``, ``std``, ``unit``,
        ``runner_up``, ``runner_up_std``, ``tie``) and ``top_pair`` (``a``, ``b``, ``r``,
        ``strength``, ``sign``, ``relation``).
    """
    groups = []
    for idx in sensor_groups(ctx.channels):
        stds = [round(float(ctx.summaries[i].stats["std"]), STAT_DECIMALS) for i in idx]
        order = sorted(range(len(idx)), key=lambda k: -stds[k])
        top, second = idx[order[0]], idx[order[1]]
        groups.append({"sensor": group_name(ctx.channels[top]), "axis": ctx.channels[top].axis,
                       "std": stds[order[0]], "unit": ctx.channels[top].unit,
                       "runner_up": ctx.channels[second].axis, "runner_up_std": stds[order[1]],
                       "tie": stds[order[0]] == stds[order[1]]})
    if not groups:
        return
    r = ctx.window_feature("correlation")["matrix"]
    pairs = [(correlation_facts(r[i][j]), i, j)
             for i, j in same_sensor_pairs(ctx.channels)]
    corr, i, j = max(pairs, key=lambda p: abs(p[0]["r"]))
    yield Facts(channels=tuple(c.name for c in ctx.channels), values={
        "groups": groups,
        "top_pair": {"a": sensor_name(ctx.channels[i]), "b": sensor_name(ctx.channels[j]), **corr},
        "n_channels": len(ctx.channels),
    })
