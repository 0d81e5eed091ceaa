"""Recordings without activity labels: stage 1 from the whole recording, null activities,
labelled datasets' schema (and bytes) unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from generators import windows
from generators.schema import QA_SCHEMA, UNLABELLED_QA_SCHEMA, is_labelled, unlabelled
from generators.types import UNLABELLED, Channel, Recording
from tests.test_clock import PHONE_SPEC, _phone_folder, _preset
from validation.dataset_checks import Aggregates, class_balance, label_set


def _recording(label_names: dict, labels: np.ndarray) -> Recording:
    return Recording("d", "r", "1", 10.0, (Channel("wrist_acc_x", "wrist", "acc", "x", "g"),),
                     np.arange(len(labels), dtype=np.float32)[:, None], labels, label_names)


def test_stage1_windows_tile_a_recording_without_labels_whole_and_seeded():
    rec = _recording({}, np.full(103, UNLABELLED, np.int32))
    cut = windows.stage1_windows(rec, "train", 7, (10, 30), repeats=1)
    assert [w.start for w in cut][0] == 0 and cut[-1].end == 103
    assert all(a.end == b.start for a, b in zip(cut, cut[1:]))  # tiled, no sample left out
    assert all(10 <= w.length <= 30 and w.activity is None and w.activity_id is None
               for w in cut)
    assert cut == windows.stage1_windows(rec, "train", 7, (10, 30), repeats=1)
    assert cut != windows.stage1_windows(rec, "train", 8, (10, 30), repeats=1)
    assert windows.stage2_windows(rec, "train", 20, 10) == []


def test_a_labelled_recordings_unlabelled_samples_still_make_no_window():
    labels = np.r_[np.full(40, UNLABELLED), np.full(60, 1)].astype(np.int32)
    cut = windows.stage1_windows(_recording({1: "walk"}, labels), "train", 7, (10, 30), 1)
    assert cut[0].start == 40 and {w.activity for w in cut} == {"walk"}


def test_only_the_label_columns_of_the_unlabelled_schema_are_nullable():
    changed = [f.name for f, g in zip(QA_SCHEMA, UNLABELLED_QA_SCHEMA) if f != g]
    assert changed == ["activity", "activity_id"]
    assert is_labelled(QA_SCHEMA) and not is_labelled(UNLABELLED_QA_SCHEMA)
    assert unlabelled(QA_SCHEMA) == UNLABELLED_QA_SCHEMA


def test_label_checks_accept_no_labels_and_refuse_half_labels():
    agg = Aggregates()
    agg.labels.update([(None, None)] * 3)
    agg.balance.update([(1, "train", None)] * 3)
    assert label_set(agg, None)["passed"]
    assert class_balance(agg)["detail"] == {"stage1/train": {"(no label)": 3}}
    agg.labels.update([(2, None)])
    result = label_set(agg, None)
    assert not result["passed"] and result["detail"]["half_labelled"] == ["(2, None)"]


def test_an_unlabelled_phone_folder_builds_stage1_and_validates(tmp_path, prefect_server):
    """Phone CSVs with irregular clocks and a spec without ``label``: stage 1 from the
    whole of each recording, every row accepted with a null activity; ``harqa validate``
    passes; ``--stage 2`` alone is one line, exit 2, no dataset or part written."""
    from typer.testing import CliRunner

    from flows.cli import app
    from generators.dataset import read_stage

    data = tmp_path / "data"
    _phone_folder(data)
    preset = _preset(tmp_path / "my.yaml", PHONE_SPEC, rate=100)
    preset.write_text(preset.read_text().replace("[4, 20]", "[100, 400]").replace(
        "test_subjects: [none]", "test_subjects: [u2]"))
    out = tmp_path / "out"
    runner = CliRunner()
    run = runner.invoke(app, ["build", "--preset", str(preset), "--input", str(data),
                              "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "pass rate 1.0000" in run.output
    assert "stage 2 skipped: the recordings have no activity labels" in run.output
    root = out / "my"  # named after the preset file
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["labelled"] is False and manifest["activities"] == []
    assert manifest["counts"]["rejected"] == 0 and not list(root.glob("stage2/*/*.parquet"))
    rows = read_stage(root, 1, columns=["recording_id", "window_start", "window_end",
                                        "activity", "activity_id"])
    assert rows.num_rows > 0 and rows["activity"].null_count == rows.num_rows
    assert rows["activity_id"].null_count == rows.num_rows
    part = next(root.glob("stage1/train/*.parquet"))
    assert pq.read_schema(part).field("activity").nullable
    for rid in ("phone_u1-part1", "phone_u2-part2"):  # tiled from the first sample on
        starts = [s for r, s in zip(rows["recording_id"].to_pylist(),
                                    rows["window_start"].to_pylist()) if r == rid]
        assert min(starts) == 0
    run = runner.invoke(app, ["validate", str(root)])
    assert run.exit_code == 0 and "PASSED" in run.output, run.output
    only2 = tmp_path / "out2"
    run = runner.invoke(app, ["build", "--preset", str(preset), "--input", str(data),
                              "--out", str(only2), "--stage", "2"])
    assert run.exit_code == 2, run.output
    assert len(run.output.strip().splitlines()) == 1
    assert "no activity labels" in run.output and "--stage 1" in run.output
    assert not (only2 / "my").exists() and not list(only2.rglob("*.parquet"))
