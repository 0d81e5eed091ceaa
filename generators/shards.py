"""A build's units of work: what it checks first, its shards, their cache keys and parts.

A shard is a contiguous span of one staged recording (:func:`generators.pipeline.shards`);
each is described, checked and written on its own into a cache entry keyed by everything
that decides its rows, so a rebuild with nothing changed reuses it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import templates as builtin_templates
from generators import dataset, pipeline, qa, text
from generators.cache import (ROW_CODE, BuildCache, RecordingRef, code_digest, sha256_text,
                              templates_digest)
from generators.config import BuildConfig

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Shard:
    """One contiguous span of one staged recording: the unit of work of a build.

    Attributes:
        ref: The staged recording.
        index: Position of the span in the recording (0, 1, …).
        span: ``[lo, hi)`` sample indices; the shard's windows start in it.
        name: Name of its part files: the recording id, suffixed with the index when the
            recording has more than one shard.
    """

    ref: RecordingRef
    index: int
    span: tuple[int, int]
    name: str


def plan_shards(refs: list[RecordingRef], shard_s: float) -> list[Shard]:
    """Every shard of every staged recording, in recording then time order."""
    out = []
    for ref in refs:
        spans = pipeline.shards(ref.n_samples, ref.sample_rate_hz, shard_s)
        out += [Shard(ref, i, span, ref.recording_id if len(spans) == 1
                      else f"{ref.recording_id}-{i:04d}") for i, span in enumerate(spans)]
    return out


def longest_first(planned: list[Shard]) -> list[int]:
    """Indices of ``planned`` in the order to start them: longest span first (ties in
    plan order), so that no long shard starts last and keeps one worker busy alone."""
    return sorted(range(len(planned)), key=lambda i: planned[i].span[0] - planned[i].span[1])


def preflight(cfg: BuildConfig) -> dict[str, text.TemplatePack]:
    """What a build checks before it starts any work: its input exists and the user's
    template packs lint clean (the built-ins are linted by the tests).

    Args:
        cfg: Build settings.

    Returns:
        The template packs.

    Raises:
        InputError: A missing input path, or the first template issue that would stop
            rendering (``qa.check_packs``).
    """
    pipeline.source_path(cfg)
    packs = load_packs(cfg)
    if cfg.templates_dir:
        qa.check_packs(packs)
    return packs


_PACKS: dict[str, dict[str, text.TemplatePack]] = {}


def load_packs(cfg: BuildConfig) -> dict[str, text.TemplatePack]:
    """The build's template packs (built-in plus ``cfg.templates_dir``), parsed once per
    process and content: keyed by the digest of the template files' paths and bytes, so
    every shard a worker runs reuses them and an edited file is read again.
    """
    files = sorted(template_files(cfg))
    key = sha256_text(*(f"{f}\0{dataset.file_sha256(f)}" for f in files))
    found = _PACKS.get(key)
    if found is None:
        found = _PACKS[key] = text.load_packs(
            Path(cfg.templates_dir) if cfg.templates_dir else None)
    return dict(found)


def template_files(cfg: BuildConfig) -> list[Path]:
    """The built-in template files plus the user's overlay files."""
    dirs = [Path(builtin_templates.__file__).parent]
    if cfg.templates_dir:
        dirs.append(Path(cfg.templates_dir))
    return [f for d in dirs for f in d.glob("*.yaml")]


def rows_key(cfg: BuildConfig, packs: dict) -> str:
    """Digest of everything but the input that decides a recording's rows."""
    return sha256_text(cfg.digest(), templates_digest(packs, iter(template_files(cfg))),
                       code_digest(ROW_CODE))


def shard_key(base: str, shard: Shard) -> str:
    """The cache key of one shard's parts: ``base`` (:func:`rows_key`), the recording's
    digest and the span."""
    return sha256_text(base, shard.ref.digest, f"{shard.span[0]}-{shard.span[1]}")


def cached_result(cache: BuildCache, key: str) -> dict | None:
    """The result of a finished cache entry ``key`` whose files are all there, else ``None``.

    The key covers the recording's sources, the span, the build settings, the templates
    and the code, so such an entry holds exactly what a new run would write.
    """
    entry = cache.parts_dir(key)
    marker = cache.done(entry)
    if marker is not None and all((entry / f).is_file() for f in marker["files"]):
        return {**marker, "entry": str(entry), "cached": True}
    return None


def write_shard(cache: BuildCache, key: str, shard: Shard, stages: tuple[int, ...],
                accepted: pa.Table, rejected: pa.Table, rows_in: int) -> dict:
    """Write one shard's checked rows as the cache entry ``key`` and commit it.

    Accepted rows go to one part per stage and split that has rows, rejected rows to one
    rejected part (when there are any); the entry appears whole or not at all.

    Args:
        cache: The build's cache.
        key: The shard's key (:func:`shard_key`).
        shard: The shard.
        stages: The build's stages.
        accepted: Rows that passed the semantic checks.
        rejected: Rows that did not, with their reasons.
        rows_in: Rows described (``accepted`` + ``rejected``).

    Returns:
        ``recording_id``, ``shard``, ``span``, ``counts`` (rows per stage/split, rejected,
        rows_in), ``files`` (relative part path → SHA-256), ``entry`` (the cache
        directory) and ``cached`` (``False``).
    """
    entry = cache.parts_dir(key)
    files: dict[str, str] = {}
    counts: Counter = Counter()
    with cache.new_entry(entry) as tmp:
        for stage in stages:
            for split in SPLITS:
                part = accepted.filter(pc.and_(pc.equal(accepted["stage"], stage),
                                               pc.equal(accepted["split"], split)))
                if part.num_rows:
                    rel = dataset.part_path(Path(), stage, split, shard.name)
                    files[str(rel)] = dataset.write_parquet_atomic(part, tmp / rel)
                    counts[f"stage{stage}/{split}"] += part.num_rows
        if rejected.num_rows:
            rel = dataset.rejected_path(Path(), shard.name)
            files[str(rel)] = dataset.write_parquet_atomic(rejected, tmp / rel)
        counts["rejected"] = rejected.num_rows
        counts["rows_in"] = rows_in
        marker = cache.commit(tmp, entry, {"recording_id": shard.ref.recording_id,
                                           "shard": shard.index, "span": list(shard.span),
                                           "counts": dict(counts), "files": files})
    return {**marker, "entry": str(entry), "cached": False}
