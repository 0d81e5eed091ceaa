"""Every reader on files in its documented layout: exact round trips and real-data invariants."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from generators import dataset, pipeline, qa, text
from generators.config import BuildConfig
from generators.errors import InputError
from generators.readers import READERS, mhealth, read
from generators.readers.capture24 import label_dictionary, scheme_labels
from generators.types import Channel, Recording
from validation import semantic
from tests import fixtures_formats as ff
from tests.conftest import SAMPLE

# Reader name → writer of fixture files returning what the reader must yield. uci_har
# uses the embedded HAPT sample (its exact checks live in test_uci_har.py).
WRITERS = {
    "mhealth": ff.write_mhealth,
    "pamap2": ff.write_pamap2_set,
    "usc_had": ff.write_usc_had,
    "capture24": ff.write_capture24_set,
    "uci_har_windows": ff.write_uci_har_windows,
    "uea": ff.write_uea,
    "tabular": ff.write_tabular,
    "wisdm": ff.write_wisdm,
    "hhar": ff.write_hhar,
}


def test_every_registered_reader_has_a_fixture():
    assert set(READERS.names()) == set(WRITERS) | {"uci_har"}


def _check_invariants(rec: Recording) -> None:
    assert rec.values.dtype == np.float32 and rec.labels.dtype == np.int32
    assert np.isfinite(rec.values).all()
    assert set(np.unique(rec.labels)) <= set(rec.label_names) | {-1}
    assert len({c.name for c in rec.channels}) == len(rec.channels)
    for ch in rec.channels:
        assert ch.name == "_".join(p for p in (ch.location, ch.modality, ch.axis) if p)
        assert ch.unit


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_round_trip_is_exact(name, tmp_path):
    expected = WRITERS[name](tmp_path, np.random.default_rng(7))
    options = expected[0].options
    recs = list(read(name, tmp_path, **options))
    assert [r.recording_id for r in recs] == [e.recording_id for e in expected]
    for rec, exp in zip(recs, expected):
        _check_invariants(rec)
        assert rec.subject == exp.subject
        assert rec.sample_rate_hz == pytest.approx(exp.sample_rate_hz)
        assert [c.name for c in rec.channels] == exp.channels
        assert [c.unit for c in rec.channels] == exp.units
        np.testing.assert_array_equal(rec.values, exp.values)
        np.testing.assert_array_equal(rec.labels, exp.labels)
        assert rec.source and all(Path(s).is_file() for s in rec.source)


@pytest.mark.parametrize("name", sorted(WRITERS) + ["uci_har"])
def test_a_missing_source_is_named_as_missing(name, tmp_path):
    options = WRITERS[name](tmp_path, np.random.default_rng(7))[0].options \
        if name in WRITERS else {}  # the reader's options (the tabular spec) are valid
    missing = tmp_path / "no_such_dir"
    with pytest.raises(InputError, match="no such file or directory; expected ") as caught:
        list(read(name, missing, **options))
    assert caught.value.path == str(missing)


@pytest.mark.parametrize("name", ["uci_har"])
def test_sample_backed_readers_meet_the_invariants(name):
    recs = list(read(name, SAMPLE))
    assert recs
    for rec in recs:
        _check_invariants(rec)


def test_pamap2_interpolates_short_gaps_and_splits_at_long_ones(tmp_path):
    labels = np.full(200, 4, dtype=np.int32)
    table = ff.pamap2_table(np.random.default_rng(1), labels)
    columns, names, _ = ff.pamap2_columns()
    hand_x, chest_y = columns[0], columns[10]
    table[20:23, hand_x] = np.nan       # 3 samples: interpolated
    table[100:130, chest_y] = np.nan    # 30 samples > 10: cut out, split
    table[:2, columns[5]] = np.nan      # at the start: cut
    clean = table.copy()
    ff.write_pamap2(tmp_path, table)
    reports = []
    recs = list(read("pamap2", tmp_path, on_gap=reports.append))
    assert [r.recording_id for r in recs] == ["protocol_subject101-part1",
                                              "protocol_subject101-part2"]
    assert [r.n_samples for r in recs] == [98, 70]
    expected_fill = table[19, hand_x] + (table[23, hand_x] - table[19, hand_x]) * np.arange(1, 4) / 4
    np.testing.assert_allclose(recs[0].values[18:21, 0], expected_fill.astype(np.float32))
    np.testing.assert_array_equal(recs[1].values[:, 10], clean[130:, chest_y].astype(np.float32))
    (report,) = reports
    assert (report.interpolated_gaps, report.interpolated_samples) == (1, 3)
    assert (report.long_gaps, report.dropped_samples, report.parts) == (2, 32, 2)


def test_pamap2_splits_at_time_jumps_and_reads_heart_rate(tmp_path):
    labels = np.full(60, 1, dtype=np.int32)
    table = ff.pamap2_table(np.random.default_rng(2), labels)
    table[30:, 0] += 5.0  # 5 s of missing rows
    ff.write_pamap2(tmp_path, table)
    recs = list(read("pamap2", tmp_path, heart_rate=True))
    assert [r.n_samples for r in recs] == [30, 30]
    assert recs[0].channels[-1].name == "chest_hr" and recs[0].channels[-1].unit == "bpm"
    # Readings every 10th row (100, 101, …) interpolated linearly in between.
    np.testing.assert_allclose(recs[0].values[:21, -1], 100 + np.arange(21) / 10, rtol=1e-6)


def test_capture24_scheme_is_selectable(tmp_path):
    ff.write_capture24(tmp_path / "P003.csv.gz", np.zeros((3, 3)), [ff.SLEEP, "", ff.OFFICE])
    (rec,) = read("capture24", tmp_path, scheme="label:Walmsley2020")
    assert rec.label_names == {1: "light", 2: "moderate-vigorous", 3: "sedentary", 4: "sleep"}
    assert rec.labels.tolist() == [4, -1, 3]


def test_capture24_streams_across_chunks(tmp_path):
    expected = ff.write_capture24_set(tmp_path, np.random.default_rng(3))
    recs = list(read("capture24", tmp_path, chunk_rows=7))
    for rec, exp in zip(recs, expected):
        np.testing.assert_array_equal(rec.values, exp.values)
        np.testing.assert_array_equal(rec.labels, exp.labels)


def test_embedded_label_dictionary_is_the_real_one(shared_data):
    real = (shared_data / "capture24" / "annotation-label-dictionary.csv").read_text("utf-8")
    embedded = Path(__import__("generators.readers", fromlist=["x"]).__file__).parent \
        / "data" / "capture24_labels.csv"
    assert embedded.read_text("utf-8") == real
    schemes = label_dictionary()
    assert {k: len(set(v.values())) for k, v in schemes.items()}["WillettsSpecific2018"] == 10
    lookup, names = scheme_labels()
    assert len(lookup) == real.count("\n") - 1
    assert names[lookup[ff.SLEEP]] == "sleep"


def test_basicmotions_real_files(shared_data):
    recs = list(read("uea", shared_data / "basicmotions-uea"))
    assert len(recs) == 80
    assert {r.subject for r in recs} == {"BasicMotions_TRAIN", "BasicMotions_TEST"}
    for rec in recs:
        _check_invariants(rec)
        assert rec.n_samples == 100 and rec.sample_rate_hz == 10.0
        assert len(set(rec.labels.tolist())) == 1
    assert [c.name for c in recs[0].channels] == [
        f"wrist_{m}_{a}" for m in ("acc", "gyro") for a in "xyz"]
    counts = np.bincount([r.labels[0] for r in recs])
    assert counts.tolist() == [0, 20, 20, 20, 20]
    # First value of the first TEST case, as written in BasicMotions_TEST.ts.
    first = (shared_data / "basicmotions-uea" / "BasicMotions_TEST.ts").read_text().split(
        "@data")[1].split()[0].split(",")[0]
    test0 = next(r for r in recs if r.recording_id == "BasicMotions_TEST-0001")
    assert test0.values[0, 0] == np.float32(float(first))


def test_tabular_parquet_with_rate_and_subject_from_file_name(tmp_path):
    import pandas as pd
    frame = pd.DataFrame({"ax": [0.5, 0.25, -1.0], "lab": [3, None, 0]})
    frame.to_parquet(tmp_path / "user07.parquet")
    spec = {"files": "*.parquet", "sample_rate_hz": 10,
            "channels": [{"column": "ax", "name": "hip_acc_x", "unit": "g"}],
            "label": {"column": "lab", "names": {0: "other", 3: "walking"}},
            "subject": {"pattern": r"user(\d+)"}}
    (rec,) = read("tabular", tmp_path, spec=spec)
    assert (rec.recording_id, rec.subject, rec.sample_rate_hz) == ("user07", "07", 10.0)
    assert rec.values[:, 0].tolist() == [0.5, 0.25, -1.0] and rec.labels.tolist() == [3, -1, 0]


def test_tabular_spec_from_yaml_file(tmp_path):
    import yaml
    ff.write_tabular(tmp_path, np.random.default_rng(4))
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(ff.TABULAR_SPEC, allow_unicode=True), encoding="utf-8")
    recs = list(read("tabular", tmp_path, spec=spec_file))
    assert [r.recording_id for r in recs] == ["day1-u1", "day1-u2"]


def _layout_rows(rec: Recording, channels: tuple[Channel, ...] | None = None,
                 seconds: float = 12.0) -> tuple[pa.Table, pa.Table]:
    """Rows of every QA type for a reader's channel layout (names, units, placements) on
    a movement-like signal: per channel a sine with noise, accelerometer x carrying 1 g,
    the first half of the time one activity and then another. Returns (accepted,
    rejected) after the semantic checks."""
    channels = channels or rec.channels
    rate = rec.sample_rate_hz
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(3).standard_normal((t.size, len(channels)))
    cols = []
    for k, ch in enumerate(channels):
        g = 9.80665 if ch.unit.startswith("m/s") else 1.0
        base = (g if ch.axis == "x" else 0.1 * g) if ch.modality == "acc" else 0.0
        wave = (0.2 + 0.1 * (k % 3)) * np.sin(2 * np.pi * (0.7 + 0.3 * (k % 4)) * t + k)
        cols.append(base + wave + 0.02 * noise[:, k])
    two = sorted(rec.label_names)[:2]
    rec = Recording(rec.dataset, rec.recording_id, rec.subject, rate, channels,
                    np.stack(cols, axis=1).astype(np.float32),
                    np.repeat(two, [t.size // 2, t.size - t.size // 2]).astype(np.int32),
                    rec.label_names, vertical_axes=rec.vertical_axes)
    cfg = BuildConfig(dataset=rec.dataset, reader="uci_har", classes=None, sample_rate_hz=rate,
                      stage2_window=int(2.56 * rate), stage2_stride=int(1.28 * rate))
    packs = text.load_packs()
    items = [it for ctx in pipeline.contexts(rec, cfg, pipeline.cut(rec, cfg))
             for it in qa.build_items(ctx, qa.builders_for_stage(ctx.window.stage), packs,
                                      cfg.trend_method, cfg.seed)]
    return semantic.check_table(dataset.items_to_table(items, rec, cfg.trend_params))


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(WRITERS) + ["uci_har"])
def test_every_reader_layout_reads_true_on_every_qa_type(name, tmp_path):
    """What the text says of each reader's channels (names, units, axes, placements) passes
    every check: e.g. a two-channel layout of different sensors has no correlation lines."""
    options = WRITERS[name](tmp_path, np.random.default_rng(7))[0].options if name in WRITERS \
        else {}
    rec = next(iter(read(name, tmp_path if name in WRITERS else SAMPLE, **options)))
    good, bad = _layout_rows(rec)
    assert bad.num_rows == 0, bad.select(["template_id", "reason"]).to_pylist()[:3]
    made = set(good["qa_type"].to_pylist())
    assert set(qa.builders_for_stage(1)) | {"activity", "transition"} <= made


def test_ecg_leads_and_magnetometers_read_true():
    """All 23 MHealth channels (the preset keeps 15): an ECG lead is named as a lead, never
    an axis, nor grouped with the other lead as axes of one sensor; the magnetometers'
    undocumented unit reads as arbitrary units (AU)."""
    rec = Recording("mhealth", "subject1", "1", mhealth.SAMPLE_RATE_HZ, mhealth.CHANNELS,
                    np.zeros((1, len(mhealth.CHANNELS)), np.float32), np.zeros(1, np.int32),
                    mhealth.LABEL_NAMES)
    good, bad = _layout_rows(rec, seconds=20.0)
    assert bad.num_rows == 0, bad.select(["template_id", "reason"]).to_pylist()[:3]
    assert set(good["qa_type"].to_pylist()) == set(qa.QA_TYPES.names())
    text_of = "\n".join(good["question"].to_pylist() + good["answer"].to_pylist())
    assert "chest ECG lead1" in text_of and "chest ECG lead2" in text_of
    assert "lead1-axis" not in text_of and not re.search(r"\d local\b", text_of)
    assert re.search(r"\d AU\b", text_of)
    comparisons = [json.loads(f) for f, q in zip(good["facts"].to_pylist(),
                                                  good["qa_type"].to_pylist())
                   if q == "channel_comparison"]
    assert comparisons and all("ECG" not in g["sensor"] for f in comparisons for g in f["groups"])
