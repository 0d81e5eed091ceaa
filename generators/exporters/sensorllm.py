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

Its loaders open one QA file and one series file per split (``--qa_path``,
``--data_path``), so these are not cut into shards; they are written as the part files
are read instead: each QA entry as it is made (the JSON is never one object in memory),
each window's array to a local temporary file, copied into the series file at the end.
"""

from __future__ import annotations

import io
import json
import pickle
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generators.dataset import read_stage
from generators.exporters import ExportSource, Part, Sink, Writer
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


class _List:
    """Pickles as a ``list`` of what ``items`` yields, taken one at a time (``__reduce__``'s
    list items), so a pickled list of arrays is written without holding the arrays."""

    def __init__(self, items: Iterator[object]) -> None:
        self.items = items

    def __reduce__(self) -> tuple:
        return list, (), None, self.items


class _Array:
    """Pickles as ``numpy.ndarray(shape, "<f4", buffer)``, a writable float32 array over a
    bytearray. The pickle names only ``numpy.ndarray``, which numpy 1.x and 2.x both have:
    numpy 2's own array pickles name ``numpy._core``, which numpy 1.x cannot import (numpy
    issue 28340), and a trainer's environment may hold either."""

    def __init__(self, shape: tuple[int, int], buffer: bytearray) -> None:
        self.shape, self.buffer = shape, buffer

    def __reduce__(self) -> tuple:
        return np.ndarray, (self.shape, "<f4", self.buffer)


class _Series:
    """The windows' samples × channels float32 arrays, in ``index`` order, spilled to a
    local temporary file as they come (their number and total length are known only at
    the end, and every series file's layout needs them first), then written out whole."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self.shapes: list[tuple[int, int]] = []

    def add(self, array: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        self.shapes.append(array.shape)

    def _buffers(self) -> Iterator[tuple[tuple[int, int], bytearray]]:
        """Each array again, as its shape and its C-order float32 bytes, in the order added."""
        self._file.seek(0)
        for shape in self.shapes:
            buffer = bytearray(4 * shape[0] * shape[1])
            self._file.readinto(buffer)
            yield shape, buffer

    def _raw(self, sink: Sink, shape: tuple[int, ...]) -> None:
        """All arrays as one C-order float32 ``.npy`` of ``shape``."""
        np.lib.format.write_array_header_1_0(sink, {
            "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
            "fortran_order": False, "shape": shape})
        for _, buffer in self._buffers():
            sink.write(buffer)

    def write(self, w: Writer, stage: int, split: str, series_file: str, channels: int) -> None:
        """``data[index]`` as ``series_file`` asks: the pickled list, stage 1's ``.npz``
        (``values`` cut by ``offsets``) or stage 2's ``(N, length, channels)`` ``.npy``.

        Raises:
            ValueError: Stage-2 windows differ in shape (SensorLLM needs one).
        """
        n = len(self.shapes)
        if series_file == "pickle":
            with w.open(f"stage{stage}/{split}_data.pkl") as sink:
                pickler = pickle.Pickler(sink, protocol=pickle.HIGHEST_PROTOCOL)
                pickler.fast = True  # no memo: it would hold every array written
                pickler.dump(_List(_Array(*b) for b in self._buffers()))
                sink.rows = n
        elif stage == 1:
            offsets = np.cumsum([0] + [s[0] for s in self.shapes], dtype=np.int64)
            with w.open(f"stage1/{split}_data.npz") as sink:
                with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as npz:
                    with npz.open("values.npy", "w", force_zip64=True) as values:
                        self._raw(values, (int(offsets[-1]), channels))
                    npz.writestr("offsets.npy", _npy(offsets))
                sink.rows = n
        else:
            shapes = set(self.shapes)
            if len(shapes) > 1:
                raise ValueError(f"stage-2 windows differ in shape {sorted(shapes)}; "
                                 "SensorLLM needs one (length, channels)")
            length, channels = shapes.pop() if shapes else (0, channels)
            with w.open(f"stage2/{split}_data.npy") as sink:
                self._raw(sink, (n, length, channels))
                sink.rows = n
        self._file.close()


class _Entries:
    """A split's QA JSON, ``{"dataset": [entry, …]}``, written an entry (a line) at a time."""

    def __init__(self, w: Writer, rel: str) -> None:
        self._sink = w.create(rel)
        self._sink.write(b'{"dataset": [')
        self.count = 0

    def add(self, entry: dict) -> None:
        self._sink.write((b",\n" if self.count else b"\n")
                         + json.dumps(entry, ensure_ascii=False).encode())
        self.count += 1

    def close(self) -> None:
        self._sink.write(b"\n]}\n")
        self._sink.rows = self.count
        self._sink.close()


#: The columns a stage's entries are written from (the series stay in Arrow).
STAGE1_COLUMNS = ["row_id", "window_id", "activity", "channel_names", "channel_locations",
                  "channel_modalities", "channel_axes", "qa_type", "question", "answer"]
STAGE2_COLUMNS = ["row_id", "question", "answer", "facts"]


def _rows(table: pa.Table, columns: list[str]) -> tuple[list[dict], pa.ListArray]:
    """The rows as dicts of ``columns``, each with its position ``i``, and the series
    column: a part's samples stay in Arrow, not as Python floats."""
    rows = table.select(columns).to_pylist()
    for i, row in enumerate(rows):
        row["i"] = i
    return rows, table["series"].combine_chunks()


def _series(column: pa.ListArray, i: int) -> np.ndarray:
    """Row ``i``'s series, channels × samples float32."""
    channels = column[i].values
    return channels.flatten().to_numpy().reshape(len(channels), -1)


