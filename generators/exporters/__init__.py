"""Export formats for trainers: one module per format, keyed by file name in ``EXPORTERS``.

A format module defines ``export(source, w) -> dict`` (the :class:`Exporter` contract):
it turns the selected rows of ``source`` into the files its trainer reads, written
through ``w``, and returns a JSON-serialisable summary (rows per part, at least). The
entry :func:`generators.export.export` selects the rows (stage, split, mix, row cap),
hands them over and publishes the files all at once, with the export's manifest (every
file with its rows, bytes and SHA-256).

Rows stream through an exporter a part file at a time; what it writes goes out as it is
made, in shards of at most ``ExportOptions.shard_bytes`` where its trainer reads several
files (``generators.exporters._shards``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Iterable, Iterator, Mapping, Protocol

import numpy as np
import pyarrow as pa

from generators.contracts import Exporter
from generators.dataset import read_part
from generators.registry import Registry
from generators.schema import QA_SCHEMA

SPLITS = ("train", "test")
#: Rows an exporter holds as Python objects at once.
BATCH_ROWS = 1024
#: Default bound of a shard: 128 MiB (134 MB), inside the 100–300 MB the Hugging Face
#: dataset viewer recommends for a Parquet row group in memory.
SHARD_BYTES = 128 * 2**20


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
        shard_bytes: Bound of one shard: a JSONL shard's file size, a Parquet shard's
            (one row group's) Arrow size in memory (as the exporter holds the rows; read
            back compacted, a few bytes per row more or less). A shard closes before a row
            would take it past the bound; a single row larger than the bound gets a shard
            alone.
    """

    stage: str = "all"
    split: str = "all"
    mix: Mapping[int, float] = field(default_factory=dict)
    max_rows: int | None = None
    seed: int = 0
    series_in_text: bool = False
    series_file: str = "npz"
    shard_bytes: int = SHARD_BYTES


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

    def batches(self, split: str) -> Iterator[pa.RecordBatch]:
        """The selected rows of ``split`` in batches of at most ``BATCH_ROWS``: stage 1's,
        then stage 2's, one part file in memory at a time."""
        for stage in (1, 2):
            yield from self.parts.get((stage, split), Part()).batches()

    def rows(self, split: str) -> Iterator[dict]:
        """The selected rows of ``split`` as dicts (see :meth:`batches`)."""
        for batch in self.batches(split):
            yield from batch.to_pylist()


class Sink(Protocol):
    """One file of the export being written (binary, write-only, not seekable).

    Attributes:
        rows: What the file holds, in rows (lines, examples, windows) for the manifest;
            ``None`` for a file of another kind (a class list).
    """

    rows: int | None

    def write(self, data: bytes) -> int:
        """Append ``data``; returns its length."""

    def tell(self) -> int:
        """Bytes written so far."""

    def close(self) -> None:
        """Finish the file (its size and digest are recorded)."""


class Writer(Protocol):
    """Where an exporter writes (``generators.export``'s staging writer)."""

    def create(self, rel: str) -> Sink:
        """A new file ``rel`` under the export, open until its ``close``."""

    def open(self, rel: str) -> ContextManager[Sink]:
        """:meth:`create` as a context that closes the file."""

    def write(self, rel: str, data: bytes | Iterable[bytes], rows: int | None = None) -> None:
        """Write ``data`` (bytes, or chunks of bytes) to ``rel``, holding ``rows``."""

    def json(self, rel: str, obj: object, rows: int | None = None) -> None:
        """Write ``obj`` as indented UTF-8 JSON."""

    def rename(self, rel: str, new: str) -> None:
        """Give the closed file ``rel`` the name ``new``."""


EXPORTERS: Registry[Exporter] = Registry("export format")


def json_lines(objects: Iterable[dict]) -> Iterator[bytes]:
    """Each object as one line of UTF-8 JSON."""
    for obj in objects:
        yield json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def write_splits(source: ExportSource, write: Callable[[str], object]) -> dict:
    """``write(split)`` for every selected split with rows. Returns split → rows selected."""
    summary = {}
    for split in source.splits:
        if n := source.count(split):
            write(split)
            summary[split] = n
    return summary


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            EXPORTERS.add(info.name, importlib.import_module(f"{__name__}.{info.name}").export)


_discover()
