"""Validate an existing dataset: semantic re-checks, dataset checks and GX suites in one report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from generators.dataset import iter_parts, iter_rejected
from validation import dataset_checks, gx_suites, semantic


def _expected(dataset_dir: Path) -> dict | None:
    """Configured classes from the manifest, when the dataset has one."""
    manifest = dataset_dir / "manifest.json"
    if not manifest.exists():
        return None
    config = json.loads(manifest.read_text(encoding="utf-8")).get("config", {})
    return {"classes": config["classes"]} if config.get("classes") else None


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
    for table in iter_parts(dataset_dir):  # one shard's part at a time: bounded memory
        rows += table.num_rows
        _, bad = semantic.check_table(table)
        by_check.update(bad["check"].to_pylist())
        failed += [{"row_id": r, "check": c, "reason": why} for r, c, why in
                   zip(*(bad[k].to_pylist() for k in ("row_id", "check", "reason")))]
    stored = Counter(c for t in iter_rejected(dataset_dir, columns=["check"])
                     for c in t["check"].to_pylist())
    checks = dataset_checks.run_dataset_checks(dataset_dir, _expected(dataset_dir))
    gx_summary = gx_suites.run_suites(dataset_dir) if gx else None
    passed = (not failed and rows > 0 and all(c["passed"] for c in checks.values())
              and (gx_summary is None or gx_summary["success"]))
    return {
        "path": str(dataset_dir),
        "rows": rows,
        "rejected": len(failed),
        "stored_rejected": sum(stored.values()),
        "stored_rejected_by_check": dict(stored),
        "by_check": dict(sorted(by_check.items())),
        "rejected_ids": failed,
        "dataset_checks": checks,
        "gx": gx_summary,
        "passed": bool(passed),
    }
