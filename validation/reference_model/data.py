"""Read a built dataset's QA rows for the reference model, subsampled by a seeded row hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from generators.dataset import read_part
from generators.errors import InputError
from generators.schema import QA_SCHEMA
from validation.checks import Row
from validation.checks._read import Reader

TEXT_COLUMNS = ("row_id", "subject", "qa_type", "activity", "question", "answer",
                "template_id", "facts", "trend_method", "trend_params")
"""The QA_SCHEMA string columns the reference model reads."""

CHANNEL_COLUMNS = ("channel_names", "channel_units", "channel_locations", "channel_modalities",
                   "channel_axes")
"""The per-channel QA_SCHEMA columns it reads."""

COLUMNS = (*TEXT_COLUMNS, *CHANNEL_COLUMNS, "next_activity", "change_index", "series",
           "sample_rate_hz")
"""Every QA_SCHEMA column the reference model reads."""


@dataclass(frozen=True, eq=False)
class Rows:
    """The rows of one stage and split that the model sees, in a fixed order.

    Attributes:
        row_id: Stable row ids.
        subject: Subject of each row.
        qa_type: QA type of each row.
        activity: Activity label of each row.
        question: Question text.
        answer: Answer text.
        template_id: ``<qa_type>/<variant>`` each row was rendered with.
        facts: The facts (JSON) each answer was rendered from.
        trend_method: Trend method each row was written with.
        trend_params: Its parameters (JSON).
        channel_names: Names of the channels of each row's series.
        channel_units: Their units.
        channel_locations: Their body locations.
        channel_modalities: Their modalities.
        channel_axes: Their axes.
        next_activity: Second activity of a transition window, else ``None``.
        change_index: Sample where it starts, else ``None``.
        series: One float32 array (channels × samples) per row.
        sample_rate_hz: Sampling rate of each row.
    """

    row_id: tuple[str, ...]
    subject: tuple[str, ...]
    qa_type: tuple[str, ...]
    activity: tuple[str, ...]
    question: tuple[str, ...]
    answer: tuple[str, ...]
    template_id: tuple[str, ...]
    facts: tuple[str, ...]
    trend_method: tuple[str, ...]
    trend_params: tuple[str, ...]
    channel_names: tuple[tuple[str, ...], ...]
    channel_units: tuple[tuple[str, ...], ...]
    channel_locations: tuple[tuple[str, ...], ...]
    channel_modalities: tuple[tuple[str, ...], ...]
    channel_axes: tuple[tuple[str, ...], ...]
    next_activity: tuple[str | None, ...]
    change_index: tuple[int | None, ...]
    series: tuple[np.ndarray, ...]
    sample_rate_hz: np.ndarray

    def __len__(self) -> int:
        return len(self.row_id)

    def take(self, index: Sequence[int]) -> Rows:
        """The rows at ``index``, in that order."""
        idx = [int(i) for i in index]
        picked = {}
        for f in fields(self):
            value = getattr(self, f.name)
            picked[f.name] = (value[idx] if isinstance(value, np.ndarray)
                              else tuple(value[i] for i in idx))
        return Rows(**picked)

    def __add__(self, other: Rows) -> Rows:
        """These rows, then ``other``'s."""
        return Rows(**{f.name: (np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                                if f.name == "sample_rate_hz"
                                else getattr(self, f.name) + getattr(other, f.name))
                       for f in fields(self)})

    def check_row(self, i: int, answer: str | None = None, reader: Reader | None = None
                  ) -> Row:
        """Row ``i`` as the semantic checks see it (``validation.checks.Row``), with
        ``answer`` in place of its own (a generated one) when given.

        Args:
            i: Row index.
            answer: Answer text to carry instead of the row's.
            reader: The template packs and class names to read the text along.

        Returns:
            The check row.
        """
        return Row(row_id=self.row_id[i], qa_type=self.qa_type[i], question=self.question[i],
                   answer=self.answer[i] if answer is None else answer, series=self.series[i],
                   sample_rate_hz=float(self.sample_rate_hz[i]),
                   channel_names=self.channel_names[i], channel_units=self.channel_units[i],
                   channel_locations=self.channel_locations[i],
                   channel_modalities=self.channel_modalities[i],
                   channel_axes=self.channel_axes[i], activity=self.activity[i],
                   next_activity=self.next_activity[i], change_index=self.change_index[i],
                   template_id=self.template_id[i], trend_method=self.trend_method[i],
                   trend_params=json.loads(self.trend_params[i] or "{}"), reader=reader)


