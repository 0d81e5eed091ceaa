"""The ``build_dataset`` Prefect flow: read → window → describe → validate → write → publish."""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import platform
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow.compute as pc
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

import templates as builtin_templates
from flows import lifeline
from flows.config import make_config
from generators import dataset, pipeline, qa, text
from generators.cache import (ROW_CODE, BuildCache, RecordingRef, code_digest,
                              declared_activities, load_recording, read_key, read_settings,
                              sha256_text, staged_subject, templates_digest)
from generators.config import BuildConfig
from generators.dataset import GENERATOR_VERSION
from generators.errors import InputError
from generators.schema import SCHEMA_VERSION
from validation import dataset_checks, semantic

#: Each finished shard is logged here (``done``/``total`` extras) for progress bars.
PROGRESS_LOGGER = "harqa.progress"
#: Manifest keys that describe one run rather than the dataset (left out of comparisons).
RUN_KEYS = ("seconds", "cache")
#: Retries on I/O errors wait 1, 2, 4… seconds, jittered so workers do not retry in step.
IO_RETRIES = {"retries": 3, "retry_delay_seconds": exponential_backoff(backoff_factor=1),
              "retry_jitter_factor": 0.5}
#: OS errors that a retry may get past: a busy, stale (NFS) or failing file, an interrupted
#: call (besides timeouts and dropped connections). A full disk, a name too long, a denied
#: or read-only path fail the same way every time.
TRANSIENT_ERRNOS = frozenset({errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.EIO, errno.ESTALE})


class ValidationFailed(RuntimeError):
    """The built dataset failed validation; the message is the one-line summary."""


def is_transient(exc: BaseException) -> bool:
    """Whether a task that raised ``exc`` may succeed when run again (``TRANSIENT_ERRNOS``,
    timeouts, dropped connections); bad input and lasting OS errors fail at once."""
    return isinstance(exc, (TimeoutError, ConnectionError)) or (
        isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS)


def _retry_transient(task, task_run, state) -> bool:  # noqa: ANN001 (Prefect's hook signature)
    return is_transient(state.result(raise_on_failure=False))


@task(retry_condition_fn=_retry_transient, cache_policy=NONE, **IO_RETRIES)
def stage_recordings(cfg: BuildConfig, out: str) -> list[RecordingRef]:
    """Read the input once into the cache (or reuse it) and return one reference per recording.

    The key covers the input files' contents, the read settings and the reader code, so a
    build that changes only templates or QA settings never touches the raw files again.
    """
    cache = BuildCache(Path(out))
    settings = read_settings(cfg.reader, cfg.reader_options, cfg.sample_rate_hz, cfg.channels)
    key = read_key(cache, pipeline.source_path(cfg), settings)
    return cache.stage_recordings(key, settings, lambda: pipeline.recordings(cfg))


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


@task(retry_condition_fn=_retry_transient, cache_policy=NONE, **IO_RETRIES)
def process_shard(shard: Shard, cfg: BuildConfig, key: str, out: str) -> dict:
    """Describe, validate and write one shard's parts into the cache entry ``key``.

    Only the shard's windows exist at any time, so a task's memory is bounded by the
    shard size, whatever the recording's length (the recording itself is memory-mapped).
    A finished entry is returned as it is (``cached: True``): the key covers the
    recording's sources, the span, the build settings, the templates and the code, so its
    parts are exactly what this run would write.

    Returns:
        ``recording_id``, ``counts`` (rows per stage/split, rejected, rows_in), ``files``
        (relative part path → SHA-256), ``entry`` (the cache directory) and ``cached``.
    """
    cache = BuildCache(Path(out))
    entry = cache.parts_dir(key)
    marker = cache.done(entry)
    if marker is not None and all((entry / f).is_file() for f in marker["files"]):
        return {**marker, "entry": str(entry), "cached": True}
    rec = load_recording(Path(shard.ref.path))
    packs = text.load_packs(Path(cfg.templates_dir) if cfg.templates_dir else None)
    described = pipeline.describe(rec, cfg, packs, shard.span)
    table = dataset.items_to_table(described.items, rec, cfg.trend_params)
    del described  # the table holds everything the parts need
    accepted, rejected = semantic.check_table(table, packs, rec.label_names.values())
    files: dict[str, str] = {}
    counts: Counter = Counter()
    with cache.new_entry(entry) as tmp:
        for stage in cfg.stages:
            for split in ("train", "test"):
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
        counts["rows_in"] = table.num_rows
        marker = cache.commit(tmp, entry, {"recording_id": rec.recording_id,
                                           "shard": shard.index, "span": list(shard.span),
                                           "counts": dict(counts), "files": files})
    return {**marker, "entry": str(entry), "cached": False}


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


