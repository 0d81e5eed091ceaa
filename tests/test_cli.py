"""The command line contract: exit codes, one-line reasons, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

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