def row_hash(seed: int, row_id: str) -> int:
    """A stable 64-bit hash of (seed, row id): the row's place in a seeded subsample."""
    digest = hashlib.blake2b(f"{seed}\x1f{row_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def part_files(dataset_dir: Path, stage: int, split: str) -> list[Path]:
    """The Parquet parts of one stage and split, sorted.

    Raises:
        InputError: No part exists where the dataset layout puts them.
    """
    folder = Path(dataset_dir) / f"stage{stage}" / split
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise InputError(folder, f"no Parquet parts; expected {folder}/*.parquet "
                                 "(a dataset written by `harqa build`)")
    return files


def _series_arrays(column: pa.ChunkedArray) -> list[np.ndarray]:
    """``list<list<float32>>`` rows as channel-major float32 arrays, without Python floats."""
    outer = column.combine_chunks()
    inner = outer.flatten()
    flat = inner.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    n_channels = outer.value_lengths().to_numpy(zero_copy_only=False)
    lengths = inner.value_lengths().to_numpy(zero_copy_only=False)
    channel_bounds = np.concatenate(([0], np.cumsum(n_channels)))
    sample_bounds = np.concatenate(([0], np.cumsum(lengths)))
    out = []
    for r in range(len(n_channels)):
        a, b = channel_bounds[r], channel_bounds[r + 1]
        n = lengths[a] if b > a else 0
        out.append(flat[sample_bounds[a]:sample_bounds[b]].reshape(b - a, n))
    return out


def _check_series(path_hint: Path, rows: Rows) -> None:
    for rid, names, s in zip(rows.row_id, rows.channel_names, rows.series):
        if s.shape[0] != len(names) or s.shape[1] < 2:
            raise InputError(path_hint, f"row {rid}: series of shape {s.shape} for channels "
                                        f"{list(names)}; expected one series of ≥ 2 samples "
                                        "per channel", field="series")


def load_rows(dataset_dir: Path, stage: int, split: str, limit: int | None = None,
              seed: int = 0, qa_types: Sequence[str] = (), exclude: Sequence[str] = (),
              per_type: bool = False) -> Rows:
    """Read one stage and split, keeping at most ``limit`` rows chosen by seeded row hash.

    The kept rows are those with the smallest ``row_hash(seed, row_id)``, ordered by it,
    so the subsample depends only on the seed and the row ids, not on part order.

    Args:
        dataset_dir: Dataset root (holds ``stage1/``, ``stage2/``).
        stage: 1 or 2.
        split: ``train`` or ``test``.
        limit: Most rows kept; ``None`` keeps all.
        seed: Subsampling seed.
        qa_types: Keep only these QA types (empty: all).
        exclude: Leave these QA types out.
        per_type: ``limit`` counts the rows of each QA type apart (each type's rows with
            the smallest hashes), not all rows together.

    Returns:
        The rows.

    Raises:
        InputError: Missing parts or columns, or ragged series.
    """
    files = part_files(dataset_dir, stage, split)
    table = pa.concat_tables([read_part(f, COLUMNS, QA_SCHEMA) for f in files])
    if qa_types:
        table = table.filter(pc.is_in(table.column("qa_type"), pa.array(list(qa_types))))
    if exclude:
        table = table.filter(pc.invert(pc.is_in(table.column("qa_type"),
                                                pa.array(list(exclude), pa.string()))))
    hashes = np.array([row_hash(seed, r) for r in table.column("row_id").to_pylist()],
                      dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    if limit is not None and per_type:
        types = np.array(table.column("qa_type").to_pylist(), dtype=object)[order]
        rank = np.zeros(order.size, dtype=np.int64)
        for t in set(types):
            at = types == t
            rank[at] = np.arange(int(at.sum()))
        order = order[rank < limit]
    elif limit is not None:
        order = order[:limit]
    table = table.take(pa.array(order))
    columns = {c: tuple(table.column(c).to_pylist()) for c in
               (*TEXT_COLUMNS, "next_activity", "change_index")}
    channels = {c: tuple(tuple(n) for n in table.column(c).to_pylist())
                for c in CHANNEL_COLUMNS}
    rows = Rows(**columns, **channels, series=tuple(_series_arrays(table.column("series"))),
                sample_rate_hz=pc.cast(table.column("sample_rate_hz"), pa.float64())
                .to_numpy())
    _check_series(files[0].parent, rows)
    return rows


def all_channel_names(dataset_dir: Path) -> list[str]:
    """Every channel name in any stage and split of the dataset, sorted.

    Args:
        dataset_dir: Dataset root.

    Returns:
        The names (reads only the ``channel_names`` column).
    """
    names: set[str] = set()
    for path in sorted(Path(dataset_dir).glob("stage*/*/*.parquet")):
        column = pq.read_table(path, columns=["channel_names"]).column("channel_names")
        names.update(pc.unique(pc.list_flatten(column)).to_pylist())
    return sorted(names)


def shuffled_pairing(rows: Rows, seed: int) -> Rows:
    """The control: every row's text paired with the sensor data of another row of its QA
    type, at random.

    Series and their channel columns move together (a seeded permutation within each QA
    type, types in sorted order), so the sensor input stays well-formed for the question
    while its link to the question and answer is broken.

    Args:
        rows: Aligned rows.
        seed: Permutation seed.

    Returns:
        Rows with permuted ``series``, channel columns and ``sample_rate_hz``.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    types = np.array(rows.qa_type, dtype=object)
    perm = np.arange(len(rows))
    for t in sorted(set(rows.qa_type)):
        idx = np.flatnonzero(types == t)
        perm[idx] = idx[rng.permutation(idx.size)]
    moved = {c: tuple(getattr(rows, c)[i] for i in perm) for c in (*CHANNEL_COLUMNS, "series")}
    return replace(rows, **moved, sample_rate_hz=rows.sample_rate_hz[perm])
