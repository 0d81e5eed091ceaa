"""Source-format readers, one module per format, keyed by file name in ``READERS``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Iterator, Protocol

from generators.registry import Registry
from generators.types import Recording


class Reader(Protocol):
    """A format module's ``read``: the recordings of ``path``, one at a time.

    A reader streams (memory stays bounded on day-long files), yields each recording on a
    uniform grid with float32 values, int32 labels (−1 unlabelled) and channel units, and
    raises ``InputError`` naming the file, line or field and what was expected. The options
    are the reader's own keyword parameters, given as the preset's ``reader_options``.
    """

    def __call__(self, path: Path, **options: object) -> Iterator[Recording]: ...


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
