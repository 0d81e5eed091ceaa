"""The ``harqa`` command line: build, inspect and check sensor–text QA datasets."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

# Offline by default: without this Prefect's first flow does a telemetry DNS lookup.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The ephemeral API's default 20 s start-up budget is too short on a loaded 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Turn raw wearable HAR recordings into validated sensor–text QA datasets.")
console = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line reason and exit non-zero."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def build(
    preset: str = typer.Option("uci_har", help="Dataset preset (see `harqa datasets`)."),
    input: Optional[Path] = typer.Option(None, "--input", help="Source path; default: the embedded sample."),
    out: Path = typer.Option(Path("output"), help="Output root directory."),
    seed: int = typer.Option(0, help="Seed of every random choice."),
    stage: str = typer.Option("all", help="1, 2 or all."),
    templates: Optional[Path] = typer.Option(None, help="Directory of template packs overlaid on the built-ins."),
    trend_method: Optional[str] = typer.Option(None, help="Trend method (default: the preset's)."),
    test_subjects: Optional[str] = typer.Option(None, help="Comma-separated test subjects."),
    name: Optional[str] = typer.Option(None, help="Dataset directory name (default: the preset name)."),
    format: str = typer.Option("text", help="text or json summary on stdout."),
) -> None:
    """Build a dataset (no arguments: the demo from the embedded HAPT sample)."""
    from flows.config import make_config
    from generators.errors import InputError

    try:
        cfg = make_config(preset, input=input, seed=seed, stage=stage, templates=templates,
                          trend_method=trend_method, test_subjects=test_subjects, name=name)
    except (InputError, KeyError, ValueError) as exc:
        fail(str(exc))
    from flows.build import ValidationFailed, build_dataset

    with console.status(f"building {cfg.dataset} (preset {preset}, seed {seed})…"):
        try:
            summary = build_dataset(cfg, out=str(out))
        except (InputError, ValidationFailed) as exc:
            fail(str(exc), code=1)
    if format == "json":
        typer.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    table = Table(title=f"{cfg.dataset} → {summary['path']}")
    table.add_column("part")
    table.add_column("rows", justify="right")
    for key, n in summary["counts"].items():
        table.add_row(key, str(n))
    Console().print(table)
    Console().print(f"pass rate {summary['validation']['pass_rate']:.4f}, "
                    f"{summary['seconds']:.1f} s")


@app.command()
def datasets(format: str = typer.Option("text", help="text or json.")) -> None:
    """List the readers and presets."""
    from generators import presets
    from generators.readers import READERS

    info = {"readers": READERS.names(), "presets": presets.names()}
    if format == "json":
        typer.echo(json.dumps(info, indent=2))
        return
    for key, names in info.items():
        Console().print(f"[bold]{key}[/]: {', '.join(names)}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
