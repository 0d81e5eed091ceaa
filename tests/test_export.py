"""Exports: SensorLLM's layout read the way its loaders read it, JSONL, fsspec targets, HF."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import fsspec
import numpy as np
import pytest

from flows.build import run_build
from flows.config import make_config
from generators.dataset import read_stage
from generators.errors import InputError
from generators.export import export
from generators.exporters import EXPORTERS, ExportOptions
from generators.exporters.sensorllm import (channel_key, load_stage1_series,
                                            split_activity_question)
from generators.registry import UnknownNameError
from tests.conftest import REPO
from tests.test_cli_catalogue import tiny_disk  # noqa: F401 (a fixture)

#: Both stages of two sample recordings, two classes (built once per module).
SMALL = dataclasses.replace(
    make_config("uci_har", stage="all", reader_options={"experiments": [1, 5]},
                trend_method="sensorllm"),
    classes=(4, 5), min_pass_rate=0.0)


def small_dataset(tmp_path_factory) -> Path:
    """``SMALL`` built under the session's base temp dir; a second caller finds it up to date."""
    out = tmp_path_factory.getbasetemp() / "small-all"
    return Path(run_build(SMALL, out=str(out))["path"])


def shard_paths(fs, folder: str) -> list[str]:
    """A split folder's shards in order, checked to be named ``<split>-i-of-n.<ext>``."""
    paths = sorted(fs.ls(folder, detail=False))
    split, n = folder.rstrip("/").rsplit("/", 1)[1], len(paths)
    ext = paths[0].rsplit(".", 1)[1] if paths else ""
    assert [p.rsplit("/", 1)[1] for p in paths] == [
        f"{split}-{i:05d}-of-{n:05d}.{ext}" for i in range(n)]
    return paths


def read_jsonl(fs, folder: str) -> list[dict]:
    """Every line of a split folder's JSONL shards, in order."""
    return [json.loads(line) for path in shard_paths(fs, folder)
            for line in fs.cat(path).decode().splitlines()]


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
    summary = export(built, "jsonl", "memory://j", ExportOptions(shard_bytes=2**20))
    for stage in (1, 2):
        for split in ("train", "test"):
            lines = read_jsonl(mem, f"/j/stage{stage}/{split}")
            table = read_stage(built, stage, split)
            assert len(lines) == table.num_rows == summary[f"stage{stage}/{split}"]
            for got, row in zip(lines, table.to_pylist(), strict=True):
                assert (got["row_id"], got["question"], got["answer"]) == \
                    (row["row_id"], row["question"], row["answer"])
                assert got["facts"] == json.loads(row["facts"])
                np.testing.assert_array_equal(np.asarray(got["series"], np.float32),
                                              np.asarray(row["series"], np.float32))
    assert len(shard_paths(mem, "/j/stage1/train")) > 2


def test_local_path_export_and_no_temporaries(built, tmp_path):
    export(built, "jsonl", str(tmp_path / "j"))
    assert sorted(str(p.relative_to(tmp_path / "j")) for p in (tmp_path / "j").rglob("*")
                  if p.is_file()) == ["export-manifest.json"] + [
        f"stage{k}/{s}/{s}-00000-of-00001.jsonl" for k in (1, 2) for s in ("test", "train")]
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
    assert mem.exists("/cli/stage2/test/test-00000-of-00001.jsonl")
    bad = CliRunner().invoke(app, ["export", str(built), "--format", "csv", "--out", "memory://x"])
    assert bad.exit_code == 2 and "known: chatts, jsonl, messages, opentslm, sensorllm" in bad.output


def test_a_full_disk_is_one_line_and_leaves_the_disk_empty(built, tiny_disk):
    from typer.testing import CliRunner

    from flows.cli import app

    out = tiny_disk / "out"
    result = CliRunner().invoke(app, ["export", str(built), "--format", "chatts",
                                      "--out", str(out)])
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: {tiny_disk}/") and line.endswith("No space left on device")
    assert list(tiny_disk.iterdir()) == []  # no export, no staging folder


def _export_process(built: Path, out: Path) -> subprocess.Popen:
    """``harqa export`` of ``built`` to ``out`` as a process, once it has staged a file."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "export", str(built),
                             "--format", "opentslm", "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    staging = out.with_name(f".{out.name}.harqa-export")
    deadline = time.monotonic() + 300
    while not (staging.exists() and any(p.is_file() for p in staging.rglob("*"))):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.01)
    return proc


@pytest.mark.e2e
def test_an_export_killed_mid_way_leaves_nothing(built, tmp_path):
    out = tmp_path / "out"
    proc = _export_process(built, out)
    proc.terminate()  # SIGTERM, as `kill PID`
    assert proc.wait(timeout=120) == 143
    assert list(tmp_path.iterdir()) == []
    proc = _export_process(built, out)
    proc.kill()  # SIGKILL: nothing runs; out stays absent, the staging folder is left…
    proc.wait(timeout=120)
    assert [p.name for p in tmp_path.iterdir()] == [".out.harqa-export"]
    export(built, "opentslm", str(out), ExportOptions(split="test"))
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # …and the next export removes it
