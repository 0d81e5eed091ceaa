"""Source-format readers, one module per format, keyed by file name in ``READERS``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Iterator

from generators.contracts import Reader
from generators.registry import Registry
from generators.types import Recording


READERS: Registry[Reader] = Registry("reader")
"""Reader name (= module name in this package) → its ``read``."""


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            READERS.add(info.name, importlib.import_module(f"{__name__}.{info.name}").read)


def read(reader: str, path: str | Path, **options: object) -> Iterator[Recording]:
    """Stream the recordings of ``path`` with the named reader.

    Args:
        reader: A name in ``READERS``.
        path: File or directory in the reader's source layout.
        **options: Reader options.

    Yields:
        One ``Recording`` at a time.
    """
    return READERS[reader](Path(path), **options)


_discover()
