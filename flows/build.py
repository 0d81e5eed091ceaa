"""The ``build_dataset`` Prefect flow: read → window → describe → validate → write → publish."""

from __future__ import annotations

import platform
import shutil
import time
from collections import Counter
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE

from generators import dataset, pipeline, text
from generators.config import BuildConfig
from generators.dataset import GENERATOR_VERSION
from generators.types import Recording
from validation import dataset_checks, gx_suites, semantic


class ValidationFailed(RuntimeError):
    """The built dataset failed validation; the message is the one-line summary."""


def _is_io_error(task, task_run, state) -> bool:  # noqa: ANN001 (Prefect's hook signature)
    """Retry transient I/O failures only; bad input fails at once."""
    return isinstance(state.result(raise_on_failure=False), OSError)


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_is_io_error, cache_policy=NONE)
def process_recording(rec: Recording, cfg: BuildConfig, staging: Path) -> dict:
    """Describe, validate and write one recording's rows; return its counts."""
    packs = text.load_packs(Path(cfg.templates_dir) if cfg.templates_dir else None)
    described = pipeline.describe(rec, cfg, packs)
    table = dataset.items_to_table(described.items, rec, cfg.trend_params)
    accepted, rejected = semantic.check_table(table)
    counts: Counter = Counter()
    for stage in cfg.stages:
        for split in ("train", "test"):
            mask = [s == stage and sp == split for s, sp in
                    zip(accepted["stage"].to_pylist(), accepted["split"].to_pylist())]
            part = accepted.filter(mask)
            if part.num_rows:
                dataset.write_parquet_atomic(
                    part, dataset.part_path(staging, stage, split, rec.recording_id))
                counts[f"stage{stage}/{split}"] += part.num_rows
    if rejected.num_rows:
        dataset.write_parquet_atomic(rejected, dataset.rejected_path(staging, rec.recording_id))
    counts["rejected"] = rejected.num_rows
    counts["rows_in"] = table.num_rows
    return dict(counts)


def _manifest(cfg: BuildConfig, counts: dict, staging: Path, seconds: float,
              packs: dict) -> dict:
    import numpy, prefect, pyarrow  # noqa: E401  (versions recorded for provenance)

    files = {str(p.relative_to(staging)): dataset.file_sha256(p)
             for p in sorted(staging.rglob("*.parquet"))}
    return {
        "dataset": cfg.dataset,
        "config": cfg.to_dict(),
        "config_sha256": cfg.digest(),
        "generator_version": GENERATOR_VERSION,
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__,
                     "pyarrow": pyarrow.__version__, "prefect": prefect.__version__},
        "template_versions": {name: p.version for name, p in sorted(packs.items())},
        "counts": counts,
        "files": files,
        "seconds": round(seconds, 2),
    }


def _summary_counts(per_recording: list[dict]) -> dict:
    total: Counter = Counter()
    for c in per_recording:
        total.update(c)
    return dict(sorted(total.items()))


@flow(name="build_dataset", log_prints=True)
def build_dataset(cfg: BuildConfig, out: str = "output") -> dict:
    """Build, validate and publish one dataset.

    Args:
        cfg: Effective build settings.
        out: Output root; the dataset lands in ``<out>/<cfg.dataset>``.

    Returns:
        Summary: ``counts`` (rows per stage/split, rejected, rows_in), ``path``, ``seconds``,
        ``validation`` (GX and dataset-check results).

    Raises:
        InputError: Bad input (nothing is left in the output directory).
        ValidationFailed: Pass rate under ``cfg.min_pass_rate`` or a failing suite or
            dataset check (the staged dataset is kept for inspection and named).
    """
    logger = get_run_logger()
    started = time.perf_counter()
    out_root = Path(out)
    final = out_root / cfg.dataset
    staging = dataset.staging_dir(out_root, cfg.dataset)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    packs = text.load_packs(Path(cfg.templates_dir) if cfg.templates_dir else None)
    try:
        futures = [process_recording.submit(rec, cfg, staging)
                   for rec in pipeline.recordings(cfg)]
        per_recording = [f.result() for f in futures]
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    counts = _summary_counts(per_recording)
    assert counts["rows_in"] == counts["rejected"] + sum(
        v for k, v in counts.items() if k.startswith("stage")), "rows lost between stages"
    logger.info("rows: %s", counts)

    checks = dataset_checks.run_dataset_checks(staging, {"classes": cfg.classes})
    gx = gx_suites.run_suites(staging)
    pass_rate = 1 - counts["rejected"] / max(counts["rows_in"], 1)
    failed = [name for name, r in checks.items() if not r["passed"]]
    problems = []
    if pass_rate < cfg.min_pass_rate:
        problems.append(f"pass rate {pass_rate:.4f} < {cfg.min_pass_rate}")
    if failed:
        problems.append(f"dataset checks failed: {', '.join(failed)}")
    if not gx["success"]:
        problems.append(f"GX suites failed: {', '.join(gx.get('failed_suites', []))}")
    seconds = time.perf_counter() - started
    manifest = _manifest(cfg, counts, staging, seconds, packs)
    manifest["validation"] = {"pass_rate": pass_rate, "dataset_checks": checks,
                              "gx_success": gx["success"]}
    dataset.write_card(staging, cfg.dataset, cfg.stages, _card_counts(counts),
                       _card_text(cfg, counts))
    dataset.write_json_atomic(manifest, staging / "manifest.json")
    if problems:
        raise ValidationFailed(f"{cfg.dataset}: " + "; ".join(problems)
                               + f" (staged dataset kept at {staging})")
    dataset.publish(staging, final)
    create_markdown_artifact(key="build-summary", markdown=_markdown(cfg, counts, seconds, final),
                             description="harqa build summary")
    create_table_artifact(key="build-counts",
                          table=[{"part": k, "rows": v} for k, v in counts.items()])
    return {"path": str(final), "counts": counts, "seconds": round(seconds, 2),
            "validation": manifest["validation"]}


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


def _markdown(cfg: BuildConfig, counts: dict, seconds: float, path: Path) -> str:
    rows = "\n".join(f"| {k} | {v} |" for k, v in counts.items())
    return (f"# harqa build `{cfg.dataset}`\n\nWritten to `{path}` in {seconds:.1f} s.\n\n"
            f"| part | rows |\n|---|---|\n{rows}\n")
