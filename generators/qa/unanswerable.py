"""Stage-1 unanswerable questions: about a channel or a time range the row does not hold."""

from __future__ import annotations

import math
from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import choose, secs, sensor_name

STAGE = 1

ABSENT_SENSORS = ("chest magnetometer", "heart-rate sensor", "left-ankle z-axis gyroscope",
                  "wrist x-axis accelerometer", "thermometer")
"""Sensors asked about when the window has no other channel (skipped if present)."""


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel asking about something outside it.

    ``kind`` is ``channel`` (another sensor: a different channel of the recording or a
    sensor the dataset lacks; the row's series holds only its own channel) or ``time``
    (a range that starts after the window ends).

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor`` (the row's channel), ``kind``, ``asked_sensor``,
        ``asked_t0``, ``asked_t1`` and ``end_s`` (where the window ends).
    """
    wid = ctx.window.window_id
    end = secs((ctx.values.shape[0] - 1) / ctx.sample_rate_hz)
    names = [sensor_name(c) for c in ctx.channels]
    for ch, own in zip(ctx.channels, names):
        others = [n for n in names if n != own] + [s for s in ABSENT_SENSORS if s not in names]
        kind = choose(ctx.seed, wid, f"unans/{ch.name}", ("channel", "time"))
        t0 = float(math.floor(end) + int(choose(ctx.seed, wid, f"unans-t/{ch.name}", "123")))
        yield Facts(channels=(ch.name,), values={
            "sensor": own, "kind": kind,
            "asked_sensor": choose(ctx.seed, wid, f"unans-ch/{ch.name}", others),
            "asked_t0": t0, "asked_t1": t0 + 1.0, "end_s": end,
        })
