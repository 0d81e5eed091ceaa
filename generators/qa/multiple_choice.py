"""Stage-1 multiple choice: one true option among distractors computed from the signal."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._claims import CLAIM_KINDS, claim
from generators.qa._common import choose, sensor_name
from generators.seeding import stable_index

LETTERS = "ABCD"
STAGE = 1


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per channel: a claim kind chosen from the seed, 3–4 shuffled options.

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``unit``, ``kind`` (see ``CLAIM_KINDS``), ``options``
        (``letter``, ``value``), ``answer_letter`` and ``answer_value``. Channels with
        fewer than two distinct distractors are skipped.
    """
    wid = ctx.window.window_id
    for i, ch in enumerate(ctx.channels):
        kind = choose(ctx.seed, wid, f"mc/{ch.name}", CLAIM_KINDS)
        truth, wrong = claim(ctx, i, kind)
        if len(wrong) < 2:
            continue
        values = sorted([truth, *wrong],
                        key=lambda v: stable_index(ctx.seed, f"{wid}/{ch.name}", f"mc/{v}", 10**9))
        options = [{"letter": LETTERS[k], "value": v} for k, v in enumerate(values)]
        letter = LETTERS[values.index(truth)]
        yield Facts(channels=(ch.name,), values={
            "sensor": sensor_name(ch), "unit": ch.unit, "kind": kind, "options": options,
            "answer_letter": letter, "answer_value": truth,
        })
