"""``harqa validate DIR [--format json]``: re-validate a dataset without rebuilding it."""

from __future__ import annotations

import json
from pathlib import Path

from generators.errors import InputError


def validate_command(dataset_dir: Path, format: str = "text") -> int:
    """Validate a built (or user-edited) dataset and print the result.

    Args:
        dataset_dir: The dataset directory.
        format: ``text`` (one summary per line) or ``json`` (the full report).

    Returns:
        Exit code: 0 when everything passes, 1 when anything fails, 2 on bad input.
    """
    from validation.report import validate_dataset

    dataset_dir = Path(dataset_dir)
    if not any(dataset_dir.glob("stage[12]/*/*.parquet")):
        print(InputError(dataset_dir, "not a harqa dataset: no stage1|stage2/<split>/*.parquet"))
        return 2
    report = validate_dataset(dataset_dir)
    if format == "json":
        print(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        print(f"{report['path']}: {report['rows']} rows, {report['rejected']} fail the semantic "
              f"checks, {report['stored_rejected']} already in rejected/")
        for name, n in report["by_check"].items():
            print(f"  {name}: {n}")
        for name, res in report["dataset_checks"].items():
            print(f"  dataset check {name}: {'pass' if res['passed'] else 'FAIL'}")
        if report["gx"] is not None:
            print(f"  GX suites: {'pass' if report['gx']['success'] else 'FAIL'} "
                  f"({', '.join(report['gx']['failed_suites']) or 'all passed'})")
        print("PASSED" if report["passed"] else "FAILED")
    return 0 if report["passed"] else 1
