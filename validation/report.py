"""Validate an existing dataset: its parts against the manifest, semantic re-checks, dataset
checks and GX suites in one report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from generators.dataset import iter_parts, iter_rejected, read_manifest
from generators.text import load_saved_packs
from validation import dataset_checks, gx_suites, semantic


def _expected(manifest: dict) -> dict | None:
    """Configured classes from the manifest, when it lists them."""
    config = manifest.get("config", {})
    return {"classes": config["classes"]} if config.get("classes") else None


def stored_failure(manifest: dict) -> str | None:
    """The first failure of the validation a build stored in its manifest, or ``None``.

    A build publishes only a dataset that passed, so this fails on a staged dataset that
    a failed build kept, or on a manifest edited by hand.
    """
    v = manifest.get("validation")
    if not isinstance(v, dict):
        return "manifest.json records no validation result"
    least = manifest.get("config", {}).get("min_pass_rate", 0)
    if v.get("pass_rate", 0) < least:
        return f"pass rate {v.get('pass_rate', 0):.4f} < {least}"
    failed = [n for n, r in v.get("dataset_checks", {}).items() if not r.get("passed")]
    if failed:
        return f"dataset check {failed[0]} failed"
    return None if v.get("gx_success") else "the Great Expectations suites failed"


def first_failure(dataset_dir: Path) -> str | None:
    """Why a dataset fails validation, decided without reading its rows; ``None`` if it passes.

    The dataset fails when its parts are not byte for byte those its manifest lists
    (:func:`dataset_checks.manifest_integrity`: missing, extra or changed part, count
    mismatch) or when the validation its build stored failed (:func:`stored_failure`).
    The checks of :func:`validate_dataset` are deterministic, so unchanged parts that
    passed at build time pass them again; this costs one SHA-256 pass over the parts.

    Raises:
        InputError: ``dataset_dir`` holds no readable manifest.
    """
    manifest = read_manifest(dataset_dir)
    problems = dataset_checks.manifest_integrity(dataset_dir, manifest)["detail"]["problems"]
    return problems[0] if problems else stored_failure(manifest)


def validate_dataset(dataset_dir: Path, gx: bool = True) -> dict:
    """Re-validate every accepted row of a dataset and run the dataset checks and GX suites.

    Args:
        dataset_dir: The dataset directory (``stage{1,2}/{train,test}/*.parquet``).
        gx: Run the Great Expectations suites too.

    Returns:
        JSON-ready report: ``manifest`` (:func:`dataset_checks.manifest_integrity`: parts,
        checksums and counts against ``manifest.json``), ``rows`` (accepted rows read),
        ``rejected`` (accepted rows that now fail), ``stored_rejected`` (rows already in
        ``rejected/``), ``by_check`` (check name → failures), ``rejected_ids`` (with check
        and reason), ``dataset_checks``, ``gx`` (summary or ``None``) and ``passed``.

    Raises:
        InputError: ``dataset_dir`` holds no readable manifest, or a part is unreadable.
    """
    dataset_dir = Path(dataset_dir)
    manifest = read_manifest(dataset_dir)
    integrity = dataset_checks.manifest_integrity(dataset_dir, manifest)
    rows, failed, by_check = 0, [], Counter()
    # Rows are read along the packs the dataset carries, naming any class of the dataset.
    packs = load_saved_packs(dataset_dir)
    labels = semantic.row_labels(iter_parts(dataset_dir, columns=["activity", "next_activity"]))
    for table in iter_parts(dataset_dir):  # one shard's part at a time: bounded memory
        rows += table.num_rows
        _, bad = semantic.check_table(table, packs, labels)
        by_check.update(bad["check"].to_pylist())
        failed += [{"row_id": r, "check": c, "reason": why} for r, c, why in
                   zip(*(bad[k].to_pylist() for k in ("row_id", "check", "reason")))]
    stored = Counter(c for t in iter_rejected(dataset_dir, columns=["check"])
                     for c in t["check"].to_pylist())
    checks = dataset_checks.run_dataset_checks(dataset_dir, _expected(manifest))
    gx_summary = gx_suites.run_suites(dataset_dir) if gx else None
    passed = (integrity["passed"] and not failed and rows > 0
              and all(c["passed"] for c in checks.values())
              and (gx_summary is None or gx_summary["success"]))
    return {
        "path": str(dataset_dir),
        "manifest": integrity,
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
