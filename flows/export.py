"""Thin entry point of ``harqa export`` (the formats live in ``generators.exporters``)."""

from __future__ import annotations

from pathlib import Path

from generators.export import export
from generators.exporters import ExportOptions


def export_dataset(dataset_dir: Path, fmt: str, out: str,
                   options: ExportOptions = ExportOptions(), overwrite: bool = False) -> dict:
    """Export the built dataset in ``dataset_dir`` as ``fmt`` to ``out`` (path or fsspec URL).

    Returns:
        What was written: the format's summary (rows per part) and ``files``.
    """
    return export(Path(dataset_dir), fmt, out, options, overwrite)
