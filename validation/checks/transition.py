"""Check a transition row: both activities (from the window labels) and when it changed."""

from __future__ import annotations

from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, one, read_row
from validation.checks._signal import activity_words


def check(row: Row) -> Iterator[Failure]:
    """Activities must be the window's two labels; times follow from the change sample."""
    try:
        q, a = read_row(row)
        said = {k: one(a, k) for k in a}
        for k, v in q.items():
            said.setdefault(k, v[0])
    except Unreadable as exc:
        yield Failure("transition.structure", str(exc))
        return
    if row.next_activity is None or row.change_index is None:
        yield Failure("transition.label", "the window spans no activity change")
        return
    for key, label in (("first", row.activity), ("second", row.next_activity)):
        if key in said and str(said[key]).lower() != activity_words(label):
            yield Failure("transition.label", f"{key} activity {said[key]!r}, window label "
                                              f"{activity_words(label)!r}")
    if "first" not in said or "second" not in said:
        yield Failure("transition.structure", "the answer does not name both activities")
    rate, n = row.sample_rate_hz, row.series.shape[1]
    for key, true in (("change_s", row.change_index / rate), ("before_s", row.change_index / rate),
                      ("after_s", (n - row.change_index) / rate), ("duration_s", n / rate)):
        if key in said and not said[key].agrees(true):
            yield Failure("transition.time", f"{key} {said[key]}s, window gives {true:.4f}s")
