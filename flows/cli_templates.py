"""``harqa templates list|lint|preview``: inspect, check and try template packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from flows.formats import check_format
from generators import pipeline, qa
from generators.errors import InputError
from generators.text import load_packs


def list_templates(templates: Path | None = None, format: str = "text") -> str:
    """The output of ``harqa templates list``.

    Args:
        templates: Overlay directory of user packs, or ``None`` for the built-ins.
        format: ``text`` or ``json``.

    Returns:
        JSON ``[{"qa_type", "stage", "version", "variants", "fields", "path",
        "share"}]`` (``stage``/``share`` are ``null`` for a pack without a builder) or
        one line per pack.
    """
    check_format(format)
    rows = []
    for name, pack in sorted(load_packs(templates).items()):
        stage = qa.QA_TYPES[name].STAGE if name in qa.QA_TYPES else None
        rows.append({"qa_type": name, "stage": stage, "version": pack.version,
                     "variants": len(pack.variants), "fields": list(pack.fields),
                     "path": pack.path,
                     "share": qa.stage_mix(stage)[name] if stage is not None else None})
    if format == "json":
        return json.dumps(rows, indent=2)
    return "\n".join(f"{r['qa_type']:<24} stage {r['stage'] or '-'}  v{r['version']:<3} "
                     f"{r['variants']:>3} variants  share {_or_dash(r['share'])}  {r['path']}"
                     for r in rows)


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def lint_templates(templates: Path | None = None, format: str = "text") -> tuple[int, str]:
    """The output and exit code of ``harqa templates lint``.

    Args:
        templates: Overlay directory to lint together with the built-ins.
        format: ``text`` or ``json``.

    Returns:
        ``(exit code, output)``: 0 when clean, 1 with issues. JSON is
        ``{"ok": bool, "issues": [{"path", "variant", "message"}]}``; a file that does
        not load is reported as one issue.
    """
    check_format(format)
    try:
        issues = qa.lint_packs(load_packs(templates))
    except InputError as exc:
        issues = [qa.LintIssue(exc.path, None, exc.message
                               + (f" (line {exc.line})" if exc.line else "")
                               + (f" (field {exc.field})" if exc.field else ""))]
    code = 1 if issues else 0
    if format == "json":
        return code, json.dumps({"ok": not issues, "issues": [
            {"path": i.path, "variant": i.variant, "message": i.message} for i in issues]},
            indent=2)
    return code, "\n".join(map(str, issues)) if issues else "all template packs are clean"


def preview_templates(qa_type: str, n: int = 3, templates: Path | None = None, seed: int = 0,
                      format: str = "text") -> str:
    """The output of ``harqa templates preview``: rows rendered from the embedded sample.

    Windows of the sample's first recordings are cut as ``harqa build`` cuts them;
    the first ``n`` rows of ``qa_type`` are shown.

    Args:
        qa_type: A registered QA type.
        n: Number of rows.
        templates: Overlay directory of user packs.
        seed: Build seed.
        format: ``text`` or ``json``.

    Returns:
        ``Q:``/``A:`` blocks with the template id, or a JSON list of rows.

    Raises:
        UnknownNameError: ``qa_type`` is not registered.
        InputError: Bad format, or the sample gives no row of this type.
    """
    from flows.config import make_config

    check_format(format)
    stage = qa.QA_TYPES[qa_type].STAGE
    packs = load_packs(templates)
    cfg = make_config(seed=seed, stage=str(stage))
    items = []
    for rec in pipeline.recordings(cfg):
        for ctx in pipeline.contexts(rec, cfg):
            items += qa.build_items(ctx, [qa_type], packs, cfg.trend_method, seed)
            if len(items) >= n:
                break
        if len(items) >= n:
            break
    if not items:
        raise InputError("embedded sample", f"no window of the sample gives a {qa_type!r} row")
    items = items[:n]
    if format == "json":
        return json.dumps([{"row_id": i.row_id, "template_id": i.template_id,
                            "template_version": i.template_version, "question": i.question,
                            "answer": i.answer, "facts": dict(i.facts)} for i in items], indent=2)
    return "\n\n".join(f"[{i.template_id} v{i.template_version}] {i.row_id}\nQ: {i.question}\n"
                       f"A: {i.answer}" for i in items)


templates_app = typer.Typer(help="List, lint and preview template packs.", no_args_is_help=True)


@templates_app.command("list")
def list_command(
    templates: Optional[Path] = typer.Option(None, "--templates", help="Overlay directory of user packs."),
    format: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """List the template packs: QA type, stage, version, variants, default share."""
    typer.echo(list_templates(templates, format))


@templates_app.command("lint")
def lint_command(
    directory: Optional[Path] = typer.Argument(None, exists=True, file_okay=False,
                                               help="Directory of user packs to lint with the built-ins."),
    format: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Check template packs; exit 1 when an issue is found (each names file and variant)."""
    code, out = lint_templates(directory, format)
    typer.echo(out)
    raise typer.Exit(code)


@templates_app.command("preview")
def preview_command(
    qa_type: str = typer.Argument(..., help="QA type to render."),
    n: int = typer.Option(3, "--n", min=1, help="Number of rows."),
    templates: Optional[Path] = typer.Option(None, "--templates", help="Overlay directory of user packs."),
    seed: int = typer.Option(0, "--seed", help="Build seed."),
    format: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Render example rows of one QA type from the embedded sample."""
    typer.echo(preview_templates(qa_type, n, templates, seed, format))
