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
        ``duration_s``, ``samples_per_label``, ``labelled`` (whether any sample has a
        label), ``gaps`` (the NaN-gap policy's reports, for readers that have one),
        ``clocks`` (the clock policy's reports, one per stamped recording before it is
        split, for readers of timestamps), ``nan_cells`` and one entry per recording.

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
    reports: dict[str, list[dict[str, Any]]] = {"on_gap": [], "on_clock": []}
    parameters = inspect.signature(readers.READERS[reader]).parameters
    for hook, found in reports.items():
        if hook in parameters:
            options[hook] = lambda report, found=found: found.append(dataclasses.asdict(report))
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
        "labelled": any(e != "unlabelled" for e in totals),
        "nan_cells": sum(e["nan_cells"] for e in entries),
        "gaps": reports["on_gap"],
        "clocks": reports["on_clock"],
        "recordings": entries,
    }


def clock_lines(info: dict[str, Any]) -> list[str]:
    """One line per report in ``info["clocks"]`` (an ``inspect_source`` result): the clock
    found and what the clock policy made of it."""
    return [f"clock of {c['recording_id']}: {c['rate_hz']:.4g} Hz "
            f"({'inferred from the median step' if c['rate_inferred'] else 'given'}), steps "
            f"p5–p95 {c['step_p5_s'] * 1e3:.4g}–{c['step_p95_s'] * 1e3:.4g} ms (median "
            f"{c['median_step_s'] * 1e3:.4g} ms), {c['duplicated']} duplicated, "
            f"{c['backwards']} backwards, {c['off_band']} steps outside 0.5–1.5× the median, "
            f"{c['gaps']} gap{'s' if c['gaps'] != 1 else ''} → {c['parts']} "
            f"part{'s' if c['parts'] != 1 else ''}"
            for c in info["clocks"]]
