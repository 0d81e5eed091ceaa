"""A published dataset is what its manifest lists: ``harqa validate`` fails a missing,
extra or changed part and a count that differs, naming it; ``harqa export`` refuses such
a dataset unless ``--allow-invalid``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from generators.dataset import read_manifest, write_json_atomic
from tests.test_export import small_dataset
from validation import dataset_checks
from validation.report import first_failure

runner = CliRunner()


@pytest.fixture(scope="module")
def built(prefect_server, tmp_path_factory) -> Path:
    """The small two-class build shared with the export tests (never changed here)."""
    return small_dataset(tmp_path_factory)


@pytest.fixture
def copy(built, tmp_path) -> Path:
    """A copy of the build, for a test to tamper with."""
    return Path(shutil.copytree(built, tmp_path / built.name))


def _first_part(root: Path, stage: int = 1) -> str:
    return sorted(read_manifest(root)["files"])[0 if stage == 1 else -1]


def _rewrite(root: Path, rel: str, change: Callable[[pa.Table], pa.Table]) -> int:
    """Rewrite one part through ``change``; its rows before."""
    table = pq.read_table(root / rel)
    pq.write_table(change(table), root / rel, compression="zstd")
    return table.num_rows


def _count_problem(root: Path, rel: str, more: int) -> str:
    """The problem of the stage/split of part ``rel`` once it holds ``more`` rows more."""
    split = rel.rsplit("/", 1)[0]
    total = read_manifest(root)["counts"][split]
    return f"{split}: {total + more} rows, manifest.json counts {total}"


def _delete_row(root: Path) -> list[str]:
    rel = _first_part(root)
    n = _rewrite(root, rel, lambda t: t.slice(0, t.num_rows - 1))
    return [f"{rel}: SHA-256 differs from manifest.json ({n - 1} rows now)",
            _count_problem(root, rel, -1)]


def _edit_answer(root: Path) -> list[str]:
    rel = _first_part(root)

    def change(t: pa.Table) -> pa.Table:
        answers = t["answer"].to_pylist()
        answers[0] = answers[0] + " (edited)"
        return t.set_column(t.schema.get_field_index("answer"), "answer", pa.array(answers))

    n = _rewrite(root, rel, change)
    return [f"{rel}: SHA-256 differs from manifest.json ({n} rows now)"]


def _delete_part(root: Path) -> list[str]:
    rel = _first_part(root, stage=2)
    n = pq.ParquetFile(root / rel).metadata.num_rows
    (root / rel).unlink()
    return [f"{rel}: missing (listed in manifest.json)", _count_problem(root, rel, -n)]


def _extra_part(root: Path) -> list[str]:
    rel = _first_part(root)
    extra = rel.replace(".parquet", "_copy.parquet")
    shutil.copy(root / rel, root / extra)
    n = pq.ParquetFile(root / rel).metadata.num_rows
    return [f"{extra}: not in manifest.json (a part the build did not write)",
            _count_problem(root, rel, n)]


def _count_edited(root: Path) -> list[str]:
    manifest = read_manifest(root)
    total = manifest["counts"]["stage2/test"]
    manifest["counts"]["stage2/test"] = total + 1
    write_json_atomic(manifest, root / "manifest.json")
    return [f"stage2/test: {total} rows, manifest.json counts {total + 1}"]


TAMPER = {"deleted-row": _delete_row, "edited-answer": _edit_answer,
          "deleted-part": _delete_part, "extra-part": _extra_part,
          "edited-count": _count_edited}


def test_the_build_as_published_passes_validate(built):
    assert read_manifest(built)["activities"] == ["SITTING", "STANDING"]
    assert dataset_checks.manifest_integrity(built, read_manifest(built)) == {
        "passed": True, "detail": {"problems": []}}
    result = runner.invoke(app, ["validate", str(built)])
    assert result.exit_code == 0, result.output
    assert "parts against manifest.json: pass" in result.output
    assert "GX suites: pass" in result.output
    assert result.output.rstrip().endswith("PASSED")
    assert first_failure(built) is None


@pytest.mark.parametrize("tamper", TAMPER, ids=list(TAMPER))
def test_a_tampered_dataset_fails_naming_the_part(copy, tamper):
    expected = TAMPER[tamper](copy)
    result = dataset_checks.manifest_integrity(copy, read_manifest(copy))
    assert result == {"passed": False, "detail": {"problems": expected}}
    assert first_failure(copy) == expected[0]


def test_validate_exits_1_on_a_deleted_row_naming_the_part(copy):
    problems = _delete_row(copy)
    result = runner.invoke(app, ["validate", str(copy)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "  parts against manifest.json: FAIL" in lines
    assert all(f"    {p}" in lines for p in problems)
    assert lines[-1] == "FAILED"


@pytest.mark.parametrize("validation, failure", [
    ({"gx_success": False}, "the Great Expectations suites failed"),
    ({"pass_rate": 0.5}, "pass rate 0.5000 < 0.6"),
    ({"dataset_checks": {"subjects_disjoint": {"passed": False}}},
     "dataset check subjects_disjoint failed"),
])
def test_a_failed_stored_validation_fails(copy, validation, failure):
    manifest = read_manifest(copy)
    manifest["config"]["min_pass_rate"] = 0.6
    manifest["validation"].update(validation)
    write_json_atomic(manifest, copy / "manifest.json")
    assert first_failure(copy) == failure


def test_export_refuses_an_invalid_dataset_unless_allowed(copy, tmp_path):
    problems = _delete_part(copy)
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", str(copy), "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"error: {copy}: fails validation: {problems[0]} (--allow-invalid exports it anyway)"]
    assert not out.exists()
    result = runner.invoke(app, ["export", str(copy), "--format", "jsonl", "--out", str(out),
                                 "--allow-invalid"])
    assert result.exit_code == 0, result.output
    exported = json.loads((out / "export-manifest.json").read_text())
    assert exported["format"] == "jsonl"
