"""Stage-2 transition windows: both activities and when the change happened."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import humanize, secs

STAGE = 2


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row for a window whose ``next_activity``/``change_index`` are set, else none.

    Args:
        ctx: The window.

    Yields:
        Facts with ``first``, ``second`` (humanized activities), ``change_s`` (from the
        window start), ``before_s``/``after_s`` (time in each) and ``duration_s``.
    """
    w = ctx.window
    if w.next_activity is None or w.change_index is None:
        return
    rate, n = ctx.sample_rate_hz, ctx.values.shape[0]
    yield Facts(channels=tuple(c.name for c in ctx.channels), values={
        "first": humanize(w.activity), "second": humanize(w.next_activity),
        "change_s": secs(w.change_index / rate), "before_s": secs(w.change_index / rate),
        "after_s": secs((n - w.change_index) / rate), "duration_s": secs(n / rate),
    })
