"""Thin entry point of ``harqa export`` (the writers live in ``generators.export``)."""

from __future__ import annotations

from pathlib import Path

from generators.export import export


def export_dataset(dataset_dir: Path, fmt: str, out: str) -> dict:
    """Export the built dataset in ``dataset_dir`` as ``fmt`` to ``out`` (path or fsspec URL).

    Returns:
        The exporter's summary (files written, rows per part).
    """
    return export(Path(dataset_dir), fmt, out)
