"""What a reader sees in a source, without building: recordings, channels, labels, gaps."""

from __future__ import annotations

import dataclasses
import inspect
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from generators import presets, readers
from generators.readers._common import natural_key
from generators.registry import UnknownNameError
from generators.types import UNLABELLED, Recording


def _label_counts(rec: Recording) -> Counter:
    ids, counts = np.unique(rec.labels, return_counts=True)
    return Counter({("unlabelled" if i == UNLABELLED else rec.label_names.get(int(i), str(i))):
                    int(n) for i, n in zip(ids, counts)})


def inspect_source(preset_or_reader: str, path: str | Path, **options: Any) -> dict[str, Any]:
    """Read ``path`` and describe it, streaming (one recording in memory at a time).

    Args:
        preset_or_reader: A preset name or preset YAML file (its reader and reader
            options are used) or a reader name.
        path: Source file or directory.
        **options: Reader options (override the preset's).

    Returns:
        A JSON-serialisable dict: ``reader``, ``preset``, ``target_rate_hz``, ``subjects``,
        ``channels`` (name, location, modality, axis, unit), ``sample_rates_hz``,
        ``duration_s``, ``samples_per_label``, ``gaps`` (the NaN-gap policy's reports,
        for readers that have one), ``nan_cells`` and one entry per recording.

    Raises:
        UnknownNameError: Neither a preset nor a reader (the message lists both).
        InputError: Whatever the reader raises for bad input.
    """
    if preset_or_reader in presets.PRESETS or preset_or_reader.endswith((".yaml", ".yml")):
        preset = presets.load(preset_or_reader)
        reader, options = preset.reader, {**preset.reader_options, **options}
    elif preset_or_reader in readers.READERS:
        preset, reader = None, preset_or_reader
    else:
        raise UnknownNameError(
            f"unknown preset or reader {preset_or_reader!r}; presets: {', '.join(presets.names())}"
            f"; readers: {', '.join(readers.READERS.names())}")
    gaps: list[dict[str, Any]] = []
    if "on_gap" in inspect.signature(readers.READERS[reader]).parameters:
        options["on_gap"] = lambda report: gaps.append(dataclasses.asdict(report))
    entries, channels, totals = [], {}, Counter()
    for rec in readers.read(reader, path, **options):
        counts = _label_counts(rec)
        totals.update(counts)
        for ch in rec.channels:
            channels.setdefault(ch.name, dataclasses.asdict(ch))
        entries.append({
            "recording_id": rec.recording_id, "subject": rec.subject,
            "sample_rate_hz": rec.sample_rate_hz, "n_samples": rec.n_samples,
            "duration_s": round(rec.duration_s, 3), "samples_per_label": dict(counts),
            "nan_cells": int(np.isnan(rec.values).sum()), "source": list(rec.source),
        })
    return {
        "source": str(path), "reader": reader, "preset": preset.name if preset else None,
        "target_rate_hz": preset.sample_rate_hz if preset else None,
        "n_recordings": len(entries),
        "subjects": sorted({e["subject"] for e in entries}, key=natural_key),
        "channels": list(channels.values()),
        "sample_rates_hz": sorted({e["sample_rate_hz"] for e in entries}),
        "duration_s": round(sum(e["duration_s"] for e in entries), 3),
        "samples_per_label": dict(sorted(totals.items())),
        "nan_cells": sum(e["nan_cells"] for e in entries),
        "gaps": gaps,
        "recordings": entries,
    }
