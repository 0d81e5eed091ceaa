"""SensorLLM's training layout (``sensorllm/data/stage1_dataset.py``, ``stage2_dataset.py``).

Stage 1: ``stage1/<split>_qa.json`` is ``{"dataset": [{index, window_id, activity,
summaries, qa_pairs}]}``; ``summaries[<channel>]`` is ``{Q, A, row_id}`` and
``qa_pairs[<channel>]`` a list of ``{Q, A, type, row_id}``, keyed by SensorLLM's channel
names (``x-axis accelerometer``, ``chest x-axis accelerometer`` with several body
locations). Its ``UniChannelTimeSeriesDataset`` zips the channels' lists and asserts equal
``type`` at each position, so only QA types present equally often for every channel of a
window are kept (the rest are counted ``unaligned``).

Stage 2: ``stage2/<split>_qa.json`` is ``{"dataset": [{index, row_id, qa_pair: {Q, smry,
trend_text, corr_text, A, label}}]}`` (the ``activity`` rows), ``stage2/<split>_labels.npy``
the labels, ``stage2/label2id.json`` and ``id2label.json`` the classes.

The series, ``data[index]`` a samples × channels float32 array: by default
``stage1/<split>_data.npz`` (``values`` cut by ``offsets``, read with
:func:`load_stage1_series`) and ``stage2/<split>_data.npy`` (N × length × channels), safe
array files. With ``series_file="pickle"``, ``<stage>/<split>_data.pkl`` instead: the
pickled list of arrays that SensorLLM's loaders ``pickle.load`` — a file for that trainer
only (harqa never reads a pickle).
"""

from __future__ import annotations

import io
import json
import pickle
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generators.dataset import read_stage
from generators.exporters import ExportSource, Writer
from generators.types import SPATIAL_AXES

#: SensorLLM's sensor words in its stage-1 channel keys ("x-axis accelerometer").
SENSOR_WORDS = {"acc": "accelerometer", "gyro": "gyroscope", "mag": "magnetometer"}
#: The stage-1 QA type SensorLLM calls the channel's summary (appended to every answer).
SUMMARY_TYPE = "trend_summary"
SERIES_FILES = ("npz", "pickle")


def channel_key(name: str, location: str, modality: str, axis: str, multi_location: bool) -> str:
    """SensorLLM's key of a channel: ``x-axis accelerometer`` (``chest x-axis …`` when the
    dataset has several body locations); other sensors keep harqa's channel name."""
    if modality not in SENSOR_WORDS or axis not in SPATIAL_AXES:
        return name
    key = f"{axis}-axis {SENSOR_WORDS[modality]}"
    return f"{location.replace('_', '-')} {key}" if multi_location else key


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _write_series(w: Writer, stage: int, split: str, series: list[np.ndarray],
                  series_file: str) -> None:
    """The windows' samples × channels arrays, indexed as the QA entries' ``index``."""
    if series_file == "pickle":
        w.write(f"stage{stage}/{split}_data.pkl",
                pickle.dumps(series, protocol=pickle.HIGHEST_PROTOCOL))
    elif stage == 1:
        offsets = np.cumsum([0] + [len(s) for s in series], dtype=np.int64)
        buf = io.BytesIO()
        np.savez(buf, values=np.concatenate(series) if series else np.zeros((0, 0), np.float32),
                 offsets=offsets)
        w.write(f"stage1/{split}_data.npz", buf.getvalue())
    else:
        w.write(f"stage2/{split}_data.npy",
                _npy(np.stack(series) if series else np.zeros((0, 0, 0), np.float32)))


#: The columns a stage's entries are written from (the series stay in Arrow).
STAGE1_COLUMNS = ["row_id", "window_id", "activity", "channel_names", "channel_locations",
                  "channel_modalities", "channel_axes", "qa_type", "question", "answer"]
STAGE2_COLUMNS = ["row_id", "question", "answer", "facts"]


