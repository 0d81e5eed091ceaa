"""Stage-1 true/false: a statement about the channel that is true or false by the seed."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._claims import CLAIM_KINDS, claim
from generators.qa._common import choose, sensor_name

STAGE = 1


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel: the claim states the truth or its first distractor.

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``unit``, ``kind`` (see ``CLAIM_KINDS``),
        ``claimed`` (the value the statement makes), ``actual`` (the true value) and
        ``is_true``.
    """
    wid = ctx.window.window_id
    for i, ch in enumerate(ctx.channels):
        kind = choose(ctx.seed, wid, f"tf/{ch.name}", CLAIM_KINDS)
        truth, wrong = claim(ctx, i, kind)
        is_true = not wrong or choose(ctx.seed, wid, f"tf-truth/{ch.name}", ("yes", "no")) == "yes"
        yield Facts(channels=(ch.name,), values={
            "sensor": sensor_name(ch), "unit": ch.unit, "kind": kind,
            "claimed": truth if is_true else wrong[0], "actual": truth, "is_true": is_true,
        })
