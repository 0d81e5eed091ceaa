"""One QA per line with its series, for any JSON-lines consumer (``json.loads`` per line,
``datasets.load_dataset("json", …)``): size-bounded shards
``stage<k>/<split>/<split>-00000-of-00002.jsonl``.

Each line holds the row's ids (``row_id``, ``window_id``, …), ``channel_names`` and
``channel_units``, ``question``, ``answer``, ``qa_type``, provenance, ``facts`` (parsed)
and ``series`` (channel-major float lists, in ``channel_names`` order).
"""

from __future__ import annotations

import json

from generators.exporters import ExportSource, Writer, json_lines
from generators.exporters._shards import write_jsonl

KEEP = ("row_id", "dataset", "stage", "split", "subject", "recording_id", "window_id",
        "activity", "sample_rate_hz", "channel_names", "channel_units", "qa_type",
        "question", "answer", "template_id", "template_version", "trend_method", "seed")


def record(row: dict) -> dict:
    """One row as its JSON line's object."""
    return {**{k: row[k] for k in KEEP}, "facts": json.loads(row["facts"]), "series": row["series"]}


def export(source: ExportSource, w: Writer) -> dict:
    """Write ``stage<k>/<split>/`` for every selected stage and split with rows."""
    summary: dict = {}
    for (stage, split), part in source.parts.items():
        if part.count:
            rows = (r for batch in part.batches() for r in batch.to_pylist())
            write_jsonl(w, f"stage{stage}/{split}/{split}", json_lines(map(record, rows)),
                        source.options.shard_bytes)
            summary[f"stage{stage}/{split}"] = part.count
    return summary
