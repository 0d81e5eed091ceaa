"""Prefect flow ``verify_alignment``: train the reference model on a dataset and score it."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from validation.reference_model import AlignmentReport, settings_for, verify
from validation.reference_model.report import markdown


@task(cache_policy=NONE)
def train_and_score(dataset_dir: str, device: str, seed: int, threads: int | None,
                    templates: str | None, preset: str = "full") -> AlignmentReport:
    """Run the whole verification (one task: the models live in this process)."""
    logger = get_run_logger()
    settings = settings_for(device, preset, seed=seed, threads=threads)
    return verify(Path(dataset_dir), settings,
                  templates_dir=Path(templates) if templates else None, log=logger.info)


@flow(name="verify_alignment", log_prints=True)
def verify_alignment(dataset_dir: str, device: str = "cpu", seed: int = 0,
                     threads: int | None = None, templates: str | None = None,
                     preset: str = "full") -> dict:
    """Measure how well a dataset's text follows its signal.

    Trains the reference model (aligned and shuffled-pair control) on stage 1 and the
    activity classifier on stage 2, writes ``<dataset_dir>/reference_model/`` and leaves
    the markdown report as the ``alignment-report`` artifact.

    Args:
        dataset_dir: A dataset written by ``harqa build``.
        device: ``cpu`` or ``cuda`` (its preset of model size and budget).
        seed: Seed of subsampling, shuffling, initialisation and batching.
        threads: Torch CPU threads (0: torch's default; ``None``: the preset's).
        templates: Template overlay the dataset was built with, if any.
        preset: ``full`` or ``quick`` (``settings.settings_for``).

    Returns:
        The report as JSON (keys ``stage1``, ``stage2``, ``alignment_gap``, ``seconds``…).
    """
    report = train_and_score(dataset_dir, device, seed, threads, templates, preset)
    create_markdown_artifact(key="alignment-report", markdown=markdown(report, Path(dataset_dir)),
                             description=f"alignment gap {report.alignment_gap}")
    return report.to_json()