def _link(src: Path, dst: Path) -> None:
    """Place a cached part in the staging tree: a hard link, or a copy across devices."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _manifest(cfg: BuildConfig, counts: dict, files: dict, packs: dict, build_key: str) -> dict:
    import numpy, prefect, pyarrow  # noqa: E401  (versions recorded for provenance)

    return {
        "dataset": cfg.dataset,
        "config": cfg.to_dict(),
        "config_sha256": cfg.digest(),
        "build_key": build_key,
        "generator_version": GENERATOR_VERSION,
        "schema_version": SCHEMA_VERSION,
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__,
                     "pyarrow": pyarrow.__version__, "prefect": prefect.__version__},
        "template_versions": {name: p.version for name, p in sorted(packs.items())},
        "counts": counts,
        "files": files,
    }


def _summary_counts(per_recording: list[dict]) -> dict:
    total: Counter = Counter()
    for c in per_recording:
        total.update(c)
    return dict(sorted(total.items()))


def _up_to_date(final: Path, build_key: str, files: dict) -> dict | None:
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


def _validate(cfg: BuildConfig, counts: dict, staging: Path, activities: list[str],
              labelled: bool) -> tuple[dict, list[str]]:
    # Imported here, not at the top: process-pool workers import this module to run
    # process_shard, and Great Expectations (about 3 s of CPU) is needed by the flow only.
    from validation import gx_suites

    checks = dataset_checks.run_dataset_checks(staging, {"classes": cfg.classes})
    gx = gx_suites.run_suites(staging, activities, labelled)
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


def build(cfg: BuildConfig, out: str) -> dict:
    """The body of the build flows (run inside a flow run; tasks go to its task runner).

    Holds the output root's lock throughout, so overlapping runs into one root (a cron
    that fires while the last run is still going) never share a staging directory. A run
    that fails leaves the output root as it found it (:func:`_as_found_on_failure`).

    Raises:
        InputError: Bad input (nothing is left in the output directory).
        OSError: The system refused (a full disk, a denied path), after retries of
            what may pass (:func:`is_transient`); nothing is left either.
        ValidationFailed: See :func:`build_dataset`.
    """
    out_root = Path(out)
    with _as_found_on_failure(out_root, dataset.staging_dir(out_root, cfg.dataset)):
        return _build(cfg, out)


@contextmanager
def _as_found_on_failure(out_root: Path, staging: Path) -> Iterator[None]:
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
    packs = text.load_packs(Path(cfg.templates_dir) if cfg.templates_dir else None)
    if cfg.templates_dir:
        qa.check_packs(packs)
    return packs


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


def _build(cfg: BuildConfig, out: str) -> dict:
    logger = get_run_logger()
    started = time.perf_counter()
    out_root = Path(out)
    final = out_root / cfg.dataset
    staging = dataset.staging_dir(out_root, cfg.dataset)
    cache = BuildCache(out_root)
    cache.clean_temporaries()
    packs = preflight(cfg)
    refs = stage_recordings(cfg, str(out_root))
    labelled = bool(declared_activities(refs, None))
    cfg, warnings = pipeline.labelled_stages(cfg, labelled)
    base = rows_key(cfg, packs)
    warnings += split_warnings(cfg, sorted({staged_subject(r) for r in refs}))
    for warning in warnings:
        logger.warning(warning)
    shards = plan_shards(refs, cfg.shard_s)
    keys = [sha256_text(base, s.ref.digest, f"{s.span[0]}-{s.span[1]}") for s in shards]
    futures = [process_shard.submit(shard, cfg, key, str(out_root))
               for shard, key in zip(shards, keys)]
    progress = logging.getLogger(PROGRESS_LOGGER)
    progress.info("shards", extra={"done": 0, "total": len(futures)})
    for done, _ in enumerate(as_completed(futures), start=1):
        progress.info("shards", extra={"done": done, "total": len(futures)})
    results = [f.result() for f in futures]
    hits = sum(r["cached"] for r in results)
    cache_stats = {"recordings": len(refs), "shards": len(results), "hits": hits,
                   "misses": len(results) - hits}
    counts = _summary_counts([r["counts"] for r in results])
    assert counts["rows_in"] == counts["rejected"] + sum(
        v for k, v in counts.items() if k.startswith("stage")), "rows lost between stages"
    logger.info("rows: %s; cache: %s", counts, cache_stats)
    build_key = sha256_text(base, *keys)
    files = dict(sorted((rel, d) for r in results for rel, d in r["files"].items()))
    manifest = _up_to_date(final, build_key, files)
    up_to_date = manifest is not None
    if manifest is None:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        for r in results:
            for rel in r["files"]:
                _link(Path(r["entry"]) / rel, staging / rel)
        activities = declared_activities(refs, cfg.classes)
        validation, problems = _validate(cfg, counts, staging, activities, labelled)
        manifest = _manifest(cfg, counts, files, packs, build_key)
        manifest["labelled"] = labelled  # False: the unlabelled schema (schema.unlabelled)
        # The packs travel with the dataset, so that it validates without the user's folder.
        manifest["templates"] = text.save_packs(
            packs, text.shared_phrases(cfg.templates_dir), staging / text.PACKS_DIR)
        manifest["activities"] = activities
        manifest["validation"] = validation
        manifest["seconds"] = round(time.perf_counter() - started, 2)
        manifest["cache"] = cache_stats
        dataset.write_card(staging, cfg.dataset, cfg.stages, _card_counts(counts),
                           _card_text(cfg, counts))
        # The manifest goes last: a staging directory without one is never complete.
        dataset.write_json_atomic(manifest, staging / "manifest.json")
        if problems:
            raise ValidationFailed(f"{cfg.dataset}: " + "; ".join(problems)
                                   + f" (staged dataset kept at {staging})")
        dataset.publish(staging, final)
    else:
        shutil.rmtree(staging, ignore_errors=True)  # a killed earlier run's leftovers
        logger.info("%s is up to date (build key %s…)", final, build_key[:12])
    seconds = time.perf_counter() - started
    create_markdown_artifact(key="build-summary",
                             markdown=_markdown(cfg, counts, seconds, final, cache_stats),
                             description="harqa build summary")
    create_table_artifact(key="build-counts",
                          table=[{"part": k, "rows": v} for k, v in counts.items()],
                          description="rows per part")
    return {"path": str(final), "counts": counts, "seconds": round(seconds, 2),
            "validation": manifest["validation"], "cache": cache_stats,
            "up_to_date": up_to_date, "warnings": warnings}


@flow(name="build_dataset", log_prints=True)
def build_dataset(cfg: BuildConfig, out: str = "output") -> dict:
    """Build, validate and publish one dataset.

    Every shard of a recording (``cfg.shard_s`` seconds; see :func:`generators.pipeline.shards`)
    is one task, its parts cached under ``<out>/.harqa-cache`` by (source contents, span,
    settings, templates, code); the dataset is assembled in a hidden staging
    directory, validated, given its manifest last and published by renames.

    Args:
        cfg: Effective build settings.
        out: Output root; the dataset lands in ``<out>/<cfg.dataset>``.

    Returns:
        Summary: ``counts`` (rows per stage/split, rejected, rows_in), ``path``, ``seconds``,
        ``validation`` (GX and dataset-check results), ``cache`` (hits and misses),
        ``warnings`` (``split_warnings``).

    Raises:
        InputError: Bad input (nothing is left in the output directory).
        ValidationFailed: Pass rate under ``cfg.min_pass_rate`` or a failing suite or
            dataset check (the staged dataset is kept for inspection and named).
    """
    return build(cfg, out)


@flow(name="build_preset", log_prints=True)
def build_preset(preset: str = "uci_har", out: str = "output", seed: int = 0, stage: str = "all",
                 input: str | None = None, reader_options: dict | None = None,
                 name: str | None = None, trend_method: str | None = None,
                 min_pass_rate: float | None = None) -> dict:
    """Build a preset from JSON-friendly parameters (the entry point of deployments).

    Args:
        preset: Preset name.
        out: Output root.
        seed: Build seed.
        stage: ``1``, ``2`` or ``all``.
        input: Source path; ``None`` uses the embedded sample.
        reader_options: Reader options merged over the preset's.
        name: Dataset directory name (default: the preset name).
        trend_method: Overrides the preset's trend method.
        min_pass_rate: Overrides the share of rows that must pass validation.

    Returns:
        The summary of :func:`build_dataset`.
    """
    cfg = make_config(preset, input=input, seed=seed, stage=stage,
                      reader_options=reader_options, name=name, trend_method=trend_method)
    if min_pass_rate is not None:
        cfg = dataclasses.replace(cfg, min_pass_rate=min_pass_rate)
    return build(cfg, out)


def task_runner(workers: int = 1, pool: str = "thread", dask_address: str | None = None,
                dask_local: int | None = None) -> TaskRunner:
    """The task runner for a build.

    Args:
        workers: Local pool size.
        pool: ``thread`` or ``process`` (the local pool's kind).
        dask_address: ``tcp://HOST:PORT`` of a running Dask scheduler.
        dask_local: Start a local Dask cluster of this many single-threaded worker processes.

    Returns:
        A Prefect task runner; the processes of a local pool or cluster hold the build's
        lifeline (:mod:`flows.lifeline`).

    Raises:
        InputError: ``pool`` is neither ``thread`` nor ``process``.
    """
    if dask_address or dask_local:
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": dask_local, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None,
                                              "preload": ["flows.lifeline"]})
    if pool not in ("thread", "process"):
        raise InputError("--pool", f"expected thread or process, got {pool!r}")
    if pool == "process":
        return ProcessPoolTaskRunner(max_workers=workers, initializer=lifeline.hold)
    return ThreadPoolTaskRunner(max_workers=workers)


@contextmanager
def shared_api(timeout_s: int = 120) -> Iterator[str]:
    """Make every worker talk to one Prefect API.

    Without a configured ``PREFECT_API_URL`` each worker process would start its own
    ephemeral server; this starts one, which ends with this process however it ends
    (:class:`flows.api_server.LifelineServer`), and points the settings (which travel
    with each task) and the environment (which spawned workers inherit) at it. Like
    Prefect's own ephemeral server it serves until the process exits (Prefect's exit hook
    stops it after the last logs are sent), and Prefect's clients reuse it.

    Yields:
        The API URL in use.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    url = get_current_settings().api.url
    if url:
        yield url
        return
    from flows.api_server import LifelineServer

    server = LifelineServer()
    server.start(timeout=timeout_s)
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous


