"""``harqa validate DIR [--format json]``: re-validate a dataset without rebuilding it."""

from __future__ import annotations

import json
from pathlib import Path


def validate_command(dataset_dir: Path, format: str = "text") -> int:
    """Validate a built (or user-edited) dataset and print the result.

    Args:
        dataset_dir: The dataset directory.
        format: ``text`` (one summary per line) or ``json`` (the full report).

    Returns:
        Exit code: 0 when everything passes, 1 when anything fails (a part that is missing,
        extra or changed against ``manifest.json`` included).

    Raises:
        InputError: Not a dataset directory with a ``manifest.json``, or an unreadable part.
    """
    from validation.report import validate_dataset

    report = validate_dataset(Path(dataset_dir))
    if format == "json":
        print(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        print(f"{report['path']}: {report['rows']} rows, {report['rejected']} fail the semantic "
              f"checks, {report['stored_rejected']} already in rejected/")
        integrity = report["manifest"]
        print(f"  parts against manifest.json: {'pass' if integrity['passed'] else 'FAIL'}")
        for problem in integrity["detail"]["problems"]:
            print(f"    {problem}")
        for name, n in report["by_check"].items():
            print(f"  {name}: {n}")
        for name, res in report["dataset_checks"].items():
            print(f"  dataset check {name}: {'pass' if res['passed'] else 'FAIL'}")
        if report["gx"] is not None:
            print(f"  GX suites: {'pass' if report['gx']['success'] else 'FAIL'} "
                  f"({', '.join(report['gx']['failed_suites']) or 'all passed'})")
        print("PASSED" if report["passed"] else "FAILED")
    return 0 if report["passed"] else 1
