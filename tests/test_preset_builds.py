"""Every preset builds rows from files in its dataset's original layout."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from flows.config import make_config
from generators import presets, readers, text
from generators.dataset import items_to_table
from generators.pipeline import cut, describe, recordings
from tests import fixtures_formats as ff
from tests.test_readers import WRITERS
from validation import semantic


@pytest.mark.parametrize("preset", [p for p in presets.names() if p != "uci_har"])
def test_preset_generates_valid_rows_from_its_layout(preset, tmp_path):
    loaded = presets.load(preset)
    expected = WRITERS[loaded.reader](tmp_path, np.random.default_rng(3))
    subject = expected[-1].subject
    # Small fixture files: shrink the windows so that some fit, keep everything else.
    cfg = make_config(preset, input=tmp_path, test_subjects=subject)
    cfg = type(cfg)(**{**cfg.__dict__, "stage1_window": (5, 20), "stage2_window": 16,
                       "stage2_stride": 8, "classes": None})
    packs = text.load_packs()
    rows = 0
    for rec in recordings(cfg):
        assert rec.sample_rate_hz == loaded.sample_rate_hz
        if loaded.channels is not None:
            assert [c.name for c in rec.channels] == list(loaded.channels)
        windows = cut(rec, cfg)
        assert {w.split for w in windows} <= {"test" if rec.subject == subject else "train"}
        table = items_to_table(describe(rec, cfg, packs).items, rec, cfg.trend_params)
        accepted, rejected = semantic.check_table(table)
        assert rejected.num_rows == 0, rejected.column("reason").to_pylist()[:3]
        rows += accepted.num_rows
    assert rows > 0


def test_cli_builds_an_unseen_csv_from_a_spec_alone(tmp_path, prefect_server):
    """A user's own CSV: a preset file naming the tabular reader and its spec is enough."""
    from typer.testing import CliRunner

    from flows.cli import app
    from generators.dataset import read_stage

    rng = np.random.default_rng(11)
    t = np.arange(1500) / 25.0
    for user in ("u1", "u2"):
        walk = np.sin(2 * np.pi * 1.8 * t[:750])
        rows = ["time_ms,ax,ay,az,act"]
        for i, ti in enumerate(t):
            act = "walk" if i < 750 else "rest"
            ax = walk[i] if i < 750 else 0.0
            rows.append(f"{ti * 1000:.0f},{ax + 0.01 * rng.standard_normal():.5f},"
                        f"{0.98 + 0.01 * rng.standard_normal():.5f},0.1,{act}")
        (tmp_path / f"study_{user}.csv").write_text("\n".join(rows) + "\n")
    preset = tmp_path / "my_study.yaml"
    preset.write_text(
        "description: my wrist study\nreader: tabular\nsample_rate_hz: 25\n"
        "reader_options:\n  spec:\n    files: 'study_*.csv'\n    dataset: my_study\n"
        "    timestamp: {column: time_ms, unit: ms}\n    channels:\n"
        "      - {column: ax, name: wrist_acc_x, unit: g}\n"
        "      - {column: ay, name: wrist_acc_y, unit: g}\n"
        "      - {column: az, name: wrist_acc_z, unit: g}\n"
        "    label: {column: act, names: [walk, rest]}\n"
        "    subject: {pattern: 'study_(u\\d)'}\n"
        "stage1_window: [10, 60]\nstage2_window: 100\nstage2_stride: 50\n"
        "test_subjects: [u2]\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["build", "--preset", str(preset), "--input", str(tmp_path),
                                      "--out", str(out), "--name", "my_study"])
    assert result.exit_code == 0, result.output
    root = out / "my_study"
    for stage in (1, 2):
        table = read_stage(root, stage, columns=["subject", "split", "activity", "channel_names"])
        assert set(zip(table["subject"].to_pylist(), table["split"].to_pylist())) == {
            ("u1", "train"), ("u2", "test")}
        assert set(table["activity"].to_pylist()) == {"walk", "rest"}