def run_build(cfg: BuildConfig, out: str = "output", *, workers: int = 1, pool: str = "thread",
              dask_address: str | None = None, dask_local: int | None = None) -> dict:
    """Run :func:`build_dataset` on the chosen task runner.

    Every runner gets one shared Prefect API (:func:`shared_api`); the processes the build
    starts (that API's server, pool and cluster workers) end when it ends, a ``kill -9``
    included (:mod:`flows.lifeline`).

    Args:
        cfg: Build settings.
        out: Output root.
        workers: Local pool size.
        pool: ``thread`` or ``process``.
        dask_address: Address of a running Dask scheduler.
        dask_local: Size of a local Dask cluster to start.

    Returns:
        The flow's summary.

    Raises:
        InputError: A missing input path, before the flow (and a Prefect API) starts;
            the flow checks it again with the templates (:func:`preflight`).
    """
    pipeline.source_path(cfg)  # a mistyped path fails in a second, not after the API's 20
    runner = task_runner(workers, pool, dask_address, dask_local)
    flow_fn = build_dataset.with_options(task_runner=runner)
    with lifeline.children_hold(), shared_api():
        return flow_fn(cfg, out=out)


def _card_counts(counts: dict) -> dict:
    out: dict = {}
    for key, n in counts.items():
        if key.startswith("stage"):
            stage, split = key.split("/")
            out.setdefault(stage, {})[split] = n
    return out


def _card_text(cfg: BuildConfig, counts: dict) -> str:
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


def _markdown(cfg: BuildConfig, counts: dict, seconds: float, path: Path,
              cache_stats: dict) -> str:
    rows = "\n".join(f"| {k} | {v} |" for k, v in counts.items())
    return (f"# harqa build `{cfg.dataset}`\n\nWritten to `{path}` in {seconds:.1f} s; "
            f"{cache_stats['hits']} of {cache_stats['shards']} shards "
            f"({cache_stats['recordings']} recordings) from the cache.\n\n| part | rows |\n|---|---|\n{rows}\n")