def _rows(table: pa.Table, columns: list[str]) -> tuple[list[dict], pa.ListArray]:
    """The rows as dicts of ``columns``, each with its position ``i``, and the series
    column: a split's samples stay in Arrow, not as Python floats."""
    rows = table.select(columns).to_pylist()
    for i, row in enumerate(rows):
        row["i"] = i
    return rows, table["series"].combine_chunks()


def _series(column: pa.ListArray, i: int) -> np.ndarray:
    """Row ``i``'s series, channels × samples float32."""
    channels = column[i].values
    return channels.flatten().to_numpy().reshape(len(channels), -1)


def _stage1(source: ExportSource, split: str, w: Writer) -> dict:
    """Stage 1: one entry per window with every channel's summary and aligned QA pairs."""
    table = source.table(1, split, [*STAGE1_COLUMNS, "series"])
    if not table.num_rows:
        return {"windows": 0, "rows": 0}
    multi = len(set(table["channel_locations"].combine_chunks().flatten().to_pylist())) > 1
    # Its loader reads every channel of every window: one that lacks a channel's summary
    # (a window short of a channel too, as a --max-rows draw leaves it) is skipped.
    names = sorted(set(table["channel_names"].combine_chunks().flatten().to_pylist()))
    windows: dict[str, list[dict]] = defaultdict(list)
    all_rows, column = _rows(table, STAGE1_COLUMNS)
    for row in all_rows:
        windows[row["window_id"]].append(row)
    entries, series, unaligned, skipped = [], [], 0, 0
    for window_id in sorted(windows):
        rows = sorted(windows[window_id], key=lambda r: (r["qa_type"], r["row_id"]))
        by_channel: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            by_channel[r["channel_names"][0]].append(r)
        summaries = {n: next((r for r in by_channel[n] if r["qa_type"] == SUMMARY_TYPE), None)
                     for n in names}
        if any(s is None for s in summaries.values()):
            skipped += len(rows)
            continue
        keys = {}
        for n in names:
            r0 = by_channel[n][0]
            keys[n] = channel_key(n, r0["channel_locations"][0], r0["channel_modalities"][0],
                                  r0["channel_axes"][0], multi)
        pairs: dict[str, list[dict]] = {keys[n]: [] for n in names}
        types = sorted({r["qa_type"] for r in rows} - {SUMMARY_TYPE})
        for qa_type in types:
            lists = {n: [r for r in by_channel[n] if r["qa_type"] == qa_type] for n in names}
            k = min(len(v) for v in lists.values())
            unaligned += sum(len(v) - k for v in lists.values())
            for n in names:
                pairs[keys[n]] += [{"Q": r["question"], "A": r["answer"], "type": qa_type,
                                    "row_id": r["row_id"]} for r in lists[n][:k]]
        entries.append({
            "index": len(entries),
            "window_id": window_id,
            "activity": rows[0]["activity"],
            "summaries": {keys[n]: {"Q": summaries[n]["question"], "A": summaries[n]["answer"],
                                    "row_id": summaries[n]["row_id"]} for n in names},
            "qa_pairs": pairs,
        })
        series.append(np.stack([_series(column, by_channel[n][0]["i"])[0] for n in names],
                               axis=1))
    w.json(f"stage1/{split}_qa.json", {"dataset": entries})
    _write_series(w, 1, split, series, source.options.series_file)
    return {"windows": len(entries), "rows": table.num_rows, "unaligned": unaligned,
            "skipped_without_summary": skipped}


