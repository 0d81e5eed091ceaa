"""Check a trend summary: span, trend and segment counts, time per trend, overall trend."""

from __future__ import annotations

from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, one, read_row
from validation.checks._trends import compare_overview, segments


def check(row: Row) -> Iterator[Failure]:
    """Compare the stated summary with the channel's recomputed trends."""
    try:
        _, stated = read_row(row)
        start, end = one(stated, "start_s"), one(stated, "end_s")
    except Unreadable as exc:
        yield Failure("trend_summary.structure", str(exc))
        return
    segs = segments(row, 0)
    if isinstance(segs, Failure):
        yield segs
        return
    last = (row.series.shape[1] - 1) / row.sample_rate_hz
    if not start.agrees(0.0) or not end.agrees(last):
        yield Failure("trend_summary.span", f"text spans {start}–{end}s, series "
                                            f"0.00–{last:.4f}s")
    try:
        yield from compare_overview("trend_summary", stated, segs)
    except Unreadable as exc:
        yield Failure("trend_summary.structure", str(exc))


def trend_channels(row: Row) -> range:
    """Channels whose trend segments :func:`check` reads (``semantic.check_table`` computes
    them beforehand, batched with the table's other rows)."""
    return range(1)
