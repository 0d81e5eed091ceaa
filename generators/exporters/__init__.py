"""Export formats for trainers: one module per format, keyed by file name in ``EXPORTERS``.

A format module defines ``export(source, w) -> dict`` (the :class:`Exporter` contract):
it turns the selected rows of ``source`` into the files its trainer reads, written
through ``w``, and returns a JSON-serialisable summary (rows per part, at least). The
entry :func:`generators.export.export` selects the rows (stage, split, mix, row cap),
hands them over and publishes the files all at once, with the export's manifest.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, ContextManager, Iterable, Iterator, Mapping, Protocol

import numpy as np
import pyarrow as pa

from generators.dataset import read_part
from generators.registry import Registry
from generators.schema import QA_SCHEMA

SPLITS = ("train", "test")
#: Rows an exporter holds as Python objects at once.
BATCH_ROWS = 1024


@dataclass(frozen=True)
class ExportOptions:
    """What the user asked of an export (``harqa export``'s options).

    Attributes:
        stage: ``1``, ``2`` or ``all``.
        split: ``train``, ``test`` or ``all``.
        mix: Stage → share of each exported split's rows (shares sum to 1); empty: the
            rows as built.
        max_rows: At most this many rows per exported split (``None``: no cap).
        seed: Seed of the rows a mix or a cap draws.
        series_in_text: ``messages`` only: the series written into the user message.
        series_file: ``sensorllm`` only: ``npz`` (safe arrays) or ``pickle`` (what
            SensorLLM's training script unpickles).
    """

    stage: str = "all"
    split: str = "all"
    mix: Mapping[int, float] = field(default_factory=dict)
    max_rows: int | None = None
    seed: int = 0
    series_in_text: bool = False
    series_file: str = "npz"


@dataclass(frozen=True)
class Part:
    """The selected rows of one stage and split.

    Attributes:
        files: Its Parquet part files, in the dataset's order.
        rows: How many rows the files hold.
        keep: Positions (sorted) of the selected rows in the files' concatenation;
            ``None``: all of them.
    """

    files: tuple[Path, ...] = ()
    rows: int = 0
    keep: np.ndarray | None = None

    @property
    def count(self) -> int:
        """How many rows are selected."""
        return self.rows if self.keep is None else len(self.keep)

    def tables(self, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """The selected rows (``columns``, default all), one part file at a time.

        Raises:
            InputError: A part file is not readable (``dataset.read_part``).
        """
        offset = 0
        for path in self.files:
            table = read_part(path, columns, QA_SCHEMA)
            start, offset = offset, offset + table.num_rows
            if self.keep is not None:
                lo, hi = np.searchsorted(self.keep, [start, offset])
                table = table.take(self.keep[lo:hi] - start)
            if table.num_rows:
                yield table

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The selected rows in batches of at most ``BATCH_ROWS`` (see :meth:`tables`)."""
        for table in self.tables():
            yield from table.to_batches(max_chunksize=BATCH_ROWS)


@dataclass(frozen=True)
class ExportSource:
    """The rows an exporter writes.

    Attributes:
        root: The built dataset directory.
        parts: ``(stage, split)`` → its selected rows, for every selected stage and split
            (stage 1's first, train before test).
        options: The user's options.
    """

    root: Path
    parts: Mapping[tuple[int, str], Part]
    options: ExportOptions

    @property
    def splits(self) -> list[str]:
        """The selected splits, in ``SPLITS`` order."""
        return [s for s in SPLITS if any(k[1] == s for k in self.parts)]

    @property
    def stages(self) -> list[int]:
        """The selected stages."""
        return sorted({k[0] for k in self.parts})

    def count(self, split: str, stage: int | None = None) -> int:
        """How many rows of ``split`` (of one stage, or both) are selected."""
        return sum(p.count for (st, sp), p in self.parts.items()
                   if sp == split and stage in (None, st))

    def table(self, stage: int, split: str, columns: list[str] | None = None) -> pa.Table:
        """All selected rows (``columns``, default all) of one stage and split in one table
        (empty when none)."""
        tables = list(self.parts.get((stage, split), Part()).tables(columns))
        if tables:
            return pa.concat_tables(tables)
        schema = QA_SCHEMA if columns is None else pa.schema([QA_SCHEMA.field(c) for c in columns])
        return schema.empty_table()

    def batches(self, split: str) -> Iterator[pa.RecordBatch]:
        """The selected rows of ``split`` in batches of at most ``BATCH_ROWS``: stage 1's,
        then stage 2's, one part file in memory at a time."""
        for stage in (1, 2):
            yield from self.parts.get((stage, split), Part()).batches()

    def rows(self, split: str) -> Iterator[dict]:
        """The selected rows of ``split`` as dicts (see :meth:`batches`)."""
        for batch in self.batches(split):
            yield from batch.to_pylist()


class Writer(Protocol):
    """Where an exporter writes (``generators.export``'s staging writer)."""

    files: list[str]

    def open(self, rel: str) -> ContextManager[BinaryIO]:
        """A binary file to write ``rel`` under the export through."""

    def write(self, rel: str, data: bytes | Iterable[bytes]) -> None:
        """Write ``data`` (bytes, or chunks of bytes) to ``rel`` under the export."""

    def json(self, rel: str, obj: object) -> None:
        """Write ``obj`` as indented UTF-8 JSON."""


class Exporter(Protocol):
    """A format's ``export``: the trainer's files for ``source``, and a summary."""

    def __call__(self, source: ExportSource, w: Writer) -> dict: ...


EXPORTERS: Registry[Exporter] = Registry("export format")


def json_lines(objects: Iterable[dict]) -> Iterator[bytes]:
    """Each object as one line of UTF-8 JSON."""
    for obj in objects:
        yield json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def write_splits(source: ExportSource, suffix: str, write: Callable[[str, str], None]) -> dict:
    """One file per selected split with rows, ``<split><suffix>``, written by
    ``write(rel, split)``. Returns split → rows selected."""
    summary = {}
    for split in source.splits:
        if n := source.count(split):
            write(f"{split}{suffix}", split)
            summary[split] = n
    return summary


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            EXPORTERS.add(info.name, importlib.import_module(f"{__name__}.{info.name}").export)


_discover()
