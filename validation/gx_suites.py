"""Great Expectations suites (as code, versioned) over the stage 1, stage 2 and rejected tables."""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Iterable, Iterator

import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.data_context.types.base import ProgressBarsConfig

from generators.dataset import iter_parts, iter_rejected, write_json_atomic
from generators.qa import QA_TYPES
from generators.schema import is_labelled, schemas

SUITE_VERSION = "1"
"""Raised whenever an expectation is added, removed or changed."""

LEFTOVER_REGEX = r"\{\{|\}\}|\{%|%\}"
EXAMPLES = 5
#: Rows per validated batch: GX sees a dataset in frames of about this many rows (part
#: files are never split), so its memory is bounded whatever the dataset's size. Whole-table
#: properties that batches cannot see (row ids unique across batches) are the dataset
#: checks' job (``validation.dataset_checks``).
BATCH_ROWS = 50_000
_E = gx.expectations
_HTML_REFS = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def suite_name(table: str) -> str:
    """Versioned suite name of one table (``harqa_stage1_v1``)."""
    return f"harqa_{table}_v{SUITE_VERSION}"


def _declared(dataset_dir: Path) -> tuple[list[str] | None, bool]:
    """The activity names the build declared (the manifest's ``activities``), if it lists
    them, and whether its rows carry labels (the manifest's ``labelled``; a manifest
    without it, or none, is of a labelled dataset).

    A staged dataset being validated by its build has no manifest yet: the build passes
    both to :func:`run_suites` itself.
    """
    manifest = dataset_dir / "manifest.json"
    if not manifest.exists():
        return None, True
    data = json.loads(manifest.read_text(encoding="utf-8"))
    names = data.get("activities")
    return (list(names) if names else None), data.get("labelled", True) is not False