# Source rate and (train, test) subject of each preset's fixture; the test subject is one of
# the preset's own, so the build runs with the preset exactly as shipped.
SOURCES = {"capture24": (100.0, ("P001", "P101")), "mhealth": (50.0, ("2", "1")),
           "pamap2": (100.0, ("101", "105")), "uci_har": (50.0, ("1", "2")),
           "usc_had": (100.0, ("1", "13")), "wisdm": (20.0, ("1", "31")),
           "hhar": (50.0, ("a", "h"))}


def _class_names(loaded: presets.Preset, root) -> list[str]:
    """The names the preset's classes carry in its reader's label map."""
    names = next(iter(readers.read(loaded.reader, root, **loaded.reader_options))).label_names
    return sorted(names[c] for c in loaded.classes)


def _build(args: list[str]) -> dict:
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["build", *args, "--format", "json"])
    assert result.exit_code == 0, result.output[-3000:]
    return json.loads(result.stdout[result.stdout.index("{"):])


def _activities(root) -> dict[int, set[str]]:
    from generators.dataset import read_stage

    return {stage: set(read_stage(root, stage, columns=["activity"])["activity"].to_pylist())
            for stage in (1, 2)}


def test_every_preset_has_a_fixture():
    assert set(presets.names()) == set(SOURCES)


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(SOURCES))
def test_preset_builds_every_class_by_its_official_name(preset, tmp_path, prefect_server):
    """The shipped preset, files in its layout where each subject does every class."""
    loaded = presets.load(preset)
    rate, subjects = SOURCES[preset]
    run = math.ceil((loaded.stage2_window + loaded.stage2_stride) * rate / loaded.sample_rate_hz)
    source = tmp_path / "in"
    source.mkdir()
    ff.write_every_class(loaded.reader, loaded.classes, run, source, np.random.default_rng(5),
                         subjects)
    names = _class_names(loaded, source)
    if preset == "mhealth":
        assert "knees bending (crouching)" in names and "jump front & back" in names
    summary = _build(["--preset", preset, "--input", str(source), "--out", str(tmp_path / "out")])
    assert summary["counts"]["rejected"] == 0
    assert _activities(tmp_path / "out" / preset) == {1: set(names), 2: set(names)}


PUNCTUATED = ["knees bending (crouching)", "jump front & back", "up/down stairs",
              "child's play", 'the "slow" walk', "Gehen über die Brücke", "走る",
              "café (au lait) & croissant / 'petit' \"déjeuner\""]


def test_a_spec_with_punctuated_and_non_ascii_class_names_builds_and_validates(
        tmp_path, prefect_server):
    from typer.testing import CliRunner

    from flows.cli import app

    rng = np.random.default_rng(2)
    source = tmp_path / "in"
    source.mkdir()
    for user in ("u1", "u2"):
        labels = np.repeat(PUNCTUATED, 90)
        frame = pd.DataFrame({"act": labels, **{a: ff.dyadic(rng, (len(labels),), 64)
                                                 for a in ("ax", "ay", "az")}})
        frame.to_csv(source / f"study_{user}.csv", index=False, float_format=ff.FMT)
    spec = {"files": "study_*.csv", "dataset": "punctuated", "sample_rate_hz": 25,
            "channels": [{"column": a, "name": f"wrist_acc_{a[1]}", "unit": "g"}
                         for a in ("ax", "ay", "az")],
            "label": {"column": "act", "names": PUNCTUATED},
            "subject": {"pattern": r"study_(u\d)"}}
    preset = tmp_path / "punctuated.yaml"
    preset.write_text(yaml.safe_dump(
        {"reader": "tabular", "sample_rate_hz": 25, "reader_options": {"spec": spec},
         "stage1_window": [10, 60], "stage2_window": 50, "stage2_stride": 25,
         "test_subjects": ["u2"]}, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    summary = _build(["--preset", str(preset), "--input", str(source), "--out", str(out)])
    assert summary["counts"]["rejected"] == 0
    assert _activities(out / "punctuated") == {1: set(PUNCTUATED), 2: set(PUNCTUATED)}
    result = CliRunner().invoke(app, ["validate", str(out / "punctuated")])
    assert result.exit_code == 0, result.output[-3000:]
