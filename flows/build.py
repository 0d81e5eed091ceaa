"""The ``build_dataset`` Prefect flow: read → window → describe → validate → write → publish.

This module wires the stages as Prefect tasks and flows; the work itself is plain Python:
shards and their parts in :mod:`generators.shards`, assembling and publishing the dataset
in :mod:`generators.publish`, task runners and the shared API in :mod:`flows.runners`.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import shutil
import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.futures import as_completed
from prefect.tasks import exponential_backoff

from flows import lifeline
from flows.config import make_config
from flows.runners import WarmProcessPool, shared_api, start_fork_server, task_runner
from generators import dataset, pipeline, publish, shards
from generators.cache import (BuildCache, RecordingRef, declared_activities, load_recording,
                              read_key, read_settings, sha256_text, staged_subject)
from generators.config import BuildConfig
from generators.publish import split_warnings
from generators.shards import Shard
from validation import dataset_checks, semantic

#: Each finished shard is logged here (``done``/``total`` extras) for progress bars.
PROGRESS_LOGGER = "harqa.progress"
#: Retries on I/O errors wait 1, 2, 4… seconds, jittered so workers do not retry in step.
IO_RETRIES = {"retries": 3, "retry_delay_seconds": exponential_backoff(backoff_factor=1),
              "retry_jitter_factor": 0.5}
#: OS errors that a retry may get past: a busy, stale (NFS) or failing file, an interrupted
#: call (besides timeouts and dropped connections). A full disk, a name too long, a denied
#: or read-only path fail the same way every time.
TRANSIENT_ERRNOS = frozenset({errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.EIO, errno.ESTALE})


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
    done = shards.cached_result(cache, key)
    if done is not None:
        return done
    rec = load_recording(Path(shard.ref.path))
    packs = shards.load_packs(cfg)
    described = pipeline.describe(rec, cfg, packs, shard.span)
    table = dataset.items_to_table(described.items, rec, cfg.trend_params)
    del described  # the table holds everything the parts need
    accepted, rejected = semantic.check_table(table, packs, rec.label_names.values())
    return shards.write_shard(cache, key, shard, cfg.stages, accepted, rejected, table.num_rows)


def _validate(cfg: BuildConfig, counts: dict, staging: Path, activities: list[str],
              labelled: bool) -> tuple[dict, list[str]]:
    # Imported here, not at the top: process-pool workers import this module to run
    # process_shard, and Great Expectations (about 3 s of CPU) is needed by the flow only.
    from validation import gx_suites

    checks = dataset_checks.run_dataset_checks(staging, {"classes": cfg.classes})
    gx = gx_suites.run_suites(staging, activities, labelled)
    return publish.judge(cfg, counts, checks, gx)


def build(cfg: BuildConfig, out: str) -> dict:
    """The body of the build flows (run inside a flow run; tasks go to its task runner).

    Holds the output root's lock throughout, so overlapping runs into one root (a cron
    that fires while the last run is still going) never share a staging directory. A run
    that fails leaves the output root as it found it
    (:func:`generators.publish.as_found_on_failure`).

    Raises:
        InputError: Bad input (nothing is left in the output directory).
        OSError: The system refused (a full disk, a denied path), after retries of
            what may pass (:func:`is_transient`); nothing is left either.
        ValidationFailed: See :func:`build_dataset`.
    """
    out_root = Path(out)
    with publish.as_found_on_failure(out_root, dataset.staging_dir(out_root, cfg.dataset)):
        return _build(cfg, out)


def _build(cfg: BuildConfig, out: str) -> dict:
    logger = get_run_logger()
    started = time.perf_counter()
    out_root = Path(out)
    final = out_root / cfg.dataset
    staging = dataset.staging_dir(out_root, cfg.dataset)
    BuildCache(out_root).clean_temporaries()
    packs = shards.preflight(cfg)
    refs = stage_recordings(cfg, str(out_root))
    labelled = bool(declared_activities(refs, None))
    cfg, warnings = pipeline.labelled_stages(cfg, labelled)
    base = shards.rows_key(cfg, packs)
    warnings += split_warnings(cfg, sorted({staged_subject(r) for r in refs}))
    for warning in warnings:
        logger.warning(warning)
    planned = shards.plan_shards(refs, cfg.shard_s)
    keys = [shards.shard_key(base, s) for s in planned]
    futures = {i: process_shard.submit(planned[i], cfg, keys[i], str(out_root))
               for i in shards.longest_first(planned)}
    progress = logging.getLogger(PROGRESS_LOGGER)
    progress.info("shards", extra={"done": 0, "total": len(futures)})
    for done, _ in enumerate(as_completed(futures.values()), start=1):
        progress.info("shards", extra={"done": done, "total": len(futures)})
    results = [futures[i].result() for i in range(len(planned))]
    hits = sum(r["cached"] for r in results)
    cache_stats = {"recordings": len(refs), "shards": len(results), "hits": hits,
                   "misses": len(results) - hits}
    counts = publish.summary_counts([r["counts"] for r in results])
    logger.info("rows: %s; cache: %s", counts, cache_stats)
    build_key = sha256_text(base, *keys)
    files = dict(sorted((rel, d) for r in results for rel, d in r["files"].items()))
    manifest = publish.up_to_date(final, build_key, files)
    up_to_date = manifest is not None
    if manifest is None:
        publish.stage_parts(staging, results)
        activities = declared_activities(refs, cfg.classes)
        validation, problems = _validate(cfg, counts, staging, activities, labelled)
        manifest = publish.manifest(cfg, counts, files, packs, build_key)
        manifest["labelled"] = labelled  # False: the unlabelled schema (schema.unlabelled)
        manifest["activities"] = activities
        manifest["validation"] = validation
        manifest["seconds"] = round(time.perf_counter() - started, 2)
        manifest["cache"] = cache_stats
        publish.finish(staging, final, cfg, manifest, packs, problems)
    else:
        shutil.rmtree(staging, ignore_errors=True)  # a killed earlier run's leftovers
        logger.info("%s is up to date (build key %s…)", final, build_key[:12])
    seconds = time.perf_counter() - started
    create_markdown_artifact(key="build-summary",
                             markdown=publish.summary_markdown(cfg, counts, seconds, final,
                                                               cache_stats),
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


def run_build(cfg: BuildConfig, out: str = "output", *, workers: int = 1, pool: str | None = None,
              dask_address: str | None = None, dask_local: int | None = None) -> dict:
    """Run :func:`build_dataset` on the chosen task runner.

    Every runner gets one shared Prefect API (:func:`shared_api`); the processes the build
    starts (that API's server, pool and cluster workers) end when it ends, a ``kill -9``
    included (:mod:`flows.lifeline`).

    Args:
        cfg: Build settings.
        out: Output root.
        workers: Local pool size.
        pool: ``thread`` or ``process`` (default: :func:`flows.runners.task_runner`'s).
        dask_address: Address of a running Dask scheduler.
        dask_local: Size of a local Dask cluster to start.

    Returns:
        The flow's summary.

    Raises:
        InputError: A missing input path, before the flow (and a Prefect API) starts;
            the flow checks it again with the templates
            (:func:`generators.shards.preflight`).
    """
    pipeline.source_path(cfg)  # a mistyped path fails in a second, not after the API's 20
    runner = task_runner(workers, pool, dask_address, dask_local)
    flow_fn = build_dataset.with_options(task_runner=runner)
    with lifeline.children_hold():
        if isinstance(runner, WarmProcessPool) or dask_local:
            start_fork_server()  # its workers' imports and compiling overlap the API start
        with shared_api():
            return flow_fn(cfg, out=out)
