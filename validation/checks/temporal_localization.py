"""Check a temporal-localization row: the stated interval is the steepest rise or fall."""

from __future__ import annotations

from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, compiler, one, read_row, unit_failures, value
from validation.checks._trends import segments


def _events(row: Row, text: str) -> set[str]:
    """Directions whose ``event_up``/``event_down`` words a text uses."""
    c = compiler(row)
    return {d for d in ("up", "down") if c.any_of(f"event_{d}").search(text)}


def _target(row: Row) -> str:
    """The asked direction: the one kind of event the question names."""
    found = _events(row, row.question)
    if len(found) != 1:
        raise Unreadable(f"question names {len(found)} kinds of event")
    return found.pop()


def check(row: Row) -> Iterator[Failure]:
    """The interval is the steepest segment of the asked direction (largest |slope|; on a
    tie, to float rounding, any of the tied ones); its change and slope are that
    segment's, within the text's rounding."""
    try:
        _, a = read_row(row)
        target = _target(row)
        t0, t1 = one(a, "t0"), one(a, "t1")
        change, slope = a.get("change", [None])[0], a.get("slope_per_s", [None])[0]
    except Unreadable as exc:
        yield Failure("temporal_localization.structure", str(exc))
        return
    yield from unit_failures("temporal_localization", row, a)
    if _events(row, row.answer) - {target}:
        yield Failure("temporal_localization.direction", f"asked for the steepest {target}, "
                                                         f"the answer names another event")
    segs = segments(row, 0)
    if isinstance(segs, Failure):
        yield segs
        return
    runs = [k for k, d in enumerate(segs.directions) if d == target]
    if not runs:
        yield Failure("temporal_localization.direction", f"the series has no {target} segment")
        return
    slopes, times = segs.slopes(), segs.times()
    steepest = max(abs(slopes[k]) for k in runs)
    tied = [k for k in runs if abs(slopes[k]) >= steepest * (1 - 1e-9)]
    hit = [k for k in tied if t0.agrees(times[k][0]) and t1.agrees(times[k][1])]
    if not hit:
        a0, a1 = times[tied[0]]
        yield Failure("temporal_localization.time", f"steepest {target} at {t0}–{t1}s, series "
                                                    f"{a0:.4f}–{a1:.4f}s")
        return
    k = hit[0]
    v0, v1 = segs.values[k]
    if change is not None and not value(change).agrees(v1 - v0):
        yield Failure("temporal_localization.value", f"change {change}, series {v1 - v0:+.6f}")
    if slope is not None and not value(slope).agrees(slopes[k]):
        yield Failure("temporal_localization.value", f"slope {slope}, series {slopes[k]:+.6f}")


def trend_channels(row: Row) -> range:
    """Channels whose trend segments :func:`check` reads (``semantic.check_table`` computes
    them beforehand, batched with the table's other rows)."""
    return range(1)
