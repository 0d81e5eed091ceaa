"""Check a trend analysis: every "t0 to t1: trend" line, then the count per trend."""

from __future__ import annotations

from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, one, read_row
from validation.checks._trends import segments


def _stated(row: Row) -> tuple[list[tuple], dict[str, int]]:
    """Stated ``[(t0, t1, direction)]`` and ``{direction: count}`` of the answer."""
    _, a = read_row(row)
    segs = [(one(s, "s.t0"), one(s, "s.t1"), one(s, "s.dir"))
            for loop in a.get("segments", []) for s in loop]
    counts: dict[str, int] = {}
    for loop in a.get("counts", []):
        for c in loop:
            d = one(c, "c.dir")
            if d in counts:
                raise Unreadable(f"count of {d} stated twice")
            counts[d] = one(c, "c.n")
    return segs, counts


def check(row: Row) -> Iterator[Failure]:
    """Compare the stated segments and counts with the channel's recomputed trends."""
    try:
        said, counts = _stated(row)
    except Unreadable as exc:
        yield Failure("trend_analysis.structure", str(exc))
        return
    segs = segments(row, 0)
    if isinstance(segs, Failure):
        yield segs
        return
    truth = list(zip(segs.times(), segs.directions))
    if len(said) != len(truth):
        yield Failure("trend_analysis.count", f"text lists {len(said)} segments, series has "
                                              f"{len(truth)}")
    for k, ((t0, t1, d), ((a, b), e)) in enumerate(zip(said, truth)):
        if not (t0.agrees(a) and t1.agrees(b)):
            yield Failure("trend_analysis.times", f"segment {k + 1}: text {t0}–{t1}s, series "
                                                  f"{a:.4f}–{b:.4f}s")
            return
        if d != e:
            yield Failure("trend_analysis.direction", f"segment {k + 1} ({t0}–{t1}s): text {d}, "
                                                      f"series {e}")
            return
    # Counts may be left out for a single trend (the count is then the segment list).
    expected = segs.counts()
    if counts != expected and (counts or len(expected) > 1):
        yield Failure("trend_analysis.count", f"text counts {counts}, series {expected}")


def trend_channels(row: Row) -> range:
    """Channels whose trend segments :func:`check` reads (``semantic.check_table`` computes
    them beforehand, batched with the table's other rows)."""
    return range(1)
