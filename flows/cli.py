"""The ``harqa`` command line: build, inspect and check sensor–text QA datasets."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
import functools
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from flows.formats import check_format

# Offline by default: without this Prefect's first flow does a telemetry DNS lookup.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The ephemeral API's default 20 s start-up budget is too short on a loaded 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# The command line speaks for itself (a progress bar, a summary, one line on an error);
# Prefect's run logs still reach its API, and its console lines come back with this set
# to INFO.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")

# typer 0.24 and later parse the command line with a copy of click of their own.
try:
    from typer._click import exceptions as click_errors
except ImportError:
    from click import exceptions as click_errors

console = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line reason and exit non-zero.

    The message is printed as it is: a path or a value holding ``[/]`` is not Rich markup.
    """
    console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False,
                  soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _usage_errors() -> Iterator[None]:
    """Click's usage errors (a bad option value, an unknown option, a missing argument) as
    one line and exit 2, like every other bad input; asking for help still shows help."""
    try:
        yield
    except click_errors.NoArgsIsHelpError:
        raise
    except click_errors.UsageError as exc:
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
        fail(where + exc.format_message(), code=exc.exit_code)


class _OneLineErrors(typer.core.TyperGroup):
    """The command group whose parsing of every command's options goes through
    :func:`_usage_errors`."""

    def make_context(self, *args, **kwargs):
        with _usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _usage_errors():
            return super().invoke(ctx)


app = typer.Typer(add_completion=False, no_args_is_help=True, cls=_OneLineErrors,
                  help="Turn raw wearable HAR recordings into validated sensor–text QA datasets.")


def handled(fn: Callable) -> Callable:
    """Turn the user's errors into a one-line reason and a non-zero exit code.

    Bad input (file, setting, unknown name) and what the system refuses on a path (a full
    disk, a name too long, a denied or read-only folder: the user must change something
    before trying again) exit 2; a dataset that fails validation 1. Anything else is a bug
    and keeps its traceback.
    """
    from generators.errors import InputError
    from generators.registry import UnknownNameError

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, UnknownNameError) as exc:
            fail(str(exc), code=2)
        except OSError as exc:
            if exc.filename is None:
                raise
            fail(f"{exc.filename}: {exc.strerror or exc}", code=2)
        except Exception as exc:
            if type(exc).__name__ == "ValidationFailed":
                fail(str(exc), code=1)
            raise

    return wrapper


@app.command()
@handled
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
    shard_s: Optional[float] = typer.Option(None, help="Seconds of recording per shard (default: the preset's)."),
    workers: int = typer.Option(1, min=1, help="Local pool size (shards built at once)."),
    pool: Optional[str] = typer.Option(None, help="Local pool kind: thread or process (default: process for more than one worker, else thread)."),
    dask_address: Optional[str] = typer.Option(None, help="Run tasks on this Dask scheduler (tcp://HOST:PORT)."),
    dask_local: Optional[int] = typer.Option(None, min=1, help="Run tasks on a local Dask cluster of N workers."),
) -> None:
    """Build a dataset (no arguments: the demo from the embedded HAPT sample)."""
    check_format(format)
    from flows.config import make_config

    try:
        cfg = make_config(preset, input=input, seed=seed, stage=stage, templates=templates,
                          trend_method=trend_method, test_subjects=test_subjects, name=name,
                          shard_s=shard_s)
    except ValueError as exc:
        fail(str(exc))
    from flows.build import run_build
    from flows.serve import recording_progress

    with recording_progress(console, f"building {cfg.dataset} (preset {preset}, seed {seed})"):
        summary = run_build(cfg, out=str(out), workers=workers, pool=pool,
                            dask_address=dask_address, dask_local=dask_local)
    if format == "json":
        typer.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    table = Table(title=escape(f"{cfg.dataset} → {summary['path']}"))
    table.add_column("part")
    table.add_column("rows", justify="right")
    for key, n in summary["counts"].items():
        table.add_row(key, str(n))
    Console().print(table)
    Console().print(f"pass rate {summary['validation']['pass_rate']:.4f}, "
                    f"{summary['seconds']:.1f} s, {summary['cache']['hits']} of "
                    f"{summary['cache']['shards']} shards from the cache")
    for warning in summary["warnings"]:
        Console().print(Text.assemble(("warning:", "bold yellow"), " ", warning),
                        highlight=False)


@app.command()
@handled
def datasets(format: str = typer.Option("text", help="text or json.")) -> None:
    """List the readers and presets."""
    check_format(format)
    from generators import presets
    from generators.readers import READERS

    info = {"readers": READERS.names(), "presets": presets.names()}
    if format == "json":
        typer.echo(json.dumps(info, indent=2))
        return
    for key, names in info.items():
        Console().print(f"[bold]{key}[/]: {', '.join(names)}")


@app.command()
@handled
def inspect(
    input: Path = typer.Option(..., "--input", help="Source file or directory."),
    preset: str = typer.Option("uci_har", help="Preset or reader name."),
    format: str = typer.Option("text", help="text or json."),
) -> None:
    """Show what a reader sees in a source, without building."""
    check_format(format)
    from generators.inspect import clock_lines, inspect_source

    info = inspect_source(preset, input)
    if format == "json":
        typer.echo(json.dumps(info, indent=2))
        return
    out = Console()
    out.print(f"[bold]{escape(info['source'])}[/] via reader [bold]{info['reader']}[/]: "
              f"{info['n_recordings']} recordings, subjects {escape(', '.join(info['subjects']))}, "
              f"{info['duration_s']:.1f} s at {info['sample_rates_hz']} Hz, "
              f"{info['nan_cells']} NaN cells, {len(info['gaps'])} gaps")
    chans = Table(title="channels")
    for col in ("name", "location", "modality", "axis", "unit"):
        chans.add_column(col)
    for ch in info["channels"]:
        chans.add_row(*(escape(str(ch[c])) for c in ("name", "location", "modality", "axis",
                                                     "unit")))
    out.print(chans)
    labels = Table(title="samples per label")
    labels.add_column("label")
    labels.add_column("samples", justify="right")
    for name, n in info["samples_per_label"].items():
        labels.add_row(escape(name), str(n))
    out.print(labels)
    for line in clock_lines(info):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if not info["labelled"]:
        out.print("no labels: every sample is unlabelled", highlight=False)


