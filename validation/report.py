"""Validate an existing dataset: semantic re-checks, dataset checks and GX suites in one report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from generators.dataset import read_stage
from generators.schema import REJECTED_SCHEMA
from validation import dataset_checks, gx_suites, semantic


def _expected(dataset_dir: Path) -> dict | None:
    """Configured classes from the manifest, when the dataset has one."""
    manifest = dataset_dir / "manifest.json"
    if not manifest.exists():
        return None
    config = json.loads(manifest.read_text(encoding="utf-8")).get("config", {})
    return {"classes": config["classes"]} if config.get("classes") else None


def _stored_rejects(dataset_dir: Path) -> pa.Table:
    files = sorted((dataset_dir / "rejected").glob("*.parquet"))
    if not files:
        return REJECTED_SCHEMA.empty_table()
    return pa.concat_tables(pq.read_table(f, schema=REJECTED_SCHEMA) for f in files)


def validate_dataset(dataset_dir: Path, gx: bool = True) -> dict:
    """Re-validate every accepted row of a dataset and run the dataset checks and GX suites.

    Args:
        dataset_dir: The dataset directory (``stage{1,2}/{train,test}/*.parquet``).
        gx: Run the Great Expectations suites too.

    Returns:
        JSON-ready report: ``rows`` (accepted rows read), ``rejected`` (accepted rows that
        now fail), ``stored_rejected`` (rows already in ``rejected/``), ``by_check``
        (check name → failures), ``rejected_ids`` (with check and reason),
        ``dataset_checks``, ``gx`` (summary or ``None``) and ``passed``.
    """
    dataset_dir = Path(dataset_dir)
    rows, failed, by_check = 0, [], Counter()
    for stage in (1, 2):
        table = read_stage(dataset_dir, stage)
        rows += table.num_rows
        if not table.num_rows:
            continue
        _, bad = semantic.check_table(table)
        by_check.update(bad["check"].to_pylist())
        failed += [{"row_id": r, "check": c, "reason": why} for r, c, why in
                   zip(*(bad[k].to_pylist() for k in ("row_id", "check", "reason")))]
    stored = _stored_rejects(dataset_dir)
    checks = dataset_checks.run_dataset_checks(dataset_dir, _expected(dataset_dir))
    gx_summary = gx_suites.run_suites(dataset_dir) if gx else None
    passed = (not failed and rows > 0 and all(c["passed"] for c in checks.values())
              and (gx_summary is None or gx_summary["success"]))
    return {
        "path": str(dataset_dir),
        "rows": rows,
        "rejected": len(failed),
        "stored_rejected": stored.num_rows,
        "stored_rejected_by_check": dict(Counter(stored["check"].to_pylist())),
        "by_check": dict(sorted(by_check.items())),
        "rejected_ids": failed,
        "dataset_checks": checks,
        "gx": gx_summary,
        "passed": bool(passed),
    }
