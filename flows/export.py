"""Thin entry point of ``harqa export`` (the formats live in ``generators.exporters``)."""

from __future__ import annotations

from pathlib import Path

from generators.export import export
from generators.exporters import ExportOptions
from generators.publish import ValidationFailed
from validation.report import first_failure


def export_dataset(dataset_dir: Path, fmt: str, out: str,
                   options: ExportOptions = ExportOptions(), overwrite: bool = False,
                   allow_invalid: bool = False) -> dict:
    """Export the built dataset in ``dataset_dir`` as ``fmt`` to ``out`` (path or fsspec URL).

    A dataset that fails validation is refused unless ``allow_invalid``. What fails is
    decided without reading the rows (:func:`validation.report.first_failure`): a part
    missing, extra or changed against ``manifest.json``, a count that differs from it, or
    a failed validation stored by the build.

    Returns:
        What was written: the format's summary (rows per part) and ``files``.

    Raises:
        InputError: ``dataset_dir`` holds no dataset (no ``manifest.json``).
        ValidationFailed: The dataset fails validation (nothing is written); the message
            names the first failure.
    """
    if not allow_invalid:
        failure = first_failure(Path(dataset_dir))
        if failure is not None:
            raise ValidationFailed(f"{dataset_dir}: fails validation: {failure} "
                                   "(--allow-invalid exports it anyway)")
    return export(Path(dataset_dir), fmt, out, options, overwrite)
