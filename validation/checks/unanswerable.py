"""Check an unanswerable row: the refusal's reason must be true of the row's channels and window."""

from __future__ import annotations

from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._channels import describe
from validation.checks._read import Unreadable, one, read_row


def check(row: Row) -> Iterator[Failure]:
    """The asked sensor is absent from the row, or the asked time lies after the window."""
    try:
        q, a = read_row(row)
        said = {k: one(a, k) for k in a}
    except Unreadable as exc:
        yield Failure("unanswerable.structure", str(exc))
        return
    own = {describe(row, k) for k in range(len(row.channel_names))}
    if "sensor" in said and str(said["sensor"]).lower() not in own:
        yield Failure("unanswerable.channel", f"names {said['sensor']!r} as the row's channel; "
                                              f"it holds {sorted(own)}")
    for key in ("asked_sensor",):
        for v in a.get(key, []) + q.get(key, []):
            if str(v).lower() in own:
                yield Failure("unanswerable.channel", f"{v!r} is in the row, so the question "
                                                      f"is answerable")
    end = (row.series.shape[1] - 1) / row.sample_rate_hz
    if "end_s" in said and not said["end_s"].agrees(end):
        yield Failure("unanswerable.time", f"window ends at {said['end_s']}s, series at "
                                           f"{end:.4f}s")
    for key in ("asked_t0",):
        for t in a.get(key, []) + q.get(key, []):
            if t.value <= end:
                yield Failure("unanswerable.time", f"asked time {t}s lies inside the window "
                                                  f"(ends {end:.2f}s)")
    # The answer restates what was asked: it must restate it exactly.
    for key in ("asked_t0", "asked_t1"):
        times = {t.value for t in a.get(key, []) + q.get(key, [])}
        if len(times) > 1:
            yield Failure("unanswerable.restated", f"{key} stated as {sorted(times)}")
    sensors = {str(v).lower() for v in a.get("asked_sensor", []) + q.get("asked_sensor", [])}
    if len(sensors) > 1:
        yield Failure("unanswerable.restated", f"asked sensor stated as {sorted(sensors)}")
    if not {"asked_sensor", "asked_t0", "end_s"} & set(a):
        yield Failure("unanswerable.structure", "the answer gives no reason")
