"""Exports: SensorLLM's layout read the way its loaders read it, JSONL, fsspec targets, HF."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import fsspec
import numpy as np
import pytest

from flows.build import run_build
from flows.config import make_config
from generators.dataset import read_stage
from generators.errors import InputError
from generators.export import export
from generators.exporters import EXPORTERS
from generators.exporters.sensorllm import (channel_key, load_stage1_series,
                                            split_activity_question)
from generators.registry import UnknownNameError

#: Both stages of two sample recordings, two classes (built once per module).
SMALL = dataclasses.replace(
    make_config("uci_har", stage="all", reader_options={"experiments": [1, 5]},
                trend_method="sensorllm"),
    classes=(4, 5), min_pass_rate=0.0)


def small_dataset(tmp_path_factory) -> Path:
    """``SMALL`` built under the session's base temp dir; a second caller finds it up to date."""
    out = tmp_path_factory.getbasetemp() / "small-all"
    return Path(run_build(SMALL, out=str(out))["path"])


@pytest.fixture(scope="module")
def built(prefect_server, tmp_path_factory) -> Path:
    return small_dataset(tmp_path_factory)


@pytest.fixture
def mem():
    fs = fsspec.filesystem("memory")
    yield fs
    fs.rm("/", recursive=True) if fs.ls("/") else None


def _json(fs, path: str) -> dict:
    return json.loads(fs.cat(path))


def _npy(fs, path: str) -> np.ndarray:
    return np.load(io.BytesIO(fs.cat(path)), allow_pickle=False)


def test_sensorllm_stage2_matches_its_loader(built, mem):
    summary = export(built, "sensorllm", "memory://s")
    labels = _json(mem, "/s/stage2/label2id.json")
    assert _json(mem, "/s/stage2/id2label.json") == {str(i): a for a, i in labels.items()}
    for split in ("train", "test"):
        qa = _json(mem, f"/s/stage2/{split}_qa.json")["dataset"]
        data = _npy(mem, f"/s/stage2/{split}_data.npy")
        table = read_stage(built, 2, split)
        activity = [r for r in table.to_pylist() if r["qa_type"] == "activity"]
        # MultiChannelTimeSeriesCLSDatasetStage2._flatten_data: one array row per entry,
        # data[index] is samples × channels, label2id[A] must exist.
        assert len(data) == len(qa) == len(activity) == summary[f"stage2/{split}"]["windows"]
        assert data.dtype == np.float32 and data.shape[1:] == (SMALL.stage2_window, 6)
        by_id = {r["row_id"]: r for r in activity}
        for e in qa:
            pair, row = e["qa_pair"], by_id[e["row_id"]]
            assert set(pair) >= {"Q", "smry", "trend_text", "corr_text", "A"}
            assert pair["label"] == labels[pair["A"]] and pair["A"] == row["answer"]
            np.testing.assert_array_equal(data[e["index"]][:, 2], row["series"][2])
            # Nothing of the question is lost or duplicated by the cut.
            assert sorted(row["question"].split("\n")) == sorted(
                "\n".join([pair["Q"], pair["smry"], pair["trend_text"],
                           pair["corr_text"]]).split("\n"))
        np.testing.assert_array_equal(_npy(mem, f"/s/stage2/{split}_labels.npy"),
                                      [e["qa_pair"]["label"] for e in qa])


def test_sensorllm_stage1_matches_its_loader(built, mem):
    summary = export(built, "sensorllm", "memory://s")
    for split in ("train", "test"):
        qa = _json(mem, f"/s/stage1/{split}_qa.json")["dataset"]
        with np.load(io.BytesIO(mem.cat(f"/s/stage1/{split}_data.npz")),
                     allow_pickle=False) as z:
            series = load_stage1_series(z)
        assert qa and len(series) == len(qa) == summary[f"stage1/{split}"]["windows"]
        keys = ["x-axis accelerometer", "y-axis accelerometer", "z-axis accelerometer",
                "x-axis gyroscope", "y-axis gyroscope", "z-axis gyroscope"]
        for e in qa:
            # UniChannelTimeSeriesDataset zips the six channels' lists and asserts equal
            # types at each position; every channel has its summary.
            assert set(e["summaries"]) == set(e["qa_pairs"]) == set(keys)
            lists = [e["qa_pairs"][k] for k in keys]
            assert len({len(v) for v in lists}) == 1
            for pos in zip(*lists):
                assert len({p["type"] for p in pos}) == 1
            assert series[e["index"]].shape[1] == 6
        rows = read_stage(built, 1, split).num_rows
        s = summary[f"stage1/{split}"]
        kept = sum(len(v) + 1 for e in qa for v in e["qa_pairs"].values())
        assert kept + s["unaligned"] + s["skipped_without_summary"] == rows


