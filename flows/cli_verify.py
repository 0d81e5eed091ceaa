"""``harqa verify``: train the reference model on a built dataset and report its alignment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.formats import check_format
from generators.dataset import read_manifest


def _tables(doc: dict) -> list[Table]:
    st1 = doc["stage1"]
    t1 = Table(title=f"stage 1 on held-out subjects (alignment gap {doc['alignment_gap']})")
    for col in ("metric", "aligned", "shuffled", "gap"):
        t1.add_column(col, justify="left" if col == "metric" else "right")
    from validation.reference_model.report import STAGE1_ORDER, fmt_value as fmt

    for k in STAGE1_ORDER:
        t1.add_row(k, fmt(st1["aligned"].get(k)), fmt(st1["shuffled"].get(k)),
                   fmt(st1["gap"].get(k)))
    t2 = Table(title="stage 2 activity on held-out subjects")
    for col in ("classifier", "accuracy", "macro-F1"):
        t2.add_column(col, justify="left" if col == "classifier" else "right")
    st2 = doc["stage2"]
    if "skipped" not in st2:
        t2.add_row("reference model", fmt(st2["accuracy"]), fmt(st2["macro_f1"]))
        for name, m in st2["baselines"].items():
            t2.add_row(name.replace("_", " "), fmt(m["accuracy"]), fmt(m["macro_f1"]))
    return [t1, t2]


def verify_command(
    dataset_dir: Path = typer.Argument(..., help="A dataset written by `harqa build`."),
    format: str = typer.Option("text", "--format", help="text or json."),
    device: str = typer.Option("cpu", "--device", help="cpu (default) or cuda (larger model)."),
    preset: str = typer.Option("full", "--preset",
                               help="full (default) or quick (about 2 minutes on a 2-core CPU, "
                                    "read on the calibration curve)."),
    seed: int = typer.Option(0, "--seed", help="Seed of subsampling, shuffling and training."),
    threads: Optional[int] = typer.Option(None, "--threads", min=0,
                                          help="Torch CPU threads (0: torch's default; default: "
                                               "the preset's, 1 for quick, torch's for full)."),
    templates: Optional[Path] = typer.Option(None, "--templates",
                                             help="Template overlay the dataset was built with."),
) -> None:
    """Train the reference model (aligned vs shuffled pairs) and print how well text follows signal.

    Writes checkpoints, ``metrics.json``, ``report.md``, ``report.html`` (one page) and plots
    under ``DATASET_DIR/reference_model/``.

    Raises:
        InputError: Unknown format, no dataset (``manifest.json``) at ``dataset_dir``, missing
            dataset parts, or an unavailable device.
        UnknownNameError: An unknown device or preset (the known ones listed).
    """
    check_format(format)
    read_manifest(dataset_dir)
    from validation.reference_model import settings_for, verify

    err = Console(stderr=True)
    settings = settings_for(device, preset, seed=seed, threads=threads)
    report = verify(dataset_dir, settings, templates_dir=templates,
                    log=lambda message: err.print(message, highlight=False))
    doc = report.to_json()
    if format == "json":
        typer.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    out = Console()
    for table in _tables(doc):
        out.print(table)
    from validation.reference_model.stability import stability_sentence

    line = stability_sentence(doc["stage1"].get("label_stability"))
    if line:
        out.print(line, highlight=False)
    out.print(f"{doc['seconds']:.0f} s; report: {Path(doc['output_dir']) / 'report.md'} "
              f"and {Path(doc['output_dir']) / 'report.html'}")
