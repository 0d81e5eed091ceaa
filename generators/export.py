"""``harqa export``'s entry: select a built dataset's rows, hand them to a format of
``generators.exporters`` and publish its files with the export's manifest, all or nothing,
to a local directory or an fsspec URL."""

from __future__ import annotations

import hashlib
import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import fsspec
import numpy as np

from generators.dataset import (GENERATOR_VERSION, named_os_errors, part_files, read_manifest,
                                read_part)
from generators.errors import InputError
from generators.exporters import EXPORTERS, SPLITS, ExportOptions, ExportSource, Part
from generators.exporters.sensorllm import SERIES_FILES
from generators.schema import QA_SCHEMA
from generators.seeding import stable_rng

#: The export's own manifest (not ``manifest.json``: an export is not a built dataset).
MANIFEST = "export-manifest.json"


def export(root: Path, fmt: str, out: str, options: ExportOptions = ExportOptions(),
           overwrite: bool = False) -> dict:
    """Export the dataset in ``root`` to ``out`` in format ``fmt``.

    Args:
        root: A built dataset directory (holding ``manifest.json``).
        fmt: A name in ``EXPORTERS``.
        out: Destination directory, a local path or an fsspec URL (``memory://x``,
            ``s3://bucket/x`` with s3fs installed); it must be absent or empty unless
            ``overwrite``, which replaces its contents.
        options: Which rows (stage, split, mix, row cap, seed) and format options.
        overwrite: Replace what ``out`` holds.

    Returns:
        ``format``, the format's summary (rows per part) and ``files`` (relative paths,
        the manifest ``export-manifest.json`` included). The manifest lists every other
        file with its rows, bytes and SHA-256.

    Raises:
        InputError: An option is out of range, ``root`` holds no ``manifest.json``, ``out``
            is not empty, or a part of the dataset cannot be read; nothing of the export is
            left (``out`` as it was).
    """
    writer = EXPORTERS[fmt]
    _check_options(fmt, options)
    read_manifest(root)
    w = _Writer(out, overwrite)
    parts = select(Path(root), options)
    try:
        summary = {"format": fmt, **writer(ExportSource(Path(root), parts, options), w)}
        w.json(MANIFEST, _manifest(Path(root), fmt, options, parts, w.records))
        w.commit()
    except BaseException:
        w.discard()
        raise
    return {**summary, "files": sorted(w.files)}