def test_stage1_series_are_the_rows_series(built, mem):
    export(built, "sensorllm", "memory://s")
    qa = _json(mem, "/s/stage1/test_qa.json")["dataset"]
    with np.load(io.BytesIO(mem.cat("/s/stage1/test_data.npz")), allow_pickle=False) as z:
        series = load_stage1_series(z)
    rows = {r["window_id"]: r for r in read_stage(built, 1, "test").to_pylist()
            if r["channel_names"][0] == "waist_acc_y"}
    for e in qa[:20]:
        np.testing.assert_array_equal(series[e["index"]][:, 1], rows[e["window_id"]]["series"][0])


def test_jsonl_has_one_line_per_row_with_its_series(built, mem):
    summary = export(built, "jsonl", "memory://j")
    for stage in (1, 2):
        for split in ("train", "test"):
            lines = mem.cat(f"/j/stage{stage}/{split}.jsonl").decode().splitlines()
            table = read_stage(built, stage, split)
            assert len(lines) == table.num_rows == summary[f"stage{stage}/{split}"]
            first, row = json.loads(lines[0]), table.slice(0, 1).to_pylist()[0]
            assert first["question"] == row["question"] and first["answer"] == row["answer"]
            assert first["facts"] == json.loads(row["facts"])
            np.testing.assert_allclose(first["series"], row["series"])


def test_local_path_export_and_no_temporaries(built, tmp_path):
    export(built, "jsonl", str(tmp_path / "j"))
    assert sorted(p.name for p in (tmp_path / "j").rglob("*") if p.is_file()) == [
        "export-manifest.json", "test.jsonl", "test.jsonl", "train.jsonl", "train.jsonl"]
    assert not list(tmp_path.glob(".*"))  # the staging directory is gone


@pytest.mark.parametrize("fmt", sorted(EXPORTERS.names()))
@pytest.mark.parametrize("existing", [False, True])
def test_a_corrupt_part_leaves_no_export_behind(built, tmp_path, fmt, existing):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    part = sorted((copy / "stage2" / "test").glob("*.parquet"))[-1]  # read after stage 1's
    part.write_bytes(part.read_bytes()[:1000])  # truncated
    out = tmp_path / "out"
    if existing:  # the user's own directory keeps what it held, and only that
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a readable Parquet part") as caught:
        export(copy, fmt, str(out), overwrite=existing)
    assert caught.value.path == str(part)
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) \
        if out.exists() else None
    assert left == (["notes.txt"] if existing else None)


def test_unknown_format_lists_the_known_ones(built):
    with pytest.raises(UnknownNameError, match="chatts, jsonl, messages, opentslm, sensorllm"):
        export(built, "csv", "memory://x")
    assert EXPORTERS.names() == ["chatts", "jsonl", "messages", "opentslm", "sensorllm"]


def test_channel_keys_follow_sensorllm():
    assert channel_key("waist_acc_x", "waist", "acc", "x", False) == "x-axis accelerometer"
    assert channel_key("chest_gyro_z", "left_ankle", "gyro", "z", True) == \
        "left-ankle z-axis gyroscope"
    assert channel_key("chest_ecg", "chest", "ecg", "", True) == "chest_ecg"


def test_split_refuses_a_question_of_another_shape():
    with pytest.raises(ValueError, match="expected the window line"):
        split_activity_question("one line\nQ?", {"n_channels": 6, "correlations": []})


def test_huggingface_loads_both_configs(built, tmp_path):
    datasets = pytest.importorskip("datasets")
    for stage in (1, 2):
        # A fresh cache: HF's shared cache can serve an older build of the same layout.
        ds = datasets.load_dataset(str(built), f"stage{stage}", cache_dir=str(tmp_path))
        assert set(ds) == {"train", "test"}
        assert ds["test"].num_rows == read_stage(built, stage, "test").num_rows


def test_cli_export_writes_to_an_fsspec_url(built, mem):
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["export", str(built), "--format", "jsonl",
                                      "--out", "memory://cli"])
    assert result.exit_code == 0, result.output
    assert mem.exists("/cli/stage2/test.jsonl")
    bad = CliRunner().invoke(app, ["export", str(built), "--format", "csv", "--out", "memory://x"])
    assert bad.exit_code == 2 and "known: chatts, jsonl, messages, opentslm, sensorllm" in bad.output
