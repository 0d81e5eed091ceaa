"""Check a temporal-localization row: the stated interval is the steepest rise or fall."""

from __future__ import annotations

import re
from typing import Iterator

import numpy as np

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, alternation, one, packs, read_row, unit_failures
from validation.checks._trends import Fitted, fitted


def _target(row: Row) -> str:
    """The asked direction, from which ``event_up``/``event_down`` word the question uses."""
    phrases = packs()[row.qa_type].phrases
    found = {d for d in ("up", "down") if re.search(
        rf"(?<!\w){alternation(phrases[f'event_{d}'])}(?!\w)", row.question, re.I)}
    if len(found) != 1:
        raise Unreadable(f"question names {len(found)} kinds of event")
    return found.pop()


def check(row: Row) -> Iterator[Failure]:
    """Seed method: the interval is a run of the asked direction with the largest |slope|.
    ``robust``: the interval lies on samples and the local level moves the asked way.
    Both: change and slope agree with each other over the stated interval."""
    try:
        _, a = read_row(row.qa_type, row.template_id, row.question, row.answer)
        target = _target(row)
        t0, t1 = one(a, "t0"), one(a, "t1")
        change, slope = a.get("change", [None])[0], a.get("slope_per_s", [None])[0]
    except Unreadable as exc:
        yield Failure("temporal_localization.structure", str(exc))
        return
    yield from unit_failures("temporal_localization", row, a)
    if change is not None and slope is not None and t1.value > t0.value:
        # Both are the same unrounded change over (t1 − t0): allow each one's rounding.
        span = t1.value - t0.value
        if not slope.agrees(change.value / span, extra=0.5 * 10.0 ** -change.decimals / span
                            + 0.01 / span * abs(slope.value)):
            yield Failure("temporal_localization.value", f"slope {slope}/s does not fit a change "
                                                         f"of {change} over {span:.2f}s")
    segs = fitted(row, 0)
    if isinstance(segs, Failure):
        yield segs
        return
    if isinstance(segs, Fitted):
        i, j = segs.index(t0), segs.index(t1)
        if i is None or j is None or j <= i:
            yield Failure("temporal_localization.time", f"{t0}–{t1}s is no interval of samples")
        elif not segs.direction_ok(target, i, j):
            yield Failure("temporal_localization.direction",
                          f"asked {target}, level changes {segs.change(i, j):+.4f} there")
        return
    x = np.asarray(row.series[0], dtype=np.float64)
    runs = [(p, q) for (p, q), d in zip(segs.bounds, segs.directions) if d == target]
    if not runs:
        yield Failure("temporal_localization.direction", f"the series has no {target} run")
        return
    slopes = np.array([abs(x[q] - x[p]) / (q - p) for p, q in runs])
    steepest = [runs[k] for k in np.flatnonzero(slopes >= slopes.max() * (1 - 1e-12))]
    rate = row.sample_rate_hz
    hit = [(p, q) for p, q in steepest if t0.agrees(p / rate) and t1.agrees(q / rate)]
    if not hit:
        p, q = steepest[0]
        yield Failure("temporal_localization.time", f"steepest {target} at {t0}–{t1}s, series "
                                                    f"{p / rate:.4f}–{q / rate:.4f}s")
        return
    p, q = hit[0]
    if change is not None and not change.agrees(x[q] - x[p]):
        yield Failure("temporal_localization.value", f"change {change}, series {x[q] - x[p]:+.6f}")
    if slope is not None and not slope.agrees((x[q] - x[p]) / ((q - p) / rate)):
        yield Failure("temporal_localization.value", f"slope {slope}, series "
                                                     f"{(x[q] - x[p]) * rate / (q - p):+.6f}")
