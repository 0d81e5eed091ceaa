"""OpenTSLM-style prompts (its ``QADataset`` samples), JSONL, each split in its folder of
size-bounded shards, ``<split>/<split>-00000-of-00002.jsonl``.

Each line holds OpenTSLM's sample fields: ``pre_prompt`` (the window and its channels in
order, with units), ``time_series_text`` (one label per channel: "The following is the
waist x-axis accelerometer data (waist_acc_x, g), it has mean m and std s:"),
``time_series`` (each channel z-normalised with that m and s), ``post_prompt`` (the
question) and ``answer``, plus ``row_id`` and ``stage``. ``m`` and ``s`` are the channel's
mean and standard deviation (ddof 1, as torch's ``std``; at least ``MIN_STD``) written with
``DIGITS`` significant digits, and the series is normalised with exactly the written
numbers, so ``z * s + m`` gives the raw series back.
"""

from __future__ import annotations

import numpy as np

from generators.exporters import ExportSource, Writer, json_lines, write_splits
from generators.exporters._prompt import channel_labels, header
from generators.exporters._shards import write_jsonl
from generators.exporters.sensorllm import channel_key

DIGITS = 7
#: OpenTSLM's floor under a channel's standard deviation (a constant channel).
MIN_STD = 1e-6


def _number(x: float) -> str:
    return f"{x:.{DIGITS}g}"


def example(row: dict) -> dict:
    """One row as OpenTSLM's sample, every channel normalised by its stated mean and std."""
    texts, series = [], []
    for c, values in enumerate(row["series"]):
        x = np.asarray(values, dtype=np.float64)
        mean = _number(x.mean())
        std = _number(max(x.std(ddof=1) if len(x) > 1 else 0.0, MIN_STD))
        key = channel_key(row["channel_names"][c], row["channel_locations"][c],
                          row["channel_modalities"][c], row["channel_axes"][c], True)
        texts.append(f"The following is the {key} data ({row['channel_names'][c]}, "
                     f"{row['channel_units'][c]}), it has mean {mean} and std {std}:")
        series.append(((x - float(mean)) / float(std)).tolist())
    return {"row_id": row["row_id"], "stage": row["stage"],
            "pre_prompt": f"{header(row)} {', '.join(channel_labels(row))}.",
            "time_series_text": texts, "time_series": series,
            "post_prompt": row["question"], "answer": row["answer"]}


def export(source: ExportSource, w: Writer) -> dict:
    """Write ``<split>/`` for every selected split with rows."""
    return write_splits(source, lambda split: write_jsonl(
        w, f"{split}/{split}", json_lines(map(example, source.rows(split))),
        source.options.shard_bytes))
