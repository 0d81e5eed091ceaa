"""Stage-1 trend summary: span, distinct trends, changes, time per trend, overall trend."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import sensor_name, trend_overview

STAGE = 1


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel: the seed's summary facts (see ``trend_overview``).

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``unit``, ``start_s``, ``end_s``, ``n_trends``,
        ``n_changes``, ``times`` and ``overall``.
    """
    for summary in ctx.summaries:
        ch = summary.channel
        values = {"sensor": sensor_name(ch), "unit": ch.unit,
                  **trend_overview(summary)}
        yield Facts(channels=(ch.name,), values=values)
