"""Stage-2 periodicity and cadence: the most periodic channel, its period and cadence."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import secs, sensor_name

STAGE = 2

REGULARITY = ((0.7, "clearly periodic"), (0.4, "somewhat periodic"))
"""Periodicity strength (self-correlation at the period, 0–1) → words, strongest first;
weaker windows are not periodic (``features.channel.PERIODIC_MIN_STRENGTH``) and get no row."""


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per window where some channel repeats above its noise.

    Only channels whose ``frequency`` feature is ``periodic`` (they move beyond their
    noise and self-correlate at least 0.4 at the period) count; of those, the strongest
    is described (first on ties). The period comes from the self-correlation, not from a
    spectrum. A step cadence (the ``cadence`` feature) is given when that channel is a
    gait-like accelerometer, with how many steps one cycle holds. Windows spanning an
    activity change get no row (two activities, no single rhythm).

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``duration_s``, ``period_s``, ``freq_hz`` (1 / period),
        ``per_minute`` (cycles per minute), ``n_cycles`` (in the window, one decimal),
        ``strength`` (two decimals), ``regularity``, ``steps_per_min`` and
        ``steps_per_cycle`` (1 or 2; both ``None`` when no cadence is given).
    """
    if ctx.window.next_activity:
        return
    found = [(s.features["frequency"]["periodicity"], k, s) for k, s in enumerate(ctx.summaries)
             if s.features["frequency"]["periodic"]]
    if not found:
        return
    strength, _, s = max(found, key=lambda f: (f[0], -f[1]))
    period = float(s.features["frequency"]["period_s"])
    duration = ctx.values.shape[0] / ctx.sample_rate_hz
    strength = round(float(strength), 2)
    gait = s.features.get("cadence", {})
    steps, per_cycle = gait.get("steps_per_min"), gait.get("steps_per_cycle")
    yield Facts(channels=(s.channel.name,), values={
        "sensor": sensor_name(s.channel), "duration_s": secs(duration),
        "period_s": secs(period), "freq_hz": round(1.0 / period, 2),
        "per_minute": int(round(60.0 / period)), "n_cycles": round(duration / period, 1),
        "strength": strength, "regularity": next(w for t, w in REGULARITY if strength >= t),
        "steps_per_min": None if steps is None else int(round(steps)),
        "steps_per_cycle": None if per_cycle is None else int(per_cycle),
    })
