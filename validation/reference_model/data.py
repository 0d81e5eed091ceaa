"""Read a built dataset's QA rows for the reference model, subsampled by a seeded row hash."""

from __future__ import annotations

import hashlib
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

COLUMNS = ("row_id", "subject", "qa_type", "activity", "question", "answer", "channel_names",
           "series", "sample_rate_hz", "trend_method", "trend_params")
"""The QA_SCHEMA columns the reference model reads."""


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
        channel_names: Names of the channels of each row's series.
        series: One float32 array (channels × samples) per row.
        sample_rate_hz: Sampling rate of each row.
        trend_method: Trend method each row was written with.
        trend_params: Its parameters (JSON).
    """

    row_id: tuple[str, ...]
    subject: tuple[str, ...]
    qa_type: tuple[str, ...]
    activity: tuple[str, ...]
    question: tuple[str, ...]
    answer: tuple[str, ...]
    channel_names: tuple[tuple[str, ...], ...]
    series: tuple[np.ndarray, ...]
    sample_rate_hz: np.ndarray
    trend_method: tuple[str, ...]
    trend_params: tuple[str, ...]

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
              seed: int = 0, qa_types: Sequence[str] = ()) -> Rows:
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

    Returns:
        The rows.

    Raises:
        InputError: Missing parts or columns, or ragged series.
    """
    files = part_files(dataset_dir, stage, split)
    table = pa.concat_tables([read_part(f, COLUMNS, QA_SCHEMA) for f in files])
    if qa_types:
        table = table.filter(pc.is_in(table.column("qa_type"), pa.array(list(qa_types))))
    hashes = np.array([row_hash(seed, r) for r in table.column("row_id").to_pylist()],
                      dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    if limit is not None:
        order = order[:limit]
    table = table.take(pa.array(order))
    names = [tuple(n) for n in table.column("channel_names").to_pylist()]
    strings = {c: tuple(table.column(c).to_pylist()) for c in
               ("row_id", "subject", "qa_type", "activity", "question", "answer",
                "trend_method", "trend_params")}
    rows = Rows(**strings, channel_names=tuple(names),
                series=tuple(_series_arrays(table.column("series"))),
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
    """The control: every row's text paired with another row's sensor data, at random.

    Series and channel names move together (a seeded permutation), so the sensor input
    stays well-formed while its link to the question and answer is broken.

    Args:
        rows: Aligned rows.
        seed: Permutation seed.

    Returns:
        Rows with permuted ``series``, ``channel_names`` and ``sample_rate_hz``.
    """
    perm = np.random.default_rng([seed, 0x5EED]).permutation(len(rows))
    return replace(rows, series=tuple(rows.series[i] for i in perm),
                   channel_names=tuple(rows.channel_names[i] for i in perm),
                   sample_rate_hz=rows.sample_rate_hz[perm])