def split_activity_question(question: str, facts: dict) -> dict:
    """Cut a stage-2 ``activity`` question into SensorLLM's ``Q``, ``smry``, ``trend_text``
    and ``corr_text``.

    The rendered question is, line by line: the window line; a statistics intro and one
    line per channel; a trend intro and one line per channel; when there are
    correlations, an intro and one line per pair; then the question itself. The counts
    come from the row's facts.

    Raises:
        ValueError: The text does not have that shape (a template that changed it).
    """
    lines = question.split("\n")
    n, k = int(facts["n_channels"]), len(facts["correlations"])
    corr_len = 1 + k if k else 0
    if len(lines) < 1 + 2 * (1 + n) + corr_len + 1:
        raise ValueError(f"activity question has {len(lines)} lines; expected the window "
                         f"line, {n} statistics and {n} trend lines, {k} correlations and "
                         "the question")
    smry = lines[1:2 + n]
    trend = lines[2 + n:3 + 2 * n]
    corr = lines[3 + 2 * n:3 + 2 * n + corr_len]
    rest = lines[3 + 2 * n + corr_len:]
    return {"Q": "\n".join([lines[0], *rest]), "smry": "\n".join(smry),
            "trend_text": "\n".join(trend), "corr_text": "\n".join(corr)}


def _stage2(source: ExportSource, split: str, w: Writer, labels: dict[str, int]) -> dict:
    """Stage 2: the activity rows, their series (samples × channels each) and the labels."""
    table = source.table(2, split, [*STAGE2_COLUMNS, "qa_type", "series"])
    if not table.num_rows:
        return {"windows": 0, "rows": 0}
    activity = table.filter(pc.equal(table["qa_type"], "activity"))
    rows, column = _rows(activity, STAGE2_COLUMNS)
    rows.sort(key=lambda r: r["row_id"])
    entries, series = [], []
    for r in rows:
        try:
            parts = split_activity_question(r["question"], json.loads(r["facts"]))
        except ValueError as exc:
            raise ValueError(f"{source.root}: row {r['row_id']}: {exc}") from None
        entries.append({"index": len(entries), "row_id": r["row_id"],
                        "qa_pair": {**parts, "A": r["answer"], "label": labels[r["answer"]]}})
        series.append(_series(column, r["i"]).T)
    lengths = {s.shape for s in series}
    if len(lengths) > 1:
        raise ValueError(f"{source.root}: stage-2 windows differ in shape {sorted(lengths)}; "
                         "SensorLLM needs one (length, channels)")
    w.json(f"stage2/{split}_qa.json", {"dataset": entries})
    _write_series(w, 2, split, series, source.options.series_file)
    w.write(f"stage2/{split}_labels.npy",
            _npy(np.asarray([e["qa_pair"]["label"] for e in entries], dtype=np.int64)))
    return {"windows": len(entries), "rows": table.num_rows,
            "other_qa_types": table.num_rows - len(entries)}


def _label_ids(root: Path) -> dict[str, int]:
    """Activity answer → class id, ordered by the dataset's activity ids (all its rows)."""
    pairs = set()
    for stage in (1, 2):
        t = read_stage(root, stage, columns=["activity_id", "answer", "qa_type"])
        t = t.filter(pc.equal(t["qa_type"], "activity"))
        pairs |= set(zip(t["activity_id"].to_pylist(), t["answer"].to_pylist()))
    return {answer: i for i, (_, answer) in enumerate(sorted(pairs))}


def export(source: ExportSource, w: Writer) -> dict:
    """Write SensorLLM's layout for the selected stages and splits (module docstring)."""
    summary: dict = {}
    stages = source.stages
    labels = _label_ids(source.root) if 2 in stages else {}
    for split in source.splits:
        if 1 in stages:
            summary[f"stage1/{split}"] = _stage1(source, split, w)
        if 2 in stages:
            summary[f"stage2/{split}"] = _stage2(source, split, w, labels)
    if 2 in stages:
        w.json("stage2/label2id.json", labels)
        w.json("stage2/id2label.json", {str(i): a for a, i in labels.items()})
    return summary


def load_stage1_series(data: np.lib.npyio.NpzFile) -> list[np.ndarray]:
    """The stage-1 windows of a loaded ``<split>_data.npz``: ``[samples × channels]`` by index.

    This replaces SensorLLM's ``pickle.load`` of the data file:
    ``data_file = load_stage1_series(np.load(path))``.
    """
    values, offsets = data["values"], data["offsets"]
    return [values[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
