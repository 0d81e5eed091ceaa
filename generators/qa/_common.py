"""Fact helpers shared by the QA builders: channel names, rounded trend facts, words."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

from generators.features import sensor_axes
from generators.seeding import stable_index
from generators.types import DIRECTIONS, SPATIAL_AXES, Channel, ChannelSummary, TrendSegment

TIME_ORDER = ("down", "up", "steady")
"""Order of the per-direction cumulative times: the seed's (decrease, increase, steady)."""

MODALITY_WORDS = {"acc": "accelerometer", "gyro": "gyroscope", "mag": "magnetometer",
                  "ecg": "ECG", "hr": "heart-rate sensor", "temp": "thermometer"}

CORRELATION_STRENGTHS = ((0.7, "strong"), (0.4, "moderate"), (0.2, "weak"), (0.0, "negligible"))
"""|r| thresholds (on r rounded to two decimals) → strength word, strongest first."""

STAT_DECIMALS = 3
"""Decimals of the statistics stated in text (values in g or rad/s are small)."""


def secs(t: float) -> float:
    """A time as the text shows it: seconds to two decimals."""
    return round(float(t), 2)


def sensor_name(channel: Channel) -> str:
    """Human description of a channel, like ``waist x-axis accelerometer`` or, for a
    component that is not a spatial axis, ``chest ECG lead1``."""
    words = [channel.location.replace("_", "-")] if channel.location else []
    if channel.axis in SPATIAL_AXES:
        words.append(f"{channel.axis}-axis")
    words.append(MODALITY_WORDS.get(channel.modality, channel.modality))
    if channel.axis and channel.axis not in SPATIAL_AXES:
        words.append(channel.axis)
    return " ".join(words)


_TRANSITION_LABEL = re.compile(r"([a-z]+)_to_([a-z]+)")


def humanize(name: str) -> str:
    """An activity label as words: ``WALKING_UPSTAIRS`` → ``walking upstairs``; a postural
    transition ``SIT_TO_LIE`` → ``the sit-to-lie transition`` (else "goes from sitting to
    sit to lie" reads as two changes)."""
    m = _TRANSITION_LABEL.fullmatch(name.strip().lower())
    if m:
        return f"the {m.group(1)}-to-{m.group(2)} transition"
    return " ".join(name.replace("_", " ").split()).lower()


def segment_facts(segments: Sequence[TrendSegment]) -> list[dict[str, object]]:
    """Each segment's start and end (seconds, two decimals) and direction."""
    return [{"t0": secs(s.start_s), "t1": secs(s.end_s), "dir": s.direction} for s in segments]


def time_per_direction(segs: Iterable[dict[str, object]]) -> list[dict[str, object]]:
    """Cumulative seconds per present direction, in ``TIME_ORDER``.

    Sums the durations between the rounded boundaries, then rounds, as the seed does.
    """
    total: dict[str, float] = {}
    for s in segs:
        total[s["dir"]] = total.get(s["dir"], 0.0) + (s["t1"] - s["t0"])
    return [{"dir": d, "seconds": secs(total[d])} for d in TIME_ORDER if d in total]


def count_per_direction(segments: Sequence[TrendSegment]) -> list[dict[str, object]]:
    """Number of segments per present direction, most frequent first (ties: up, down, steady)."""
    n = {d: sum(1 for s in segments if s.direction == d) for d in DIRECTIONS}
    ordered = sorted((d for d in DIRECTIONS if n[d]), key=lambda d: -n[d])
    return [{"dir": d, "n": n[d]} for d in ordered]


def trend_overview(summary: ChannelSummary) -> dict[str, object]:
    """The seed's trend-summary facts of one channel.

    Args:
        summary: The channel's summary (segments).

    Returns:
        ``start_s``, ``end_s``, ``n_trends`` (distinct directions), ``n_changes`` (number
        of segments, the seed's "changes"), ``times`` (cumulative seconds per direction)
        and ``overall`` (direction of the whole window, ``None`` for a single segment,
        where the seed states none).
    """
    segs = segment_facts(summary.segments)
    times = time_per_direction(segs)
    return {
        "start_s": segs[0]["t0"],
        "end_s": segs[-1]["t1"],
        "n_trends": len(times),
        "n_changes": len(segs),
        "times": times,
        "overall": summary.overall if len(segs) > 1 else None,
    }


def correlation_words(r: float) -> tuple[str, str]:
    """Strength and sign words of a correlation already rounded as the text shows it."""
    strength = next(word for limit, word in CORRELATION_STRENGTHS if abs(r) >= limit)
    sign = "positive" if r > 0 else "negative" if r < 0 else "zero"
    return strength, sign


def correlation_facts(r: float) -> dict[str, object]:
    """``r`` (rounded to two decimals) with its ``strength``, ``sign`` and ``relation``
    words (``strong positive``; just ``negligible`` when there is no real correlation)."""
    r = round(float(r), 2) + 0.0  # no -0.0
    strength, sign = correlation_words(r)
    return {"r": r, "strength": strength, "sign": sign,
            "relation": strength if strength == "negligible" else f"{strength} {sign}"}


def same_sensor_pairs(channels: Sequence[Channel]) -> list[tuple[int, int]]:
    """Index pairs of different spatial axes of the same sensor (same location and modality)."""
    return sorted((i, j) for g in sensor_groups(channels)
                  for a, i in enumerate(g) for j in g[a + 1:])


VALUE_DECIMALS = 3
"""Decimals of signal values stated in text (same as the statistics)."""

def val(x: float) -> float:
    """A signal value as the text shows it (``VALUE_DECIMALS``), never ``-0.0``."""
    return round(float(x), VALUE_DECIMALS) + 0.0


def choose(ctx_seed: int, window_id: str, purpose: str, options: Sequence[str]) -> str:
    """A deterministic pick from (seed, window, purpose): builders' only randomness."""
    return options[stable_index(ctx_seed, window_id, purpose, len(options))]


def mean_crossings(values: np.ndarray) -> int:
    """How often the series crosses its own mean (samples equal to the mean are skipped)."""
    x = np.asarray(values, dtype=np.float64)
    side = np.sign(x - x.mean())
    side = side[side != 0]
    return int(np.count_nonzero(side[1:] != side[:-1]))


def sensor_groups(channels: Sequence[Channel]) -> list[list[int]]:
    """Channel indices grouped by sensor (``features.sensor_axes``), groups of ≥ 2
    distinct spatial axes only (ECG leads are not axes to compare), in channel order."""
    return [sorted(g.values()) for g in sensor_axes(channels).values() if len(g) >= 2]


def group_name(channel: Channel) -> str:
    """A sensor without its axis, like ``waist accelerometer``."""
    return sensor_name(Channel(channel.name, channel.location, channel.modality, "", channel.unit))