@app.command()
@handled
def serve(
    preset: str = typer.Option("uci_har", help="Dataset preset to rebuild on the schedule."),
    cron: str = typer.Option(..., help='Cron expression, e.g. "0 3 * * *" (03:00 daily).'),
    out: Path = typer.Option(Path("output"), help="Output root directory."),
    seed: int = typer.Option(0, help="Seed of every random choice."),
    stage: str = typer.Option("all", help="1, 2 or all."),
    input: Optional[Path] = typer.Option(None, "--input", help="Source path; default: the embedded sample."),
    name: Optional[str] = typer.Option(None, help="Deployment name (default: harqa-<preset>)."),
) -> None:
    """Serve the build flow on a cron schedule (needs a running `prefect server start`)."""
    from flows.serve import NoServerError, serve_build

    params = {"preset": preset, "out": str(out), "seed": seed, "stage": stage,
              "input": None if input is None else str(input)}
    try:
        serve_build(params, cron, name=name or f"harqa-{preset}")
    except (NoServerError, ValueError) as exc:
        fail(str(exc))


@app.command()
@handled
def export(
    dataset_dir: Path = typer.Argument(..., help="A built dataset directory."),
    format: str = typer.Option("sensorllm", help="chatts, jsonl, messages, opentslm or sensorllm."),
    out: str = typer.Option(..., help="Destination directory or fsspec URL (s3://…, memory://…)."),
    stage: str = typer.Option("all", help="1, 2 or all."),
    split: str = typer.Option("all", help="train, test or all."),
    mix: Optional[str] = typer.Option(None, help='Stage shares of each split, "stage1:0.9,stage2:0.1".'),
    max_rows: Optional[int] = typer.Option(None, help="At most this many rows per split (seeded draw)."),
    seed: int = typer.Option(0, help="Seed of the rows a mix or --max-rows draws."),
    series_in_text: bool = typer.Option(False, help="messages: the series as numbers in the prompt."),
    series_file: str = typer.Option("npz", help="sensorllm: npz, or pickle for SensorLLM's own loader."),
    shard_mb: float = typer.Option(128, help="MiB per shard (JSONL file, Parquet row group in memory)."),
    overwrite: bool = typer.Option(False, help="Replace the contents of a non-empty OUT."),
    allow_invalid: bool = typer.Option(False, help="Export a dataset that fails validation."),
) -> None:
    """Export a dataset for training: ChatTS, chat messages, OpenTSLM, SensorLLM or JSONL.

    A dataset whose parts differ from its manifest, or whose build's validation failed,
    is refused (exit 1) unless --allow-invalid."""
    from flows.export import export_dataset
    from generators.export import parse_mix
    from generators.exporters import ExportOptions

    options = ExportOptions(stage=stage, split=split, mix=parse_mix(mix) if mix else {},
                            max_rows=max_rows, seed=seed, series_in_text=series_in_text,
                            series_file=series_file, shard_bytes=int(shard_mb * 2**20))
    with console.status(f"exporting {dataset_dir} as {format}…"):
        summary = export_dataset(dataset_dir, format, out, options, overwrite, allow_invalid)
    table = Table(title=f"{format} → {out}")
    table.add_column("part")
    table.add_column("written", justify="right")
    for key, value in summary.items():
        if key not in ("files", "format"):
            table.add_row(key, json.dumps(value))
    Console().print(table)


@app.command()
@handled
def report(
    dataset_dir: Path = typer.Argument(..., help="A built dataset directory."),
    out: Optional[Path] = typer.Option(None, help="HTML file (default: <dataset_dir>/report.html)."),
) -> None:
    """Write a self-contained HTML report: examples with trends, distributions, validation."""
    from generators.report import write_report
    from rich.progress import Progress

    steps = ["reading", "distributions", "segments per second", "stage-1 examples",
             "stage-2 examples", "writing"]
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task("report", total=len(steps))

        def step(name: str) -> None:
            bar.update(job, completed=steps.index(name), description=name)

        path = write_report(dataset_dir, out, progress=step)
    Console().print(f"report written to {escape(str(path))}")


@app.command()
@handled
def validate(
    dataset_dir: Path = typer.Argument(..., help="A dataset directory (built by harqa or edited)."),
    format: str = typer.Option("text", help="text or json."),
) -> None:
    """Re-validate an existing dataset without rebuilding it (exit 1 when anything fails)."""
    check_format(format)
    from flows.cli_validate import validate_command

    code = validate_command(dataset_dir, format)
    if code:
        raise typer.Exit(code)


def _register_plugins() -> None:
    """Commands whose bodies live beside their feature (``flows/cli_<feature>.py``)."""
    from flows.cli_templates import templates_app
    from flows.cli_trends import trends_command
    from flows.cli_verify import verify_command

    app.command("trends")(handled(trends_command))
    app.command("verify")(handled(verify_command))
    for command in templates_app.registered_commands:
        command.callback = handled(command.callback)
    app.add_typer(templates_app, name="templates")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


_register_plugins()

if __name__ == "__main__":
    main()
