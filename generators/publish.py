"""Assemble, describe and publish a built dataset: staging, manifest, card, warnings.

A build writes its shards' parts into the cache (:mod:`generators.shards`); this module
puts them together in a hidden staging directory, judges the validation results, writes
the template packs, the dataset card and the manifest (last: a staging directory without
one is never complete) and publishes the directory by renames. It also keeps a failed
build from leaving anything behind (:func:`as_found_on_failure`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections import Counter
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Iterator

from generators import dataset, text
from generators.cache import BuildCache
from generators.config import BuildConfig
from generators.dataset import GENERATOR_VERSION
from generators.schema import SCHEMA_VERSION

#: Manifest keys that describe one run rather than the dataset (left out of comparisons).
RUN_KEYS = ("seconds", "cache")


class ValidationFailed(RuntimeError):
    """The built dataset failed validation; the message is the one-line summary."""


def split_warnings(cfg: BuildConfig, subjects: list[str]) -> list[str]:
    """What the build should tell about its split: test subjects absent from the input
    (a typo, or a subset of the data), above all when the test split is left empty.

    Args:
        cfg: Build settings.
        subjects: The subjects of the recordings read.

    Returns:
        Zero or one message.
    """
    absent = [s for s in cfg.test_subjects if s not in subjects]
    if not absent:
        return []
    empty = "; the test split is empty" if len(absent) == len(cfg.test_subjects) else ""
    return [f"test subjects {absent} are not among the recordings' subjects {subjects}{empty}"]


def summary_counts(per_shard: list[dict]) -> dict:
    """The shards' counts added up, keys sorted.

    Raises:
        AssertionError: ``rows_in`` is not the accepted rows plus the rejected ones.
    """
    total: Counter = Counter()
    for c in per_shard:
        total.update(c)
    counts = dict(sorted(total.items()))
    assert counts["rows_in"] == counts["rejected"] + sum(
        v for k, v in counts.items() if k.startswith("stage")), "rows lost between stages"
    return counts


def up_to_date(final: Path, build_key: str, files: dict) -> dict | None:
    """The published manifest when ``final`` already holds exactly these parts, else ``None``.

    The parts must match byte for byte (``files``: relative path → SHA-256), so a run that
    recomputed them (another runner, an emptied cache) publishes nothing new only when it
    produced the same bytes; validation then has nothing new to check.
    """
    try:
        manifest = json.loads((final / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("build_key") != build_key or manifest.get("files") != files:
        return None
    for rel, digest in manifest["files"].items():
        if not (final / rel).is_file() or dataset.file_sha256(final / rel) != digest:
            return None
    return manifest


def link(src: Path, dst: Path) -> None:
    """Place a cached part in the staging tree: a hard link, or a copy across devices."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def stage_parts(staging: Path, results: list[dict]) -> None:
    """A fresh ``staging`` directory holding every shard's part files.

    Args:
        staging: The hidden directory (:func:`generators.dataset.staging_dir`); whatever
            is there is removed first.
        results: Shard results (:func:`generators.shards.write_shard`): ``entry`` and
            ``files``.
    """
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for r in results:
        for rel in r["files"]:
            link(Path(r["entry"]) / rel, staging / rel)


def judge(cfg: BuildConfig, counts: dict, checks: dict, gx: dict) -> tuple[dict, list[str]]:
    """The manifest's validation entry and what fails the build.

    Args:
        cfg: Build settings (``min_pass_rate``).
        counts: The build's counts (``rows_in``, ``rejected``).
        checks: Dataset checks by name, each with ``passed``.
        gx: The Great Expectations result (``success``, ``failed_suites``).

    Returns:
        ``{"pass_rate", "dataset_checks", "gx_success"}`` and the problems, one phrase
        each (none: the dataset passes).
    """
    pass_rate = 1 - counts["rejected"] / max(counts["rows_in"], 1)
    failed = [name for name, r in checks.items() if not r["passed"]]
    problems = []
    if pass_rate < cfg.min_pass_rate:
        problems.append(f"pass rate {pass_rate:.4f} < {cfg.min_pass_rate}")
    if failed:
        problems.append(f"dataset checks failed: {', '.join(failed)}")
    if not gx["success"]:
        problems.append(f"GX suites failed: {', '.join(gx.get('failed_suites', []))}")
    return {"pass_rate": pass_rate, "dataset_checks": checks, "gx_success": gx["success"]}, problems


