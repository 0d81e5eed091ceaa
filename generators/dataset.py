"""Rows to Arrow tables with the explicit schema, atomic Parquet parts, manifest and card."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from operator import attrgetter
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from generators.errors import InputError
from generators.schema import (QA_SCHEMA, REJECTED_SCHEMA, SCHEMA_VERSION, is_labelled, schemas,
                               unlabelled)
from generators.types import QAItem, Recording

try:
    GENERATOR_VERSION = version("harqa")
except PackageNotFoundError:  # running from a source tree that was never installed
    GENERATOR_VERSION = "0+unknown"


#: ``QA_SCHEMA`` columns copied from each row's attribute of the same name, and from its
#: window's (column → ``Window`` attribute).
_ITEM_COLUMNS = ("row_id", "qa_type", "question", "answer", "template_id", "template_version",
                 "trend_method", "seed")
_WINDOW_COLUMNS = {"stage": "stage", "split": "split", "subject": "subject",
                   "recording_id": "recording_id", "window_id": "window_id",
                   "window_start": "start", "window_end": "end", "activity": "activity",
                   "activity_id": "activity_id", "next_activity": "next_activity",
                   "change_index": "change_index"}
_CHANNEL_COLUMNS = {"channel_names": "name", "channel_units": "unit",
                    "channel_locations": "location", "channel_modalities": "modality",
                    "channel_axes": "axis"}
_FACTS_JSON = json.JSONEncoder(sort_keys=True).encode  # = json.dumps(facts, sort_keys=True)


def items_to_table(items: Sequence[QAItem], rec: Recording, trend_params: dict) -> pa.Table:
    """Build the QA table of one recording's items, series included.

    Columns are gathered attribute by attribute (``operator.attrgetter`` over all rows);
    what rows share is computed once: the channel metadata per channel selection and
    the series per (window, channel selection).

    Args:
        items: Rendered rows, all from ``rec``.
        rec: The recording the windows were cut from.
        trend_params: The trend method's parameters, stored as JSON provenance.

    Returns:
        A table with ``QA_SCHEMA``, or for a recording without labels (no ``label_names``)
        its unlabelled form (``schema.unlabelled``: null activity).
    """
    n = len(items)
    index = {c.name: i for i, c in enumerate(rec.channels)}
    cols: dict[str, object] = {}
    for col in _ITEM_COLUMNS:
        cols[col] = list(map(attrgetter(col), items))
    windows = list(map(attrgetter("window"), items))
    for col, attr in _WINDOW_COLUMNS.items():
        cols[col] = list(map(attrgetter(attr), windows))
    selections = list(map(attrgetter("channels"), items))
    meta = {sel: [rec.channels[index[name]] for name in sel] for sel in set(selections)}
    for col, attr in _CHANNEL_COLUMNS.items():
        per_sel = {sel: [getattr(c, attr) for c in chans] for sel, chans in meta.items()}
        cols[col] = list(map(per_sel.__getitem__, selections))
    series: dict[tuple, np.ndarray] = {}
    for w, sel in zip(windows, selections):
        if (w.start, w.end, sel) not in series:
            series[w.start, w.end, sel] = rec.values[w.start:w.end,
                                                     [index[name] for name in sel]].T
    cols["series"] = series_array([series[w.start, w.end, sel]
                                   for w, sel in zip(windows, selections)])
    cols["facts"] = list(map(_FACTS_JSON, map(attrgetter("facts"), items)))
    for col, value in (("dataset", rec.dataset), ("sample_rate_hz", rec.sample_rate_hz),
                       ("trend_params", json.dumps(trend_params, sort_keys=True)),
                       ("generator_version", GENERATOR_VERSION)):
        cols[col] = [value] * n
    schema = schemas(bool(rec.label_names))[0]
    return pa.Table.from_pydict({f.name: cols[f.name] for f in schema}, schema=schema)


def series_array(series: Sequence[np.ndarray]) -> pa.Array:
    """Build ``list<list<float32>>`` from channel-major 2-D arrays without Python floats."""
    n_channels = np.fromiter((a.shape[0] for a in series), np.int32, len(series))
    n_samples = np.fromiter((a.shape[1] for a in series), np.int32, len(series))
    outer = np.concatenate(([0], np.cumsum(n_channels))).astype(np.int32)
    inner = np.concatenate(([0], np.cumsum(np.repeat(n_samples, n_channels)))).astype(np.int32)
    flat = (np.concatenate([a.ravel() for a in series]) if series else np.zeros(0)).astype(
        np.float32)
    values = pa.ListArray.from_arrays(pa.array(inner), pa.array(flat, pa.float32()))
    return pa.ListArray.from_arrays(pa.array(outer), values)


def write_parquet_atomic(table: pa.Table, path: Path) -> str:
    """Write ``table`` to ``path`` via a temporary name and a rename.

    Readers never see a half-written file: the rename is atomic on one filesystem.

    Args:
        table: The table.
        path: Final file path (parents are created).

    Returns:
        SHA-256 of the written file.
    """
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
        digest = file_sha256(tmp)
    return digest


@contextmanager
def named_os_errors(path: Path) -> Iterator[None]:
    """Name ``path`` in an OSError of the block that names no file: a full disk reported by
    Arrow or by a write call carries only its errno (the class and errno stay)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or not exc.errno:
            raise
        raise OSError(exc.errno, os.strerror(exc.errno), str(path)) from exc


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` for the block to write; renamed to ``path`` when
    the block ends, removed when it fails (:func:`named_os_errors` names ``path``).

    Readers never see a half-written file: the rename is atomic on one filesystem.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with named_os_errors(path):
            yield tmp
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(obj: object, path: Path) -> None:
    """Write JSON through a temporary file and a rename (:func:`atomic_file`)."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(root: Path) -> dict:
    """The ``manifest.json`` of a built dataset: what every command on a dataset reads first.

    Raises:
        InputError: ``root`` is not a directory holding a readable JSON ``manifest.json``
            (the check comes before anything is written).
    """
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise InputError(root, "no manifest.json; expected a dataset built by harqa build")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(path, f"not a readable JSON manifest ({exc}); rebuild the dataset"
                         ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise InputError(path, "expected a JSON object with 'files' (part path → SHA-256); "
                               "rebuild the dataset", field="files")
    return manifest


#: Longest file-name component :func:`file_component` writes out in full (file systems
#: allow 255 bytes; a part's name gets a shard index and ``.parquet`` besides).
MAX_COMPONENT = 200


def file_component(name: str) -> str:
    """The one place where an id from the input (a recording id, which holds a subject
    from a CSV cell or a file name) becomes part of a path.

    Letters, digits, ``_``, ``-``, ``.`` and ``~`` stay; every other character (``/``,
    ``\\``, NUL, ``%``, spaces, non-ASCII) is percent-encoded as UTF-8, and so is a leading
    ``.`` (no hidden name, no ``.`` or ``..``), so the mapping is reversible
    (``urllib.parse.unquote``) and an id never names a folder or leaves its own. An encoded
    name longer than ``MAX_COMPONENT`` keeps its head and ends in ``~`` and 16 hex digits
    of the id's SHA-256, so distinct ids still get distinct names. The rows keep the id as
    it was written.

    Raises:
        ValueError: ``name`` is empty.
    """
    if not name:
        raise ValueError("an empty id cannot name a file")
    safe = quote(name, safe="", errors="surrogatepass")
    if safe.startswith("."):
        safe = "%2E" + safe[1:]
    if len(safe) > MAX_COMPONENT:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        safe = f"{safe[:MAX_COMPONENT - 17]}~{digest}"
    return safe


def part_path(root: Path, stage: int, split: str, part: str) -> Path:
    """Where one part of a stage/split lives: ``<root>/stage<k>/<split>/<part>.parquet``
    (``part`` through :func:`file_component`)."""
    return root / f"stage{stage}" / split / f"{file_component(part)}.parquet"


def rejected_path(root: Path, part: str) -> Path:
    """Where the rejected rows of one part live (``part`` through :func:`file_component`)."""
    return root / "rejected" / f"{file_component(part)}.parquet"


def empty_rejected() -> pa.Table:
    """A rejected table with no rows."""
    return REJECTED_SCHEMA.empty_table()


def read_part(path: Path, columns: Sequence[str] | None, schema: pa.Schema) -> pa.Table:
    """Some columns (default all) of one Parquet part, typed as in ``schema`` (its
    unlabelled form, ``schema.unlabelled``, for a part written with nullable labels).

    Raises:
        InputError: The part is not a readable Parquet file (truncated, corrupt), or it
            lacks a requested column (Arrow would fill it with nulls), as a dataset
            written by an older harqa does; ``field`` is the first missing.
    """
    try:
        part = pq.ParquetFile(path)
        if not is_labelled(part.schema_arrow):
            schema = unlabelled(schema)
        target = schema if columns is None else pa.schema([schema.field(c) for c in columns])
        missing = [c for c in target.names if c not in part.schema_arrow.names]
        table = None if missing else part.read(columns=target.names)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(path, f"not a readable Parquet part, truncated or corrupt ({exc}); "
                               f"rebuild the dataset") from None
    if missing:
        raise InputError(path, f"missing column(s) {missing}: not a part of a dataset with "
                               f"schema version {SCHEMA_VERSION}; rebuild it with this harqa",
                         field=missing[0])
    return table.cast(target)


def part_files(root: Path, stage: int, split: str | None = None) -> list[Path]:
    """The Parquet part files of one stage (optionally one split), sorted."""
    splits = [split] if split else ["train", "test"]
    return sorted(f for s in splits for f in (root / f"stage{stage}" / s).glob("*.parquet"))


def iter_parts(root: Path, stages: Iterable[int] = (1, 2),
               columns: Iterable[str] | None = None) -> Iterator[pa.Table]:
    """The accepted rows of a dataset one part file at a time.

    A part holds one shard of one recording, so a consumer that looks at one part at a
    time needs memory for one shard, whatever the dataset's size.

    Args:
        root: The dataset directory.
        stages: Stages to read.
        columns: Columns to read (default all).

    Yields:
        One table per part file (stage 1 before stage 2, train before test).
    """
    cols = list(columns) if columns is not None else None
    for stage in stages:
        for f in part_files(root, stage):
            yield read_part(f, cols, QA_SCHEMA)


def iter_rejected(root: Path, columns: Iterable[str] | None = None) -> Iterator[pa.Table]:
    """The rejected rows of a dataset one part file at a time (see :func:`iter_parts`)."""
    cols = list(columns) if columns is not None else None
    for f in sorted((root / "rejected").glob("*.parquet")):
        yield read_part(f, cols, REJECTED_SCHEMA)


def read_stage(root: Path, stage: int, split: str | None = None,
               columns: Iterable[str] | None = None) -> pa.Table:
    """Read one stage (optionally one split) of a built dataset into memory.

    Args:
        root: The dataset directory.
        stage: 1 or 2.
        split: ``train``/``test`` or ``None`` for both.
        columns: Columns to read (default all).

    Returns:
        The concatenated table (empty with the schema when there are no parts).
    """
    files = part_files(root, stage, split)
    cols = list(columns) if columns is not None else None
    if not files:
        schema = QA_SCHEMA if cols is None else pa.schema([QA_SCHEMA.field(c) for c in cols])
        return schema.empty_table()
    return pa.concat_tables(read_part(f, cols, QA_SCHEMA) for f in files)


def write_card(root: Path, dataset: str, stages: Iterable[int], counts: dict,
               description: str) -> None:
    """Write the dataset card ``README.md`` whose YAML header configures ``load_dataset``.

    Args:
        root: The dataset directory.
        dataset: Dataset name.
        stages: Stages present; each becomes a config ``stage<k>`` with train/test splits.
        counts: ``{"stage1": {"train": n, "test": n}, …}``.
        description: Markdown body text.
    """
    lines = ["---", "configs:"]
    for stage in stages:
        lines += [f"- config_name: stage{stage}", "  data_files:"]
        for split in ("train", "test"):
            if counts.get(f"stage{stage}", {}).get(split):
                lines += [f"  - split: {split}", f"    path: stage{stage}/{split}/*.parquet"]
    lines += ["license: cc-by-4.0", "task_categories:", "- question-answering",
              "tags:", "- sensor", "- human-activity-recognition", "---", "",
              f"# {dataset} — harqa sensor–text QA", "", description, ""]
    with atomic_file(root / "README.md") as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


def staging_dir(out_root: Path, dataset: str) -> Path:
    """The hidden directory a build writes into before it is published."""
    return out_root / f".{dataset}.staging"


def publish(staging: Path, final: Path) -> None:
    """Replace ``final`` with ``staging`` by renames, so readers see old or new, never half.

    Args:
        staging: The complete new dataset directory.
        final: Where the dataset lives.
    """
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    if old.exists():
        shutil.rmtree(old)
