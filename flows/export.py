"""Thin entry point of ``harqa export`` (the formats live in ``generators.exporters``)."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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

    A SIGTERM (``kill PID``) ends the export as Ctrl-C does, by an exception, so what it
    staged is removed and ``out`` is left as it was; after a SIGKILL, the hidden staging
    folder beside ``out`` is removed by the next export to ``out``.

    Returns:
        What was written: the format's summary (rows per part) and ``files``.

    Raises:
        InputError: ``dataset_dir`` holds no dataset (no ``manifest.json``).
        ValidationFailed: The dataset fails validation (nothing is written); the message
            names the first failure.
        SystemExit: A SIGTERM arrived (code 143).
    """
    if not allow_invalid:
        failure = first_failure(Path(dataset_dir))
        if failure is not None:
            raise ValidationFailed(f"{dataset_dir}: fails validation: {failure} "
                                   "(--allow-invalid exports it anyway)")
    with _terminate_as_exit():
        return export(Path(dataset_dir), fmt, out, options, overwrite)


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` (main thread only: elsewhere
    Python cannot take a signal)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
