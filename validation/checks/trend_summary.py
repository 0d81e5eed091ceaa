"""Check a trend summary: span, trend and segment counts, time per trend, overall trend."""

from __future__ import annotations

import re
from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._read import compiled, compiler, match_at, skip_space
from validation.checks._trends import compare_times, segments

QA_TYPE = "trend_summary"


def _one(values: dict[str, list], field: str) -> object:
    """The value of a field stated (possibly twice, then it must agree) in one phrase."""
    found = values[field]
    if any(v != found[0] for v in found[1:]):
        raise ValueError(f"{field} stated inconsistently: {found}")
    return found[0]


def read(answer: str) -> dict[str, object] | str:
    """Parse the answer along the pack's answer structure.

    Structure: span sentence, count sentence, time lead, time items joined by connectors
    (the last by "and"), a period, then optionally the overall sentence.

    Returns:
        Stated facts (``start_s``, ``end_s``, ``n_trends``, ``n_changes``, ``times``,
        ``overall``), or a message saying where the text departs from the structure.
    """
    dirs = compiler(QA_TYPE).directions
    got = match_at(compiled(QA_TYPE, "span"), answer, 0, dirs)
    if got is None:
        return "no span sentence at the start"
    facts: dict[str, object] = {"start_s": _one(got[0], "start_s"), "end_s": _one(got[0], "end_s")}
    pos = skip_space(answer, got[1])
    got = (match_at(compiled(QA_TYPE, "trend_count"), answer, pos, dirs)
           or match_at(compiled(QA_TYPE, "trend_count_one"), answer, pos, dirs))
    if got is None:
        return f"no trend-count sentence at character {pos}"
    for field in ("n_trends", "n_changes"):
        if field in got[0]:
            facts[field] = _one(got[0], field)
    facts.setdefault("n_trends", 1)  # "a single trend" phrasings state it in words only
    pos = skip_space(answer, got[1])
    got = match_at(compiled(QA_TYPE, "times_lead"), answer, pos, dirs)
    if got is None:
        return f"no lead-in to the times at character {pos}"
    pos = skip_space(answer, got[1])
    items = compiled(QA_TYPE, "time_item")
    connector = compiler(QA_TYPE).nested("connector")
    times = []
    sep = re.compile(rf"(?:,\s+{connector}|,?\s+and)\s+", re.I)
    while True:
        got = match_at(items, answer, pos, dirs)
        if got is None:
            return f"no time item at character {pos}"
        times.append((_one(got[0], "t.dir"), _one(got[0], "t.seconds")))
        pos = got[1]
        m = sep.match(answer, pos)
        if not m:
            break
        pos = m.end()
    if not answer.startswith(".", pos):
        return f"the list of times does not end with a period at character {pos}"
    pos = skip_space(answer, pos + 1)
    facts["times"] = times
    facts["overall"] = None
    if pos < len(answer):
        got = match_at(compiled(QA_TYPE, "overall_line"), answer, pos, dirs, full=True)
        if got is None:
            return f"unreadable text after the times at character {pos}: {answer[pos:pos + 40]!r}"
        facts["overall"] = _one(got[0], "overall")
    return facts


def check(row: Row) -> Iterator[Failure]:
    """Compare the stated summary with the channel's recomputed trends."""
    try:
        stated = read(row.answer)
    except ValueError as exc:
        yield Failure(f"{QA_TYPE}.structure", str(exc))
        return
    if isinstance(stated, str):
        yield Failure(f"{QA_TYPE}.structure", stated)
        return
    segs = segments(row, 0)
    if isinstance(segs, Failure):
        yield segs
        return
    times = segs.times()
    if not stated["start_s"].agrees(times[0][0]) or not stated["end_s"].agrees(times[-1][1]):
        yield Failure(f"{QA_TYPE}.span", f"text spans {stated['start_s']}–{stated['end_s']}s, "
                                         f"series {times[0][0]:.4f}–{times[-1][1]:.4f}s")
    n_trends, n_segments = len(set(segs.directions)), len(segs.directions)
    if stated["n_trends"] != n_trends:
        yield Failure(f"{QA_TYPE}.count", f"text says {stated['n_trends']} distinct trends, "
                                          f"series has {n_trends}")
    if "n_changes" in stated and stated["n_changes"] != n_segments:
        yield Failure(f"{QA_TYPE}.count", f"text says {stated['n_changes']} segments, "
                                          f"series has {n_segments}")
    yield from compare_times(f"{QA_TYPE}.times", stated["times"], segs)
    expected_overall = segs.overall if n_segments > 1 else None
    if stated["overall"] != expected_overall:
        yield Failure(f"{QA_TYPE}.overall", f"text says overall {stated['overall']}, "
                                            f"series gives {expected_overall}")
