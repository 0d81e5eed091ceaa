"""Conversational SFT (Hugging Face TRL's ``messages`` column), Parquet, each split in its
folder of size-bounded shards, ``<split>/<split>-00000-of-00002.parquet`` (one row group
each), that ``datasets.load_dataset("parquet", data_dir=…)`` reads.

Columns: ``messages`` (``[{"role": "user", "content": …}, {"role": "assistant",
"content": …}]``: the sensor prompt — channels in the row's order with their units, then
the question — and the answer), ``timeseries`` (the raw series, one float32 list per
channel in the prompt's order, for multimodal trainers that read non-text inputs from
their own column), ``row_id`` and ``stage``.

With ``series_in_text`` the user message also holds each channel's samples as
fixed-point numbers with ``DECIMALS`` decimals, for text-only LLMs: about seven
characters per sample, several tokens each (README: token cost).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import pyarrow as pa

from generators.exporters import ExportSource, Writer, write_splits
from generators.exporters._prompt import sensor_prompt
from generators.exporters._shards import write_parquet

DECIMALS = 3
SCHEMA = pa.schema([
    pa.field("row_id", pa.string(), nullable=False),
    pa.field("stage", pa.int8(), nullable=False),
    pa.field("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])),
             nullable=False),
    pa.field("timeseries", pa.list_(pa.list_(pa.float32())), nullable=False),
])


def series_text(values: Iterable[float]) -> str:
    """One channel's samples as ``DECIMALS``-decimal numbers separated by spaces."""
    return " ".join(f"{v:.{DECIMALS}f}" for v in values)


def conversation(row: dict, in_text: bool) -> list[dict]:
    """The row as a user turn (prompt and question) and an assistant turn (answer)."""
    texts = [series_text(s) for s in row["series"]] if in_text else None
    return [{"role": "user", "content": sensor_prompt(row, texts)},
            {"role": "assistant", "content": row["answer"]}]


def _tables(batches: Iterable[pa.RecordBatch], in_text: bool) -> Iterator[pa.Table]:
    """Each batch of source rows as a table of ``SCHEMA`` (the series column is the
    source's, never copied through Python)."""
    for batch in batches:
        rows = batch.to_pylist()
        yield pa.Table.from_batches([pa.record_batch([
            batch.column("row_id"), batch.column("stage"),
            pa.array([conversation(r, in_text) for r in rows], SCHEMA.field("messages").type),
            batch.column("series")], schema=SCHEMA)])


def export(source: ExportSource, w: Writer) -> dict:
    """Write ``<split>/`` for every selected split with rows, streamed."""
    in_text = source.options.series_in_text
    return write_splits(source, lambda split: write_parquet(
        w, f"{split}/{split}", _tables(source.batches(split), in_text),
        source.options.shard_bytes))
