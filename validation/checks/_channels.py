"""Which channel a sensor phrase in the text names, from the row's channel metadata."""

from __future__ import annotations

from validation.checks import Row

MODALITY_NOUNS = {"acc": "accelerometer", "gyro": "gyroscope", "mag": "magnetometer",
                  "ecg": "ecg", "hr": "heart-rate sensor", "temp": "thermometer"}
"""How the text names each modality (the words a reader of the text would expect)."""


def describe(row: Row, k: int) -> str:
    """Lower-case description of channel ``k``: ``waist x-axis accelerometer``."""
    loc = row.channel_locations[k].replace("_", "-")
    axis = row.channel_names[k] and row.channel_names[k].rsplit("_", 1)[-1]
    modality = row.channel_modalities[k]
    words = [loc] if loc else []
    if axis in ("x", "y", "z"):
        words.append(f"{axis}-axis")
    words.append(MODALITY_NOUNS.get(modality, modality))
    return " ".join(words).lower()


def channel_of(row: Row, phrase: str) -> int | None:
    """Index of the channel a phrase names (``None`` when it names none or several)."""
    said = " ".join(phrase.lower().split())
    hits = [k for k in range(len(row.channel_names)) if describe(row, k) == said]
    return hits[0] if len(hits) == 1 else None
