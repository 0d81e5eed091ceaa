"""Stage-2 periodicity and cadence: the most periodic channel, its period and cadence."""

from __future__ import annotations

from typing import Iterator

from generators.qa import Facts, QAContext
from generators.qa._common import secs, sensor_name

STAGE = 2

REGULARITY = ((0.7, "clearly periodic"), (0.4, "somewhat periodic"), (0.0, "only weakly periodic"))
"""Periodicity strength (self-correlation at the period, 0–1) → words, strongest first."""


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per window where some channel repeats (the ``frequency`` feature).

    The channel with the strongest periodicity is described (first on ties); the
    cadence (steps per minute, the ``cadence`` feature) is given when it is gait-like.

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``duration_s``, ``period_s``, ``freq_hz`` (1 / period),
        ``per_minute`` (cycles per minute), ``n_cycles`` (in the window, one decimal),
        ``strength`` (two decimals), ``regularity`` and ``steps_per_min`` (or ``None``).
    """
    found = [(s.features["frequency"]["periodicity"], k, s) for k, s in enumerate(ctx.summaries)
             if s.features["frequency"]["period_s"] is not None]
    if not found:
        return
    strength, _, s = max(found, key=lambda f: (f[0], -f[1]))
    period = float(s.features["frequency"]["period_s"])
    duration = ctx.values.shape[0] / ctx.sample_rate_hz
    strength = round(float(strength), 2)
    steps = s.features.get("cadence", {}).get("steps_per_min")
    yield Facts(channels=(s.channel.name,), values={
        "sensor": sensor_name(s.channel), "duration_s": secs(duration),
        "period_s": secs(period), "freq_hz": round(1.0 / period, 2),
        "per_minute": int(round(60.0 / period)), "n_cycles": round(duration / period, 1),
        "strength": strength, "regularity": next(w for t, w in REGULARITY if strength >= t),
        "steps_per_min": None if steps is None else int(round(steps)),
    })