def manifest(cfg: BuildConfig, counts: dict, files: dict, packs: dict, build_key: str) -> dict:
    """The manifest's fields that describe the dataset itself: settings, versions (of the
    installed distributions: Prefect's is read without importing it), template versions,
    counts and part checksums (the build adds its run's fields)."""
    return {
        "dataset": cfg.dataset,
        "config": cfg.to_dict(),
        "config_sha256": cfg.digest(),
        "build_key": build_key,
        "generator_version": GENERATOR_VERSION,
        "schema_version": SCHEMA_VERSION,
        "versions": {"python": platform.python_version(),
                     **{name: version(name) for name in ("numpy", "pyarrow", "prefect")}},
        "template_versions": {name: p.version for name, p in sorted(packs.items())},
        "counts": counts,
        "files": files,
    }


def finish(staging: Path, final: Path, cfg: BuildConfig, manifest: dict, packs: dict,
           problems: list[str]) -> None:
    """Complete the staged dataset and publish it, unless validation found problems.

    The template packs are saved with it (so it validates without the user's folder;
    ``manifest["templates"]`` names them), then the card, then the manifest.

    Raises:
        ValidationFailed: ``problems``; the staging directory is kept and named.
    """
    manifest["templates"] = text.save_packs(
        packs, text.shared_phrases(cfg.templates_dir), staging / text.PACKS_DIR)
    dataset.write_card(staging, cfg.dataset, cfg.stages, card_counts(manifest["counts"]),
                       card_text(cfg, manifest["counts"]))
    dataset.write_json_atomic(manifest, staging / "manifest.json")
    if problems:
        raise ValidationFailed(f"{cfg.dataset}: " + "; ".join(problems)
                               + f" (staged dataset kept at {staging})")
    dataset.publish(staging, final)


def card_counts(counts: dict) -> dict:
    """``{"stage1": {"train": n, "test": n}, …}`` from the build's ``stage<k>/<split>`` counts."""
    out: dict = {}
    for key, n in counts.items():
        if key.startswith("stage"):
            stage, split = key.split("/")
            out.setdefault(stage, {})[split] = n
    return out


def card_text(cfg: BuildConfig, counts: dict) -> str:
    """The dataset card's body: what the rows are, the build's settings, its counts, the source."""
    rows = "\n".join(f"| {k} | {v} |" for k, v in counts.items())
    return (
        "Sensor–text question-answer pairs generated by harqa from raw wearable recordings "
        "(stage 1: single-channel trend QA for sensor–language alignment; stage 2: "
        "multi-channel windows answered with the activity). Every answer was re-derived "
        "from the row's own series before it was kept.\n\n"
        f"Reader `{cfg.reader}`, seed {cfg.seed}, trend method `{cfg.trend_method}`, test "
        f"subjects {list(cfg.test_subjects)}.\n\n| part | rows |\n|---|---|\n{rows}\n\n"
        "Source data for the embedded sample: HAPT (Smartphone-Based Recognition of Human "
        "Activities and Postural Transitions), CC BY 4.0, Reyes-Ortiz et al., "
        "Neurocomputing 2016."
    )


def summary_markdown(cfg: BuildConfig, counts: dict, seconds: float, path: Path,
                     cache_stats: dict) -> str:
    """The build's summary in Markdown: where it went, how long, cache hits, rows per part."""
    rows = "\n".join(f"| {k} | {v} |" for k, v in counts.items())
    return (f"# harqa build `{cfg.dataset}`\n\nWritten to `{path}` in {seconds:.1f} s; "
            f"{cache_stats['hits']} of {cache_stats['shards']} shards "
            f"({cache_stats['recordings']} recordings) from the cache.\n\n| part | rows |\n|---|---|\n{rows}\n")


@contextmanager
def as_found_on_failure(out_root: Path, staging: Path) -> Iterator[None]:
    """Run the block under the output root's lock; when it fails, leave the root as it was.

    A root that did not exist does not exist afterwards (nor the parents made for it); in
    one that did, the cache gets back its entries and files as they were
    (:meth:`BuildCache.restore`) and a new staging directory goes. A dataset that fails
    validation (:class:`ValidationFailed`) keeps its staging directory, which the error
    names, and the cache entries that built it.
    """
    missing = [p for p in (out_root, *out_root.parents) if not p.exists()]
    staged = staging.exists()
    cache = BuildCache(out_root)
    lock_found = cache.lock.exists()
    with cache.locked():
        state = cache.state()
        try:
            yield
        except ValidationFailed:
            raise
        except BaseException:
            cache.restore(state)
            if not lock_found:
                cache.lock.unlink(missing_ok=True)
            if not staged:
                shutil.rmtree(staging, ignore_errors=True)
            for p in missing:  # deepest first; a folder someone else filled meanwhile stays
                try:
                    p.rmdir()
                except OSError:
                    break
            raise
