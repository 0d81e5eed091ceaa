"""Conversational SFT (Hugging Face TRL's ``messages`` column), one Parquet file per split,
``<split>.parquet``, that ``datasets.load_dataset("parquet", data_files=…)`` reads.

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

from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from generators.exporters import ExportSource, Writer, write_splits
from generators.exporters._prompt import sensor_prompt

DECIMALS = 3
#: Arrow bytes per Parquet row group (the Hugging Face viewer asks for 100–300 MB).
ROW_GROUP_BYTES = 128 * 2**20
#: Above any group's row count: a group ends at ROW_GROUP_BYTES, not at a row count.
ROW_GROUP_ROWS = 2**31 - 1
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


def _write_parquet(w: Writer, rel: str, batches: Iterable[pa.RecordBatch], in_text: bool) -> None:
    """Stream ``batches`` of source rows into ``rel``, a row group per ``ROW_GROUP_BYTES``
    of Arrow data (the series column is the source's, never copied through Python)."""
    with w.open(rel) as fh, pq.ParquetWriter(fh, SCHEMA) as out:
        group: list[pa.RecordBatch] = []
        for batch in batches:
            rows = batch.to_pylist()
            group.append(pa.record_batch([
                batch.column("row_id"), batch.column("stage"),
                pa.array([conversation(r, in_text) for r in rows], SCHEMA.field("messages").type),
                batch.column("series")], schema=SCHEMA))
            if sum(b.nbytes for b in group) >= ROW_GROUP_BYTES:
                out.write_table(pa.Table.from_batches(group), row_group_size=ROW_GROUP_ROWS)
                group = []
        if group:
            out.write_table(pa.Table.from_batches(group), row_group_size=ROW_GROUP_ROWS)


def export(source: ExportSource, w: Writer) -> dict:
    """Write ``<split>.parquet`` for every selected split with rows, streamed."""
    in_text = source.options.series_in_text
    return write_splits(source, ".parquet", lambda rel, split: _write_parquet(
        w, rel, source.batches(split), in_text))
