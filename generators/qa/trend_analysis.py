"""Stage-1 trend analysis: one "t0 to t1: direction" line per segment, then counts."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import count_per_direction, segment_facts, sensor_name

STAGE = 1


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel listing its trend segments.

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``start_s``, ``end_s``, ``segments`` (``t0``, ``t1``,
        ``dir``), ``counts`` (``dir``, ``n``; most frequent first) and ``n_trends``.
    """
    for summary in ctx.summaries:
        segs = segment_facts(summary.segments)
        counts = count_per_direction(summary.segments)
        yield Facts(channels=(summary.channel.name,), values={
            "sensor": sensor_name(summary.channel),
            "start_s": segs[0]["t0"],
            "end_s": segs[-1]["t1"],
            "segments": segs,
            "counts": counts,
            "n_trends": len(counts),
        })
