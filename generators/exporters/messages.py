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

import io
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from generators.exporters import ExportSource, Writer, write_splits
from generators.exporters._prompt import sensor_prompt

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


def _parquet(rows: Iterable[dict], in_text: bool) -> bytes:
    records = [{"row_id": r["row_id"], "stage": r["stage"],
                "messages": conversation(r, in_text), "timeseries": r["series"]} for r in rows]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), buf)
    return buf.getvalue()


def export(source: ExportSource, w: Writer) -> dict:
    """Write ``<split>.parquet`` for every selected split with rows."""
    in_text = source.options.series_in_text
    return write_splits(source, w, ".parquet", lambda rows: _parquet(rows, in_text))
