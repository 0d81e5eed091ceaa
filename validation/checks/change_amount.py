"""Check a change-amount row: first and last value, net change, its direction and mean rate."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, one, read_row, unit_failures, value


VALUES = ("start_value", "end_value", "change", "abs_change", "rate_per_s")


def check(row: Row) -> Iterator[Failure]:
    """Recompute the end values from the series; the change follows from the stated ends,
    the mean rate from the samples."""
    try:
        _, a = read_row(row)
        said = {k: one(a, k) for k in a if not k.endswith("@unit") and k not in ("sensor",)}
        # values are rounded to three decimals before printing (trailing zeros dropped)
        said.update({k: value(said[k]) for k in VALUES if k in said})
    except Unreadable as exc:
        yield Failure("change_amount.structure", str(exc))
        return
    yield from unit_failures("change_amount", row, a)
    x = np.asarray(row.series[0], dtype=np.float64)
    duration = (x.size - 1) / row.sample_rate_hz
    first, last = float(x[0]), float(x[-1])
    for key, true in (("start_value", first), ("end_value", last), ("start_s", 0.0),
                      ("end_s", duration)):
        if key in said and not said[key].agrees(true):
            yield Failure("change_amount.value", f"{key} {said[key]}, series {true:.6f}")
    # The generator's change is end − start of its rounded ends (so the text adds up) and
    # its rate that change over the duration: with both ends stated, both are exact.
    if "start_value" in said and "end_value" in said:
        ref, extra = round(said["end_value"].value - said["start_value"].value, 9), 0.0
    else:
        ref, extra = last - first, 10.0 ** -3
    if "change" in said:
        if not said["change"].agrees(ref, extra=extra):
            yield Failure("change_amount.value", f"change {said['change']}, ends give {ref:+.6f}")
        ref, extra = said["change"].value, 0.0
    if "abs_change" in said and not said["abs_change"].agrees(abs(ref), extra=extra):
        yield Failure("change_amount.value", f"change {said['abs_change']}, ends give "
                                             f"{abs(ref):.6f}")
    # The rate is the samples' own (end − start) / duration, not that of the rounded ends.
    if "rate_per_s" in said and duration > 0 and not said["rate_per_s"].agrees(
            (last - first) / duration):
        yield Failure("change_amount.rate", f"rate {said['rate_per_s']}/s, series "
                                            f"{(last - first) / duration:.6f}/s")
    if "direction" in said:
        expected = "up" if ref > 0 else "down" if ref < 0 else "steady"
        if said["direction"] != expected:
            yield Failure("change_amount.direction", f"direction {said['direction']}, the "
                                                     f"change is {ref:+.4f}")
