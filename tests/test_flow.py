"""End to end: the build flow on the embedded sample under a Prefect test server."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.build import build_dataset
from flows.config import make_config
from generators.dataset import read_stage


#: Two sample experiments (user 1 → train, user 3 → test) keep the test build short.
SMALL = {"reader_options": {"experiments": [1, 5]}}


@pytest.fixture(scope="module")
def demo(prefect_server, tmp_path_factory) -> tuple[Path, dict]:
    """A small demo dataset, built once for this module."""
    out = tmp_path_factory.mktemp("out")
    summary = build_dataset(make_config("uci_har", **SMALL), out=str(out))
    return out / "uci_har", summary


def test_both_stages_and_splits_are_written(demo):
    root, summary = demo
    for stage in (1, 2):
        for split in ("train", "test"):
            files = list((root / f"stage{stage}" / split).glob("*.parquet"))
            assert files, f"stage{stage}/{split} is empty"
            assert summary["counts"][f"stage{stage}/{split}"] == sum(
                pq.ParquetFile(f).metadata.num_rows for f in files)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["counts"] == summary["counts"]
    assert set(manifest["files"]) == {str(p.relative_to(root)) for p in root.rglob("*.parquet")}
    assert not list(root.parent.glob(".uci_har*")), "staging left behind"


def test_test_users_never_in_train(demo):
    root, _ = demo
    for stage in (1, 2):
        train = set(read_stage(root, stage, "train", ["subject"])["subject"].to_pylist())
        test = set(read_stage(root, stage, "test", ["subject"])["subject"].to_pylist())
        assert test == {"3"} and train == {"1"}


def test_rows_in_equal_accepted_plus_rejected(demo):
    _, summary = demo
    c = summary["counts"]
    assert c["rows_in"] == c["rejected"] + sum(v for k, v in c.items() if k.startswith("stage"))
    assert summary["validation"]["pass_rate"] >= 0.99


def test_same_seed_gives_identical_rows(demo, tmp_path):
    root, _ = demo
    build_dataset(make_config("uci_har", stage="1", **SMALL), out=str(tmp_path))
    again = read_stage(tmp_path / "uci_har", 1)
    first = read_stage(root, 1)
    assert again.equals(first)


def test_load_dataset_reads_both_configs(demo, tmp_path):
    datasets = pytest.importorskip("datasets")
    root, summary = demo
    for stage in (1, 2):
        # A fresh cache: HF keys its cache by path, and pytest reuses temporary paths.
        ds = datasets.load_dataset(str(root), f"stage{stage}", cache_dir=str(tmp_path / "hf"))
        assert set(ds) == {"train", "test"}
        assert ds["train"].num_rows == summary["counts"][f"stage{stage}/train"]
        row = ds["test"][0]
        assert row["question"] and row["answer"] and row["series"]
