"""Checkable claims about one channel, with distractors computed from the same signal."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from generators.qa import QAContext
from generators.qa._common import secs, val
from generators.types import DIRECTIONS

CLAIM_KINDS = ("overall", "n_segments", "max_value", "max_time")
"""What a claim is about: overall direction, number of segments, maximum, time of maximum."""


def _distinct(truth: object, candidates: Sequence[object], limit: int = 3) -> list[object]:
    """Candidates that differ from the truth and from each other, in order, at most ``limit``."""
    out: list[object] = []
    for c in candidates:
        if c != truth and c not in out:
            out.append(c)
    return out[:limit]


def claim(ctx: QAContext, i: int, kind: str) -> tuple[object, list[object]]:
    """The true value of one claim about channel ``i`` and up to three false values.

    Distractors come from the signal itself (other statistics, other times, counts of
    one direction, neighbouring counts), rounded as the text shows them and never equal
    to the truth, so exactly one option is true.

    Args:
        ctx: The window.
        i: Channel index.
        kind: One of ``CLAIM_KINDS``.

    Returns:
        ``(truth, distractors)``.
    """
    x = ctx.values[:, i].astype(np.float64)
    segs = ctx.summaries[i].segments
    rate = ctx.sample_rate_hz
    if kind == "overall":
        truth = ctx.summaries[i].overall
        return truth, [d for d in DIRECTIONS if d != truth]
    if kind == "n_segments":
        n = len(segs)
        per_dir = [sum(1 for s in segs if s.direction == d) for d in DIRECTIONS]
        return n, _distinct(n, [c for c in [*per_dir, n + 1, n + 2, n - 1, n + 3] if c > 0])
    if kind == "max_value":
        truth = val(x.max())
        spread = float(x.max() - x.min()) or 1.0
        return truth, _distinct(truth, [val(x.min()), val(x.mean()), val(np.median(x)),
                                        val(x.max() + spread / 2), val(x.min() - spread / 2)])
    if kind == "max_time":
        end = (x.size - 1) / rate
        truth = secs(int(np.argmax(x)) / rate)
        # A maximum reached more than once: every time it is reached is true, so none of
        # them may be offered as a wrong option.
        also_true = {secs(j / rate) for j in np.flatnonzero(x == x.max())}
        candidates = [secs(int(np.argmin(x)) / rate), secs(end / 2), secs(0.0), secs(end),
                      secs(end / 4), secs(3 * end / 4)]
        return truth, _distinct(truth, [c for c in candidates if c not in also_true])
    raise ValueError(f"unknown claim kind {kind!r}; known: {list(CLAIM_KINDS)}")
