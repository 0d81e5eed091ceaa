"""Exports of a built dataset: SensorLLM's training layout and one-QA-per-line JSONL (fsspec)."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, Iterator

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generators.dataset import read_stage
from generators.registry import Registry
from generators.types import SPATIAL_AXES

#: Export format name → writer ``(dataset dir, _Writer) -> summary``.
EXPORTERS: Registry[Callable[[Path, "_Writer"], dict]] = Registry("export format")
SPLITS = ("train", "test")
#: SensorLLM's sensor words in its stage-1 channel keys ("x-axis accelerometer").
SENSOR_WORDS = {"acc": "accelerometer", "gyro": "gyroscope", "mag": "magnetometer"}
#: The stage-1 QA type SensorLLM calls the channel's summary (appended to every answer).
SUMMARY_TYPE = "trend_summary"


def export(root: Path, fmt: str, out: str) -> dict:
    """Export the dataset in ``root`` to ``out`` in format ``fmt``.

    Args:
        root: A built dataset directory (holding ``manifest.json``).
        fmt: A name in ``EXPORTERS``.
        out: Destination directory, a local path or an fsspec URL (``memory://x``,
            ``s3://bucket/x`` with s3fs installed).

    Returns:
        What was written: ``files`` (relative paths) and per-part row counts.

    Raises:
        InputError: A part of the dataset cannot be read; nothing of the export is left
            (the files written before are removed, and ``out`` if the export made it).
    """
    writer = EXPORTERS[fmt]
    if not (Path(root) / "manifest.json").is_file():
        raise FileNotFoundError(f"{root}: not a built dataset (no manifest.json)")
    w = _Writer(out)
    try:
        return writer(Path(root), w)
    except BaseException:
        w.discard()
        raise


class _Writer:
    """Writes files under one fsspec directory, each through a temporary name and a move."""

    def __init__(self, url: str) -> None:
        self.fs, self.base = fsspec.core.url_to_fs(url)
        self.created = not self.fs.exists(self.base)
        self.fs.makedirs(self.base, exist_ok=True)
        self.files: list[str] = []

    def discard(self) -> None:
        """Remove what this writer wrote (a failed export leaves nothing half-written):
        the directory it made, or else its files in the user's directory."""
        if self.created:
            self.fs.rm(self.base, recursive=True)
        else:
            for rel in self.files:
                self.fs.rm(f"{self.base.rstrip('/')}/{rel}")
        self.files = []

    def write(self, rel: str, data: bytes | Iterable[bytes]) -> None:
        path = f"{self.base.rstrip('/')}/{rel}"
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        tmp = f"{path}.tmp"
        try:
            with self.fs.open(tmp, "wb") as fh:
                for chunk in [data] if isinstance(data, bytes) else data:
                    fh.write(chunk)
        except BaseException:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
            raise
        self.fs.mv(tmp, path)
        self.files.append(rel)

    def json(self, rel: str, obj: object) -> None:
        self.write(rel, json.dumps(obj, ensure_ascii=False, indent=1).encode())

    def npy(self, rel: str, array: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, array, allow_pickle=False)
        self.write(rel, buf.getvalue())

    def npz(self, rel: str, **arrays: np.ndarray) -> None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        self.write(rel, buf.getvalue())


def channel_key(name: str, location: str, modality: str, axis: str, multi_location: bool) -> str:
    """SensorLLM's key of a channel: ``x-axis accelerometer`` (``chest x-axis …`` when the
    dataset has several body locations); other sensors keep harqa's channel name."""
    if modality not in SENSOR_WORDS or axis not in SPATIAL_AXES:
        return name
    key = f"{axis}-axis {SENSOR_WORDS[modality]}"
    return f"{location.replace('_', '-')} {key}" if multi_location else key


def _series_matrix(series: list) -> np.ndarray:
    """One row's channel-major series as SensorLLM's samples × channels float32 array."""
    return np.asarray(series, dtype=np.float32).T


def _stage1(root: Path, split: str, w: _Writer) -> dict:
    """Stage 1: one entry per window with every channel's summary and aligned QA pairs.

    SensorLLM zips the QA lists of all channels and asserts equal types at each position,
    so only QA types present the same number of times for every channel of a window are
    kept, in a fixed order; the rest are counted as ``unaligned``.
    """
    table = read_stage(root, 1, split)
    if not table.num_rows:
        return {"windows": 0, "rows": 0}
    multi = len(set(table["channel_locations"].combine_chunks().flatten().to_pylist())) > 1
    windows: dict[str, list[dict]] = defaultdict(list)
    for row in table.to_pylist():
        windows[row["window_id"]].append(row)
    entries, values, offsets, unaligned, skipped = [], [], [0], 0, 0
    for window_id in sorted(windows):
        rows = sorted(windows[window_id], key=lambda r: (r["qa_type"], r["row_id"]))
        by_channel: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            by_channel[r["channel_names"][0]].append(r)
        names = sorted(by_channel)
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
                pairs[keys[n]] += [{"Q": r["question"], "A": r["answer"], "type": qa_type}
                                   for r in lists[n][:k]]
        entries.append({
            "index": len(entries),
            "window_id": window_id,
            "activity": rows[0]["activity"],
            "summaries": {keys[n]: {"Q": summaries[n]["question"], "A": summaries[n]["answer"]}
                          for n in names},
            "qa_pairs": pairs,
        })
        values.append(np.stack([np.asarray(by_channel[n][0]["series"][0], np.float32)
                                for n in names], axis=1))
        offsets.append(offsets[-1] + values[-1].shape[0])
    w.json(f"stage1/{split}_qa.json", {"dataset": entries})
    w.npz(f"stage1/{split}_data.npz",
          values=np.concatenate(values) if values else np.zeros((0, 0), np.float32),
          offsets=np.asarray(offsets, np.int64))
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


def _stage2(root: Path, split: str, w: _Writer, labels: dict[str, int]) -> dict:
    """Stage 2: the activity rows, their series as one (N, L, C) array and the labels."""
    table = read_stage(root, 2, split)
    if not table.num_rows:
        return {"windows": 0, "rows": 0}
    rows = sorted((r for r in table.to_pylist() if r["qa_type"] == "activity"),
                  key=lambda r: r["row_id"])
    entries, series = [], []
    for r in rows:
        try:
            parts = split_activity_question(r["question"], json.loads(r["facts"]))
        except ValueError as exc:
            raise ValueError(f"{root}: row {r['row_id']}: {exc}") from None
        entries.append({"index": len(entries), "row_id": r["row_id"],
                        "qa_pair": {**parts, "A": r["answer"], "label": labels[r["answer"]]}})
        series.append(_series_matrix(r["series"]))
    lengths = {s.shape for s in series}
    if len(lengths) > 1:
        raise ValueError(f"{root}: stage-2 windows differ in shape {sorted(lengths)}; "
                         "SensorLLM needs one (length, channels)")
    w.json(f"stage2/{split}_qa.json", {"dataset": entries})
    w.npy(f"stage2/{split}_data.npy",
          np.stack(series) if series else np.zeros((0, 0, 0), np.float32))
    w.npy(f"stage2/{split}_labels.npy", np.asarray([e["qa_pair"]["label"] for e in entries],
                                                   dtype=np.int64))
    return {"windows": len(entries), "rows": table.num_rows,
            "other_qa_types": table.num_rows - len(entries)}


def _label_ids(root: Path) -> dict[str, int]:
    """Activity answer → class id, ordered by the dataset's activity ids."""
    pairs = set()
    for stage in (1, 2):
        t = read_stage(root, stage, columns=["activity_id", "answer", "qa_type"])
        t = t.filter(pc.equal(t["qa_type"], "activity"))
        pairs |= set(zip(t["activity_id"].to_pylist(), t["answer"].to_pylist()))
    return {answer: i for i, (_, answer) in enumerate(sorted(pairs))}


@EXPORTERS.register("sensorllm")
def export_sensorllm(root: Path, w: _Writer) -> dict:
    """SensorLLM's training layout, with safe array files instead of pickles.

    ``stage1/<split>_qa.json`` is ``{"dataset": [{index, summaries, qa_pairs}]}`` keyed by
    SensorLLM channel names; ``stage1/<split>_data.npz`` holds the variable-length windows
    as ``values`` (all samples × channels) cut by ``offsets`` (see :func:`load_stage1_series`).
    ``stage2/<split>_qa.json`` is ``{"dataset": [{index, qa_pair: {Q, smry, trend_text,
    corr_text, A, label}}]}`` with ``stage2/<split>_data.npy`` (N × length × channels)
    and ``stage2/<split>_labels.npy``; ``stage2/id2label.json`` and ``label2id.json`` map
    class ids to answers.
    """
    labels = _label_ids(root)
    summary = {"format": "sensorllm"}
    for split in SPLITS:
        summary[f"stage1/{split}"] = _stage1(root, split, w)
        summary[f"stage2/{split}"] = _stage2(root, split, w, labels)
    w.json("stage2/label2id.json", labels)
    w.json("stage2/id2label.json", {str(i): a for a, i in labels.items()})
    summary["files"] = sorted(w.files)
    return summary


def load_stage1_series(data: np.lib.npyio.NpzFile) -> list[np.ndarray]:
    """The stage-1 windows of a loaded ``<split>_data.npz``: ``[samples × channels]`` by index.

    This replaces SensorLLM's ``pickle.load`` of the data file:
    ``data_file = load_stage1_series(np.load(path))``.
    """
    values, offsets = data["values"], data["offsets"]
    return [values[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def _jsonl_rows(table: pa.Table) -> Iterator[bytes]:
    """Each row as one JSON line (facts parsed, series as nested lists)."""
    keep = ("row_id", "dataset", "stage", "split", "subject", "recording_id", "window_id",
            "activity", "sample_rate_hz", "channel_names", "channel_units", "qa_type",
            "question", "answer", "template_id", "template_version", "trend_method", "seed")
    for r in table.to_pylist():
        obj = {k: r[k] for k in keep}
        obj["facts"] = json.loads(r["facts"])
        obj["series"] = r["series"]
        yield json.dumps(obj, ensure_ascii=False).encode() + b"\n"


@EXPORTERS.register("jsonl")
def export_jsonl(root: Path, w: _Writer) -> dict:
    """One QA per line with its series: ``stage<k>/<split>.jsonl``."""
    summary: dict = {"format": "jsonl"}
    for stage in (1, 2):
        for split in SPLITS:
            table = read_stage(root, stage, split)
            if table.num_rows:
                w.write(f"stage{stage}/{split}.jsonl", _jsonl_rows(table))
                summary[f"stage{stage}/{split}"] = table.num_rows
    summary["files"] = sorted(w.files)
    return summary
