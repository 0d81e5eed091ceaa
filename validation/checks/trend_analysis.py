"""Check a trend analysis: every "t0 to t1: trend" line, then the count per trend."""

from __future__ import annotations

from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._read import compiled, compiler, match_at
from validation.checks._trends import segments

QA_TYPE = "trend_analysis"


def read(answer: str) -> tuple[list[tuple], dict[str, int]] | str:
    """Parse the answer: segment lines first, then count lines.

    Returns:
        ``([(t0, t1, direction), …], {direction: count})`` as stated, or a message
        naming the first line that fits neither phrase list.
    """
    dirs = compiler(QA_TYPE).directions
    seg_phrases, count_phrases = compiled(QA_TYPE, "segment_line"), compiled(QA_TYPE, "count_line")
    segs: list[tuple] = []
    counts: dict[str, int] = {}
    for i, line in enumerate(answer.split("\n")):
        got = None if counts else match_at(seg_phrases, line, 0, dirs, full=True)
        if got is not None:
            v = got[0]
            segs.append((v["s.t0"][0], v["s.t1"][0], v["s.dir"][0]))
            continue
        got = match_at(count_phrases, line, 0, dirs, full=True)
        if got is None:
            return f"line {i + 1} is neither a segment nor a count line: {line[:60]!r}"
        d, n = got[0]["c.dir"][0], got[0]["c.n"][0]
        if d in counts or not isinstance(n, int):
            return f"line {i + 1}: count repeated or not an integer: {line[:60]!r}"
        counts[d] = n
    return segs, counts


def check(row: Row) -> Iterator[Failure]:
    """Compare the stated segments and counts with the channel's recomputed trends."""
    stated = read(row.answer)
    if isinstance(stated, str):
        yield Failure(f"{QA_TYPE}.structure", stated)
        return
    said, counts = stated
    segs = segments(row, 0)
    if isinstance(segs, Failure):
        yield segs
        return
    truth = list(zip(segs.times(), segs.directions))
    if len(said) != len(truth):
        yield Failure(f"{QA_TYPE}.count", f"text lists {len(said)} segments, series has "
                                          f"{len(truth)}")
    for k, ((t0, t1, d), ((a, b), e)) in enumerate(zip(said, truth)):
        if not (t0.agrees(a) and t1.agrees(b)):
            yield Failure(f"{QA_TYPE}.times", f"segment {k + 1}: text {t0}–{t1}s, series "
                                              f"{a:.4f}–{b:.4f}s")
            return
        if d != e:
            yield Failure(f"{QA_TYPE}.direction", f"segment {k + 1} ({t0}–{t1}s): text {d}, "
                                                  f"series {e}")
            return
    expected = segs.counts() if len(segs.counts()) > 1 else {}
    if counts != expected:
        yield Failure(f"{QA_TYPE}.count", f"text counts {counts}, series {expected}")
