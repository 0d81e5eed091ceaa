"""ChatTS (and its LLaMA-Factory fork, ChatTS-Training): JSONL rows ``{input, output,
timeseries}``, each split in its folder of size-bounded shards,
``<split>/<split>-00000-of-00002.jsonl`` (LLaMA-Factory reads a dataset whose
``file_name`` is a folder as all the files in it).

``input`` is the sensor prompt with one ``<ts><ts/>`` placeholder per channel, in the
row's channel order, then the question; ``timeseries`` holds the raw series (ChatTS's
processor normalises them itself), one float list per placeholder, in the same order;
``output`` is the answer. The fork's loader drops an example whose placeholder count
differs from ``len(timeseries)`` or whose output holds a placeholder: a row whose own
text holds one is refused here instead. Each line also carries ``row_id`` and ``stage``.
"""

from __future__ import annotations

from generators.errors import InputError
from generators.exporters import ExportSource, Writer, json_lines, write_splits
from generators.exporters._prompt import sensor_prompt
from generators.exporters._shards import write_jsonl

PLACEHOLDER = "<ts><ts/>"


def example(row: dict) -> dict:
    """One row as ChatTS's training example."""
    for field in ("question", "answer"):
        if "<ts>" in row[field]:
            raise InputError(row["row_id"], f"its {field} holds ChatTS's series placeholder "
                                            "'<ts>'; expected plain text", field=field)
    return {"row_id": row["row_id"], "stage": row["stage"],
            "input": sensor_prompt(row, [PLACEHOLDER] * len(row["series"])),
            "output": row["answer"], "timeseries": row["series"]}


def export(source: ExportSource, w: Writer) -> dict:
    """Write ``<split>/`` for every selected split (stage 1's rows, then stage 2's)."""
    return write_splits(source, lambda split: write_jsonl(
        w, f"{split}/{split}", json_lines(map(example, source.rows(split))),
        source.options.shard_bytes))
