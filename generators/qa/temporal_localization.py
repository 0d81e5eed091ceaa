"""Stage-1 temporal localization: when the steepest rise or fall happens."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import choose, secs, sensor_name, val

STAGE = 1


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel that has a rise or a fall.

    The target (steepest rise or steepest fall) is chosen from (seed, window, channel);
    when the channel has no segment of that direction, the other is asked. The steepest
    segment is the one with the largest absolute slope (first one on ties).

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``unit``, ``target`` (``up``/``down``), ``t0``, ``t1``,
        ``change`` (end − start value of the segment) and ``slope_per_s``.
    """
    for s in ctx.summaries:
        wanted = choose(ctx.seed, ctx.window.window_id, f"localize/{s.channel.name}",
                        ("up", "down"))
        for target in (wanted, "down" if wanted == "up" else "up"):
            segs = [g for g in s.segments if g.direction == target]
            if segs:
                break
        else:
            continue  # a flat channel has neither
        g = max(segs, key=lambda g: abs(g.slope_per_s))
        yield Facts(channels=(s.channel.name,), values={
            "sensor": sensor_name(s.channel), "unit": s.channel.unit, "target": target,
            "t0": secs(g.start_s), "t1": secs(g.end_s),
            "change": val(g.end_value - g.start_value), "slope_per_s": val(g.slope_per_s),
        })
