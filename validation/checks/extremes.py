"""Check an extremes row: maximum and minimum (value and when), range, peak count bound."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, one, read_row, unit_failures, value
from validation.checks._signal import prominent_peaks


def check(row: Row) -> Iterator[Failure]:
    """Recompute the extremes of the channel; times may name any sample at the extreme."""
    try:
        _, a = read_row(row)
        said = {k: one(a, k) for k in ("max_value", "max_t", "min_value", "min_t")}
        said_range = one(a, "range") if "range" in a else None
        n_peaks = one(a, "n_peaks") if "n_peaks" in a else None
    except Unreadable as exc:
        yield Failure("extremes.structure", str(exc))
        return
    yield from unit_failures("extremes", row, a)
    x = np.asarray(row.series[0], dtype=np.float64)
    for name, true in (("max", x.max()), ("min", x.min())):
        stated, t = value(said[f"{name}_value"]), said[f"{name}_t"]
        k = int(round(t.value * row.sample_rate_hz))
        if not stated.agrees(true):
            yield Failure("extremes.value", f"{name} {stated}, series {true:.6f}")
        elif not (0 <= k < x.size and t.agrees(k / row.sample_rate_hz)
                  and stated.agrees(x[k])):
            yield Failure("extremes.time", f"{name} at {t}s, but the series is not at its "
                                           f"{name} there")
    if said_range is not None and not value(said_range).agrees(x.max() - x.min()):
        yield Failure("extremes.value", f"range {said_range}, series {np.ptp(x):.6f}")
    if isinstance(n_peaks, int) and n_peaks != prominent_peaks(x):
        yield Failure("extremes.count", f"{n_peaks} prominent peaks stated, the series has "
                                        f"{prominent_peaks(x)}")