def escape_html(strings: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``html.escape`` of every string, vectorized: ``& < > " '`` as character references.

    GX's Data Docs write values into their pages as they are; every string reaches GX
    through this, so a label like ``<script>…`` is shown and never run. The mapping is
    one to one (``&`` goes first), so equal, unique and in-set tests are unchanged when
    the expected values are escaped too, and ``html.unescape`` gives the value back.
    """
    for char, ref in _HTML_REFS:
        strings = pc.replace_substring(strings, char, ref)
    return strings


def expectations(table: str, schema: pa.Schema, activities: list[str] | None) -> list:
    """The expectations of one table.

    Args:
        table: ``stage1``, ``stage2`` or ``rejected``.
        schema: The table's Arrow schema (columns that must exist; non-nullable ones
            non-null). In its unlabelled form (``schema.unlabelled``) every row's label
            columns must be null.
        activities: The declared activity names (any characters), or ``None`` to require
            only a name that is not blank (of a labelled table).

    Returns:
        Expectation objects in suite order.
    """
    # The series itself reaches GX as the helper columns of ``columns`` (lengths, channels).
    fields = [f for f in schema if f.name != "series"]
    out: list = [_E.ExpectColumnToExist(column=f.name) for f in fields]
    out += [_E.ExpectColumnValuesToNotBeNull(column=f.name) for f in fields if not f.nullable]
    out += [
        _E.ExpectColumnValuesToBeUnique(column="row_id"),
        _E.ExpectColumnValuesToBeInSet(column="qa_type", value_set=QA_TYPES.names()),
        _E.ExpectColumnValuesToBeInSet(column="split", value_set=["train", "test"]),
        _E.ExpectColumnValuesToBeBetween(column="window_start", min_value=0),
        _E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="window_end", column_B="window_start"),
        _E.ExpectColumnPairValuesToBeEqual(column_A="window_length", column_B="series_length"),
        _E.ExpectColumnPairValuesToBeEqual(column_A="n_channels", column_B="n_channel_names"),
        _E.ExpectColumnValuesToBeInSet(column="channels_equal_length", value_set=[True]),
        _E.ExpectColumnValuesToBeBetween(column="n_channels", min_value=1),
        _E.ExpectColumnValuesToBeBetween(column="sample_rate_hz", min_value=0,
                                         strict_min=True),
    ]
    for col in ("question", "answer"):
        out += [_E.ExpectColumnValueLengthsToBeBetween(column=col, min_value=1),
                _E.ExpectColumnValuesToNotMatchRegex(column=col, regex=LEFTOVER_REGEX),
                _E.ExpectColumnValuesToMatchRegex(column=col, regex=r"\S")]
    if not is_labelled(schema):
        out += [_E.ExpectColumnValuesToBeNull(column=c) for c in ("activity", "activity_id")]
    else:
        out.append(_E.ExpectColumnValuesToMatchRegex(column="activity", regex=r"\S"))
    if activities is not None and is_labelled(schema):
        declared = escape_html(pa.array(activities, pa.string())).to_pylist()
        out.append(_E.ExpectColumnValuesToBeInSet(column="activity", value_set=declared))
    if table in ("stage1", "stage2"):
        stage = int(table[-1])
        out.append(_E.ExpectColumnValuesToBeInSet(column="stage", value_set=[stage]))
        if stage == 1:
            out.append(_E.ExpectColumnValuesToBeInSet(column="n_channels", value_set=[1]))
    else:
        out += [_E.ExpectColumnValueLengthsToBeBetween(column=c, min_value=1)
                for c in ("check", "reason")]
    return out


def columns(table: pa.Table) -> pa.Table:
    """The columns GX sees of a table: the table without the series, its strings
    HTML-escaped (:func:`escape_html`), its list columns as their lengths, plus helper
    columns computed from the series.

    The suites read a list column only for existing and being non-null, which its length
    keeps (a null list has a null length); as lists GX could not fingerprint the frame by
    hashing and would pickle it whole for each batch. Helper columns: ``series_length``
    (samples of the first channel), ``window_length`` (``window_end - window_start``),
    ``n_channels``, ``n_channel_names`` and ``channels_equal_length``.
    """
    series = table["series"]
    inner = pc.list_value_length(pc.list_flatten(series)).to_numpy(zero_copy_only=False)
    row_of = pc.list_parent_indices(series).to_numpy(zero_copy_only=False)
    first = pd.Series(inner).groupby(row_of).first().reindex(range(table.num_rows))
    equal = pd.Series(inner).groupby(row_of).nunique().reindex(range(table.num_rows)) == 1
    rest = table.drop_columns(["series"])
    for i, f in enumerate(rest.schema):
        if pa.types.is_string(f.type):
            rest = rest.set_column(i, f, escape_html(rest[f.name]))
        elif pa.types.is_list(f.type):
            rest = rest.set_column(i, f.name, pc.list_value_length(rest[f.name]))
    helpers = {
        "series_length": pa.array(first.fillna(0).astype("int64").to_numpy()),
        "window_length": pc.subtract(table["window_end"], table["window_start"]),
        "n_channels": pc.list_value_length(series),
        "n_channel_names": pc.list_value_length(table["channel_names"]),
        "channels_equal_length": pa.array(equal.to_numpy()),
    }
    for name, values in helpers.items():
        rest = rest.append_column(name, values)
    return rest


def _summarize(result) -> dict:  # noqa: ANN001 (a GX validation result)
    items = []
    for r in result.results:
        cfg = r.expectation_config
        res = r.result or {}
        kwargs = {k: v for k, v in cfg.kwargs.items() if k in ("column", "column_A", "column_B")}
        items.append({
            "expectation": cfg.type, **kwargs, "success": bool(r.success),
            "evaluated": res.get("element_count"), "failed": res.get("unexpected_count", 0
                                                                  if r.success else None),
            "examples": [html.unescape(e) if isinstance(e, str) else e for e in json.loads(
                json.dumps(res.get("partial_unexpected_list", [])[:EXAMPLES], default=str))],
        })
    return {"success": bool(result.success), "expectations": items}


def batches(tables: Iterable[pa.Table], schema: pa.Schema,
            rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
    """The :func:`columns` of the tables, regrouped into frames of at least ``rows`` rows.

    Tables arrive one part file at a time and leave their series behind in :func:`columns`,
    so memory holds one part and one batch, never the whole table. A batch's columns are
    contiguous (one Arrow chunk each): GX filters the whole frame once or twice per
    expectation, and taking rows of a column in many chunks copies all of it. With no rows
    at all one empty frame is yielded, so an empty table is still validated.
    """
    def joined(parts: list[pa.Table]) -> pd.DataFrame:
        return pa.concat_tables(parts, promote_options="permissive").combine_chunks().to_pandas()

    pending: list[pa.Table] = []
    size, emitted = 0, False
    for table in tables:
        pending.append(columns(table))
        size += table.num_rows
        if size >= rows:
            yield joined(pending)
            pending, size, emitted = [], 0, True
    if pending or not emitted:
        yield joined(pending or [columns(schema.empty_table())])


def _merge(runs: list[dict]) -> dict:
    """One suite summary from the summaries of its batches (counts added, examples kept)."""
    items = []
    for per_batch in zip(*(r["expectations"] for r in runs)):
        item = dict(per_batch[0])
        item["success"] = all(b["success"] for b in per_batch)
        for key in ("evaluated", "failed"):  # None (not counted) stays None
            counts = [b[key] for b in per_batch]
            item[key] = None if None in counts else sum(counts)
        item["examples"] = [e for b in per_batch for e in b["examples"]][:EXAMPLES]
        items.append(item)
    by_check: dict[str, dict] = {}
    for it in items:
        agg = by_check.setdefault(it["expectation"], {"expectations": 0, "failed_expectations": 0,
                                                       "evaluated": 0, "failed": 0})
        agg["expectations"] += 1
        agg["failed_expectations"] += 0 if it["success"] else 1
        agg["evaluated"] += it["evaluated"] or 0
        agg["failed"] += it["failed"] or 0
    return {"success": all(r["success"] for r in runs), "expectations": items,
            "by_check": by_check}


def run_suites(dataset_dir: Path, activities: list[str] | None = None,
               labelled: bool | None = None) -> dict:
    """Validate the stage 1, stage 2 and rejected tables of a dataset with GX.

    Each table is validated in batches of about ``BATCH_ROWS`` rows read one part file at
    a time (:func:`batches`); a suite's summary adds up its batches' counts.

    Writes Data Docs HTML under ``<dataset_dir>/validation/`` (built once, from every
    batch's stored result, after the last batch) and the JSON summary to
    ``<dataset_dir>/validation/summary.json``.

    Args:
        dataset_dir: The dataset directory.
        activities: The declared activity names; default: the manifest's ``activities``
            when present, else any name that is not blank.
        labelled: Whether the rows carry activity labels (``False``: every label null,
            the unlabelled schemas); default: the manifest's ``labelled``.

    Returns:
        ``{"success": bool, "failed_suites": [...], "suites": {name: summary}}``; each
        suite summary has ``success``, per-expectation ``expectations`` (evaluated, failed,
        examples: the values as they are, unescaped) and per-check ``by_check`` totals.
    """
    dataset_dir = Path(dataset_dir)
    out_dir = dataset_dir / "validation"
    out_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.update_data_docs_site("local_site", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(out_dir.resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    names, in_manifest = _declared(dataset_dir)
    allowed = activities if activities is not None else names
    qa_schema, rejected_schema = schemas(in_manifest if labelled is None else labelled)
    source = context.data_sources.add_pandas("harqa")
    tables = {"stage1": (lambda: iter_parts(dataset_dir, (1,)), qa_schema),
              "stage2": (lambda: iter_parts(dataset_dir, (2,)), qa_schema),
              "rejected": (lambda: iter_rejected(dataset_dir), rejected_schema)}
    suites: dict[str, dict] = {}
    for name, (parts, schema) in tables.items():
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        suite = context.suites.add(gx.ExpectationSuite(
            name=suite_name(name), expectations=expectations(name, schema, allowed)))
        vd = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name(name), data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"{suite_name(name)}_checkpoint", validation_definitions=[vd],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}))
        runs, rows = [], 0
        for df in batches(parts(), schema):
            result = checkpoint.run(batch_parameters={"dataframe": df})
            (vr,) = result.run_results.values()
            runs.append(_summarize(vr))
            rows += len(df)
        suites[suite_name(name)] = {"table": name, "rows": rows, "batches": len(runs),
                                    **_merge(runs)}
    context.build_data_docs()
    summary = {"suite_version": SUITE_VERSION,
               "success": all(s["success"] for s in suites.values()),
               "failed_suites": [n for n, s in suites.items() if not s["success"]],
               "data_docs": str((out_dir / "index.html").resolve()),
               "suites": suites}
    write_json_atomic(summary, out_dir / "summary.json")
    return summary
