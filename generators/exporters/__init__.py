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
from typing import Callable, Iterable, Iterator, Mapping, Protocol

import pyarrow as pa

from generators.registry import Registry
from generators.schema import QA_SCHEMA

SPLITS = ("train", "test")


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
class ExportSource:
    """The rows an exporter writes.

    Attributes:
        root: The built dataset directory.
        tables: ``(stage, split)`` → the selected rows (``QA_SCHEMA``) in the dataset's
            order, for every selected stage and split (possibly empty).
        options: The user's options.
    """

    root: Path
    tables: Mapping[tuple[int, str], pa.Table]
    options: ExportOptions

    def table(self, stage: int, split: str) -> pa.Table:
        """The selected rows of one stage and split (empty when not selected)."""
        return self.tables.get((stage, split), QA_SCHEMA.empty_table())

    @property
    def splits(self) -> list[str]:
        """The selected splits, in ``SPLITS`` order."""
        return [s for s in SPLITS if any(k[1] == s for k in self.tables)]

    def count(self, split: str) -> int:
        """How many rows of ``split`` are selected (both stages)."""
        return sum(self.table(stage, split).num_rows for stage in (1, 2))

    def rows(self, split: str) -> Iterable[dict]:
        """The selected rows of ``split`` as dicts: stage 1's, then stage 2's."""
        for stage in (1, 2):
            table = self.table(stage, split)
            for batch in table.to_batches(max_chunksize=1024):
                yield from batch.to_pylist()


class Writer(Protocol):
    """Where an exporter writes (``generators.export``'s staging writer)."""

    files: list[str]

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


def write_splits(source: ExportSource, w: Writer, suffix: str,
                 encode: Callable[[Iterable[dict]], bytes | Iterable[bytes]]) -> dict:
    """One file per selected split with rows, ``<split><suffix>``: ``encode`` of its rows
    (stage 1's, then stage 2's). Returns split → rows written."""
    summary = {}
    for split in source.splits:
        if n := source.count(split):
            w.write(f"{split}{suffix}", encode(source.rows(split)))
            summary[split] = n
    return summary


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            EXPORTERS.add(info.name, importlib.import_module(f"{__name__}.{info.name}").export)


_discover()
