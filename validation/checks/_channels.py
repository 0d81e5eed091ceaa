"""Which channel a sensor phrase in the text names, from the row's channel metadata."""

from __future__ import annotations

from validation.checks import Row

MODALITY_NOUNS = {"acc": "accelerometer", "gyro": "gyroscope", "mag": "magnetometer",
                  "ecg": "ecg", "hr": "heart-rate sensor", "temp": "thermometer"}
"""How the text names each modality (the words a reader of the text would expect)."""

AXES = ("x", "y", "z")
"""Components a text calls axes; others (an ECG's ``lead1``) follow the modality noun."""


def _words(row: Row, k: int, axis: str) -> str:
    """Lower-case name of channel ``k``'s sensor with ``axis`` (an x/y/z axis before the
    modality noun, another component after it, none when empty)."""
    loc = row.channel_locations[k].replace("_", "-")
    modality = row.channel_modalities[k]
    words = [loc] if loc else []
    if axis in AXES:
        words.append(f"{axis}-axis")
    words.append(MODALITY_NOUNS.get(modality, modality))
    if axis and axis not in AXES:
        words.append(axis)
    return " ".join(words).lower()


def sensor(row: Row, k: int) -> str:
    """Lower-case sensor of channel ``k`` without its axis: ``waist accelerometer``."""
    return _words(row, k, "")


def axis_groups(row: Row) -> dict[str, dict[str, int]]:
    """Sensor → spatial axis → channel index (its first channel), sensors of ≥ 2 axes."""
    out: dict[str, dict[str, int]] = {}
    for k, axis in enumerate(row.channel_axes):
        if axis in AXES:
            out.setdefault(sensor(row, k), {}).setdefault(axis, k)
    return {g: axes for g, axes in out.items() if len(axes) > 1}


def describe(row: Row, k: int) -> str:
    """Lower-case description of channel ``k``: ``waist x-axis accelerometer``, ``chest ecg
    lead1``."""
    return _words(row, k, row.channel_axes[k])


def channel_of(row: Row, phrase: str) -> int | None:
    """Index of the channel a phrase names (``None`` when it names none or several)."""
    said = " ".join(phrase.lower().split())
    hits = [k for k in range(len(row.channel_names)) if describe(row, k) == said]
    return hits[0] if len(hits) == 1 else None