def parse_mix(text: str) -> dict[int, float]:
    """``"stage1:0.9,stage2:0.1"`` → ``{1: 0.9, 2: 0.1}`` (shares of each exported split).

    Raises:
        InputError: Not ``stage<k>:<share>`` pairs of stage 1 or 2 with positive shares
            summing to 1.
    """
    mix: dict[int, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, share = part.partition(":")
        try:
            stage, value = {"stage1": 1, "stage2": 2}[key.strip()], float(share)
        except (KeyError, ValueError):
            raise InputError("--mix", f"{part!r}: expected stage1:<share> or "
                                      "stage2:<share>, e.g. stage1:0.9,stage2:0.1") from None
        if stage in mix or not value > 0:
            raise InputError("--mix", f"{part!r}: expected each stage once with a share > 0")
        mix[stage] = value
    if not mix or abs(sum(mix.values()) - 1) > 1e-6:
        raise InputError("--mix", f"{text!r}: expected shares that sum to 1")
    return mix


def _check_options(fmt: str, options: ExportOptions) -> None:
    stages = _stages(options)
    if options.split not in (*SPLITS, "all"):
        raise InputError("--split", f"expected train, test or all, got {options.split!r}")
    if not set(options.mix) <= set(stages):
        raise InputError("--mix", f"mixes stages {sorted(options.mix)} but --stage "
                                  f"{options.stage} exports {list(stages)}")
    if options.max_rows is not None and options.max_rows < 1:
        raise InputError("--max-rows", f"expected a positive number, got {options.max_rows}")
    if options.shard_bytes < 1:
        raise InputError("--shard-mb", f"expected a positive size, got {options.shard_bytes} bytes")
    if options.series_file not in SERIES_FILES:
        raise InputError("--series-file", f"expected npz or pickle, got {options.series_file!r}")
    for name, owner, used in (("--series-in-text", "messages", options.series_in_text),
                              ("--series-file", "sensorllm", options.series_file != "npz")):
        if used and fmt != owner:
            raise InputError(name, f"applies to --format {owner} only, not {fmt}")


def _stages(options: ExportOptions) -> tuple[int, ...]:
    choice = {"1": (1,), "2": (2,), "all": (1, 2)}
    if options.stage not in choice:
        raise InputError("--stage", f"expected 1, 2 or all, got {options.stage!r}")
    return choice[options.stage]


def select(root: Path, options: ExportOptions) -> dict[tuple[int, str], Part]:
    """The selected rows of each selected ``(stage, split)``, in the dataset's order.

    With a mix or a row cap, each split is drawn on its own: ``options.mix`` shares of it
    from each stage (without one, the stages' shares as built), as many rows as the
    scarcest stage allows, at most ``options.max_rows``; which rows, from
    ``stable_rng(seed, "export", stage, split)``. Only the ``row_id`` column is read here.

    Raises:
        InputError: The mix asks for a stage that has no rows in a split, or a part file
            is not readable.
    """
    stages = _stages(options)
    splits = SPLITS if options.split == "all" else (options.split,)
    parts = {}
    for stage in stages:
        for split in splits:
            files = tuple(part_files(root, stage, split))
            parts[stage, split] = Part(files, sum(read_part(f, ["row_id"], QA_SCHEMA).num_rows
                                                  for f in files))
    if not options.mix and options.max_rows is None:
        return parts
    for split in splits:
        quota = _quota({stage: parts[stage, split].rows for stage in stages},
                       options.mix, options.max_rows, split)
        for stage in stages:
            part = parts[stage, split]
            if quota[stage] < part.rows:
                pick = stable_rng(options.seed, "export", stage, split).choice(
                    part.rows, quota[stage], replace=False)
                parts[stage, split] = Part(part.files, part.rows, np.sort(pick))
    return parts


def _quota(available: Mapping[int, int], mix: Mapping[int, float], max_rows: int | None,
           split: str) -> dict[int, int]:
    """Rows to draw from each stage of one split (largest remainders of total × share)."""
    rows = sum(available.values())
    if not rows:
        return dict(available)
    shares = {stage: mix.get(stage, 0.0) if mix else n / rows for stage, n in available.items()}
    for stage, share in shares.items():
        if share > 0 and not available[stage]:
            raise InputError("--mix", f"asks for stage{stage} rows, but split {split} has none")
    total = min(math.floor(available[s] / p + 1e-9) for s, p in shares.items() if p > 0)
    total = min(total, max_rows) if max_rows is not None else total
    while True:
        exact = {stage: total * share for stage, share in shares.items()}
        counts = {stage: math.floor(x) for stage, x in exact.items()}
        by_remainder = sorted(exact, key=lambda s: (counts[s] - exact[s], s))
        for stage in by_remainder[:total - sum(counts.values())]:
            counts[stage] += 1
        if all(counts[s] <= available[s] for s in counts):
            return counts
        total -= 1


def _manifest(root: Path, fmt: str, options: ExportOptions,
              parts: Mapping[tuple[int, str], Part], files: Mapping[str, dict]) -> dict:
    """What the export is: its source (dataset, build key, digest of its manifest), format,
    selection (stage, split, mix, cap, seed), options, rows selected per part, and every
    file (shard) written with its rows, bytes and SHA-256, by path."""
    source = (root / "manifest.json").read_bytes()
    built = json.loads(source)
    return {
        "format": fmt,
        "source": {"path": str(root), "dataset": built.get("dataset"),
                   "build_key": built.get("build_key"),
                   "manifest_sha256": hashlib.sha256(source).hexdigest()},
        "stage": options.stage, "split": options.split,
        "mix": {f"stage{stage}": share for stage, share in sorted(options.mix.items())},
        "max_rows": options.max_rows, "seed": options.seed,
        "series_in_text": options.series_in_text, "series_file": options.series_file,
        "shard_bytes": options.shard_bytes,
        "rows": {f"stage{stage}/{split}": p.count for (stage, split), p in parts.items()},
        "files": [{"path": rel, **files[rel]} for rel in sorted(files)],
        "generator_version": GENERATOR_VERSION,
    }


class _Sink:
    """A staged file being written: its bytes go through, counted and hashed."""

    def __init__(self, writer: "_Writer", rel: str) -> None:
        self.writer, self.rel, self.rows = writer, rel, None
        self.path = f"{writer.staging}/{rel}"
        self._fh = writer.fs.open(self.path, "wb")
        self._sha = hashlib.sha256()
        self._bytes = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._sha.update(data)
        self._bytes += len(data)
        with named_os_errors(self.path):  # a full disk names the file
            return self._fh.write(data)

    def tell(self) -> int:
        return self._bytes

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        """Close the file and record it (path, rows, bytes, SHA-256) for the manifest."""
        if not self.closed:
            self.closed = True
            self.writer.unclosed.remove(self)
            with named_os_errors(self.path):
                self._fh.close()
            self.writer.records[self.rel] = {"rows": self.rows, "bytes": self._bytes,
                                              "sha256": self._sha.hexdigest()}

    def abandon(self) -> None:
        """Close the file, unrecorded, ignoring what closing it raises (a full disk)."""
        self.closed = True
        try:
            self._fh.close()
        except OSError:
            pass


class _Writer:
    """Writes an export's files into a hidden staging directory beside ``url`` and
    publishes them on :meth:`commit`; :meth:`discard` removes the staging directory, so a
    failed export leaves ``url`` as it was.

    Raises:
        InputError: ``url`` is a file, or a non-empty directory and not ``overwrite``.
    """

    def __init__(self, url: str, overwrite: bool) -> None:
        self.fs, base = fsspec.core.url_to_fs(url)
        self.base = base.rstrip("/")
        if self.fs.exists(self.base):
            if not self.fs.isdir(self.base):
                raise InputError(url, "is a file; expected a directory for the export")
            if self.fs.ls(self.base, detail=False) and not overwrite:
                raise InputError(url, "is not empty; expected an empty or new directory "
                                      "(--overwrite replaces its contents)")
        parent, _, name = self.base.rpartition("/")
        self.staging = f"{parent}/.{name}.harqa-export"
        #: Files created and not yet closed (a failed export's are closed by discard).
        self.unclosed: list[_Sink] = []
        self.discard()
        #: Relative path → rows, bytes and SHA-256 of each file written and closed.
        self.records: dict[str, dict] = {}

    @property
    def files(self) -> list[str]:
        """The files written, by relative path."""
        return sorted(self.records)

    def discard(self) -> None:
        """Close the files still open and remove the staged files."""
        while self.unclosed:
            self.unclosed.pop().abandon()
        if self.fs.exists(self.staging):
            self.fs.rm(self.staging, recursive=True)

    def create(self, rel: str) -> _Sink:
        """A binary file staged as ``rel``, open until its ``close``."""
        self.fs.makedirs(f"{self.staging}/{rel}".rsplit("/", 1)[0], exist_ok=True)
        sink = _Sink(self, rel)
        self.unclosed.append(sink)
        return sink

    @contextmanager
    def open(self, rel: str) -> Iterator[_Sink]:
        """:meth:`create` as a context; the file is recorded only when the block succeeds."""
        sink = self.create(rel)
        yield sink
        sink.close()

    def write(self, rel: str, data: bytes | Iterable[bytes], rows: int | None = None) -> None:
        """Stage ``data`` (bytes, or chunks of bytes) as ``rel``, holding ``rows``."""
        with self.open(rel) as fh:
            for chunk in [data] if isinstance(data, bytes) else data:
                fh.write(chunk)
            fh.rows = rows

    def json(self, rel: str, obj: object, rows: int | None = None) -> None:
        """Stage ``obj`` as indented UTF-8 JSON."""
        self.write(rel, json.dumps(obj, ensure_ascii=False, indent=1).encode(), rows)

    def rename(self, rel: str, new: str) -> None:
        """Give the staged file ``rel`` the name ``new``."""
        self.fs.mv(f"{self.staging}/{rel}", f"{self.staging}/{new}")
        self.records[new] = self.records.pop(rel)

    def commit(self) -> None:
        """Publish the staged files as ``url``'s contents (what it held before is removed)."""
        if not self.fs.exists(self.base):
            self.fs.makedirs(self.base.rpartition("/")[0] or "/", exist_ok=True)
            self.fs.mv(self.staging, self.base, recursive=True)
            return
        for entry in self.fs.ls(self.base, detail=False):
            self.fs.rm(entry, recursive=True)
        for rel in self.files:
            self.fs.makedirs(f"{self.base}/{rel}".rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(f"{self.staging}/{rel}", f"{self.base}/{rel}")
        self.discard()
