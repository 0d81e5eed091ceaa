"""Which channel a sensor phrase in the text names, from the row's channel metadata."""

from __future__ import annotations

import functools

from validation.checks import Row

MODALITY_NOUNS = {"acc": "accelerometer", "gyro": "gyroscope", "mag": "magnetometer",
                  "ecg": "ecg", "hr": "heart-rate sensor", "temp": "thermometer"}
"""How the text names each modality (the words a reader of the text would expect)."""

AXES = ("x", "y", "z")
"""Components a text calls axes; others (an ECG's ``lead1``) follow the modality noun."""


def _words(location: str, modality: str, axis: str) -> str:
    """Lower-case name of a sensor at ``location`` of ``modality`` with ``axis`` (an x/y/z
    axis before the modality noun, another component after it, none when empty)."""
    loc = location.replace("_", "-")
    words = [loc] if loc else []
    if axis in AXES:
        words.append(f"{axis}-axis")
    words.append(MODALITY_NOUNS.get(modality, modality))
    if axis and axis not in AXES:
        words.append(axis)
    return " ".join(words).lower()


def sensor(row: Row, k: int) -> str:
    """Lower-case sensor of channel ``k`` without its axis: ``waist accelerometer``."""
    return _words(row.channel_locations[k], row.channel_modalities[k], "")


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
    return _descriptions(row)[k]


def channel_of(row: Row, phrase: str) -> int | None:
    """Index of the channel a phrase names (``None`` when it names none or several)."""
    said = " ".join(phrase.lower().split())
    hits = [k for k, words in enumerate(_descriptions(row)) if words == said]
    return hits[0] if len(hits) == 1 else None


def _descriptions(row: Row) -> tuple[str, ...]:
    """:func:`describe` of every channel of the row."""
    return _described(row.channel_locations, row.channel_modalities, row.channel_axes)


@functools.lru_cache(maxsize=256)  # rows of a dataset share few channel layouts
def _described(locations: tuple[str, ...], modalities: tuple[str, ...],
               axes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(map(_words, locations, modalities, axes))
