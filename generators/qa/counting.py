"""Stage-1 counting: how many segments of one direction, and mean crossings."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import choose, mean_crossings, sensor_name
from generators.types import DIRECTIONS

STAGE = 1


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel counting the segments of a direction chosen from the seed.

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``dir``, ``n`` (segments of ``dir``, may be 0),
        ``n_segments`` and ``n_crossings`` (times the series crosses its mean).
    """
    for i, s in enumerate(ctx.summaries):
        d = choose(ctx.seed, ctx.window.window_id, f"count/{s.channel.name}", DIRECTIONS)
        yield Facts(channels=(s.channel.name,), values={
            "sensor": sensor_name(s.channel), "dir": d,
            "n": sum(1 for g in s.segments if g.direction == d),
            "n_segments": len(s.segments),
            "n_crossings": mean_crossings(ctx.values[:, i]),
        })
