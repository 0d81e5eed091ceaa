"""The sensor prompt of the chat-style exports (``chatts``, ``messages``, ``opentslm``).

Channel order is always the row's ``channel_names`` order, the order of its ``series``;
the prompt names each channel with its unit, so the text and the series cannot disagree.
"""

from __future__ import annotations

from typing import Sequence


def header(row: dict) -> str:
    """``A wearable-sensor window of 128 samples at 50 Hz, 6 channels in this order:``."""
    n, length = len(row["channel_names"]), len(row["series"][0])
    return (f"A wearable-sensor window of {length} samples at {row['sample_rate_hz']:g} Hz, "
            f"{n} channel{'s' if n > 1 else ''} in this order:")


def channel_labels(row: dict) -> list[str]:
    """``waist_acc_x (g)`` for each channel, in the row's order."""
    return [f"{name} ({unit})" for name, unit in zip(row["channel_names"], row["channel_units"])]


def sensor_prompt(row: dict, series_text: Sequence[str] | None = None) -> str:
    """The header, one line per channel (``label: series_text[c]`` when given), then the
    row's question, joined by newlines."""
    labels = channel_labels(row)
    if series_text is not None:
        labels = [f"{label}: {text}" for label, text in zip(labels, series_text, strict=True)]
    return "\n".join([header(row), *labels, row["question"]])