def _channels(part: Part) -> tuple[list[str], bool]:
    """The channel names of a stage-1 part (sorted) and whether it spans body locations."""
    names, locations = set(), set()
    for table in part.tables(["channel_names", "channel_locations"]):
        names |= set(table["channel_names"].combine_chunks().flatten().to_pylist())
        locations |= set(table["channel_locations"].combine_chunks().flatten().to_pylist())
    return sorted(names), len(locations) > 1


def _window(rows: list[dict], names: list[str], multi: bool,
            counts: dict[str, int]) -> dict | None:
    """One window's entry (without ``index``) from its rows, and the row of each channel
    in ``names`` order under ``"_rows"``; ``None`` when a channel lacks its summary."""
    rows = sorted(rows, key=lambda r: (r["qa_type"], r["row_id"]))
    by_channel: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_channel[r["channel_names"][0]].append(r)
    summaries = {n: next((r for r in by_channel[n] if r["qa_type"] == SUMMARY_TYPE), None)
                 for n in names}
    if any(s is None for s in summaries.values()):
        counts["skipped_without_summary"] += len(rows)
        return None
    keys = {}
    for n in names:
        r0 = by_channel[n][0]
        keys[n] = channel_key(n, r0["channel_locations"][0], r0["channel_modalities"][0],
                              r0["channel_axes"][0], multi)
    pairs: dict[str, list[dict]] = {keys[n]: [] for n in names}
    for qa_type in sorted({r["qa_type"] for r in rows} - {SUMMARY_TYPE}):
        lists = {n: [r for r in by_channel[n] if r["qa_type"] == qa_type] for n in names}
        k = min(len(v) for v in lists.values())
        counts["unaligned"] += sum(len(v) - k for v in lists.values())
        for n in names:
            pairs[keys[n]] += [{"Q": r["question"], "A": r["answer"], "type": qa_type,
                                "row_id": r["row_id"]} for r in lists[n][:k]]
    return {"window_id": rows[0]["window_id"], "activity": rows[0]["activity"],
            "summaries": {keys[n]: {"Q": summaries[n]["question"], "A": summaries[n]["answer"],
                                    "row_id": summaries[n]["row_id"]} for n in names},
            "qa_pairs": pairs, "_rows": [by_channel[n][0]["i"] for n in names]}


def _stage1(source: ExportSource, split: str, w: Writer) -> dict:
    """Stage 1: one entry per window with every channel's summary and aligned QA pairs.

    A window's rows are all in one part file (a window belongs to the shard where it
    starts), so the part files are read one at a time and each entry is written as soon
    as it is made: windows in part order, by window id within a part.
    """
    part = source.parts.get((1, split), Part())
    if not part.count:
        return {"windows": 0, "rows": 0}
    # Its loader reads every channel of every window: one that lacks a channel's summary
    # (a window short of a channel too, as a --max-rows draw leaves it) is skipped.
    names, multi = _channels(part)
    counts = {"unaligned": 0, "skipped_without_summary": 0}
    entries, series, seen = _Entries(w, f"stage1/{split}_qa.json"), _Series(), set()
    for table in part.tables([*STAGE1_COLUMNS, "series"]):
        rows, column = _rows(table, STAGE1_COLUMNS)
        windows: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            windows[row["window_id"]].append(row)
        if repeated := seen & windows.keys():
            raise ValueError(f"{source.root}: window {min(repeated)} has rows in two part "
                             "files; expected each window in the part where it starts")
        seen |= windows.keys()
        for window_id in sorted(windows):
            entry = _window(windows[window_id], names, multi, counts)
            if entry is not None:
                at = entry.pop("_rows")
                entries.add({"index": entries.count, **entry})
                series.add(np.stack([_series(column, i)[0] for i in at], axis=1))
    entries.close()
    series.write(w, 1, split, source.options.series_file, len(names))
    return {"windows": entries.count, "rows": part.count, **counts}


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
    """Stage 2: the activity rows (by row id within each part file, parts in order), their
    series (samples × channels each) and the labels, written as each part is read."""
    part = source.parts.get((2, split), Part())
    if not part.count:
        return {"windows": 0, "rows": 0}
    entries, series, ids = _Entries(w, f"stage2/{split}_qa.json"), _Series(), []
    channels = 0
    for table in part.tables([*STAGE2_COLUMNS, "qa_type", "series"]):
        activity = table.filter(pc.equal(table["qa_type"], "activity"))
        rows, column = _rows(activity, STAGE2_COLUMNS)
        for r in sorted(rows, key=lambda r: r["row_id"]):
            try:
                parts = split_activity_question(r["question"], json.loads(r["facts"]))
            except ValueError as exc:
                raise ValueError(f"{source.root}: row {r['row_id']}: {exc}") from None
            ids.append(labels[r["answer"]])
            entries.add({"index": entries.count, "row_id": r["row_id"],
                         "qa_pair": {**parts, "A": r["answer"], "label": ids[-1]}})
            series.add(_series(column, r["i"]).T)
            channels = series.shapes[-1][1]
    entries.close()
    series.write(w, 2, split, source.options.series_file, channels)
    w.write(f"stage2/{split}_labels.npy", _npy(np.asarray(ids, dtype=np.int64)), len(ids))
    return {"windows": entries.count, "rows": part.count,
            "other_qa_types": part.count - entries.count}


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
        w.json("stage2/label2id.json", labels, len(labels))
        w.json("stage2/id2label.json", {str(i): a for a, i in labels.items()}, len(labels))
    return summary


def load_stage1_series(data: np.lib.npyio.NpzFile) -> list[np.ndarray]:
    """The stage-1 windows of a loaded ``<split>_data.npz``: ``[samples × channels]`` by index.

    This replaces SensorLLM's ``pickle.load`` of the data file:
    ``data_file = load_stage1_series(np.load(path))``.
    """
    values, offsets = data["values"], data["offsets"]
    return [values[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
