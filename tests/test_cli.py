"""The command line contract: exit codes, one-line reasons, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_datasets_lists_readers_and_presets():
    result = runner.invoke(app, ["datasets", "--format", "json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert "uci_har" in info["readers"] and "uci_har" in info["presets"]


def test_inspect_json_on_the_embedded_sample():
    sample = Path(__file__).resolve().parents[1] / "generators" / "sample" / "uci_har"
    result = runner.invoke(app, ["inspect", "--input", str(sample), "--format", "json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["n_recordings"] == 6 and info["subjects"] == ["1", "2", "3"]
    assert info["samples_per_label"]["WALKING"] == 15117


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "--preset", "nope"], "unknown preset 'nope'; known: "),
        (["build", "--stage", "3"], "--stage must be 1, 2 or all"),
        (["inspect", "--input", "/nonexistent/dir"], "/nonexistent/dir"),
        (["inspect", "--preset", "nope", "--input", "."], "unknown preset or reader 'nope'"),
        (["build", "--name", "../elsewhere"], "dataset name '../elsewhere'"),
        (["build", "--input", "/nonexistent/dir"], "/nonexistent/dir: input path does not exist"),
        # Every --format is checked, none silently falls back to text.
        (["build", "--format", "yaml"], "expected text or json, got 'yaml'"),
        (["datasets", "--format", "yaml"], "expected text or json, got 'yaml'"),
        (["inspect", "--input", ".", "--format", "yaml"], "expected text or json, got 'yaml'"),
        (["validate", ".", "--format", "yaml"], "expected text or json, got 'yaml'"),
        (["templates", "preview", "counting", "--n", "-3"], "greater than or equal to 1"),
    ],
)
def test_bad_input_exits_2_with_one_line_reason(args, message, tmp_path):
    result = runner.invoke(app, [*args, *(["--out", str(tmp_path)] if args[0] == "build" else [])])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_build_of_a_broken_input_leaves_nothing(tmp_path, prefect_server):
    bad = tmp_path / "in" / "RawData"
    bad.mkdir(parents=True)
    (bad / "labels.txt").write_text("1 1 5 1 10\n")
    (tmp_path / "in" / "activity_labels.txt").write_text("5 STANDING\n")
    (bad / "acc_exp01_user01.txt").write_text("0 0 0\n" * 20)
    (bad / "gyro_exp01_user01.txt").write_text("0 0 0\n" * 19 + "0 zero 0\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", "--input", str(tmp_path / "in"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "gyro_exp01_user01.txt, line 20, field 'column 2': expected a number" in result.output
    # No dataset and no staged part files; only the build cache may exist.
    assert not (out / "uci_har").exists()
    assert not [p for p in out.rglob("*.parquet") if ".harqa-cache" not in p.parts]
    assert not list(out.glob(".uci_har*"))
