"""Presets: the paper's settings load, validate and take overrides; resampling is anti-aliased."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from generators import presets
from generators.config import BuildConfig
from generators.errors import InputError
from generators.inspect import inspect_source
from generators.readers import READERS
from generators.resample import resample, resample_labels
from generators.types import Channel, Recording
from tests import fixtures_formats as ff

# FORMATS.md, "SensorLLM settings per dataset".
PAPER = {
    "usc_had": (100, 6, 12, (5, 200), 200, 100, ("13", "14")),
    "uci_har": (50, 6, 6, (5, 200), 128, 64, ("2", "4", "9", "10", "12", "13", "18", "20", "24")),
    "pamap2": (50, 27, 12, (5, 100), 100, 50, ("105", "106")),
    "mhealth": (50, 15, 12, (5, 100), 100, 50, ("1", "3", "6")),
    "capture24": (50, 3, 10, (10, 500), 500, 250, tuple(f"P{i}" for i in range(101, 152))),
}
READER_CHANNELS = {"usc_had": 6, "uci_har": 6, "capture24": 3}


def test_there_is_one_preset_per_paper_dataset():
    assert set(PAPER) <= set(presets.names())


@pytest.mark.parametrize("name", sorted(PAPER))
def test_preset_reproduces_the_paper(name):
    p = presets.load(name)
    rate, n_channels, n_classes, s1, s2, stride, test = PAPER[name]
    assert p.reader in READERS
    assert p.sample_rate_hz == rate
    assert (len(p.channels) if p.channels else READER_CHANNELS[name]) == n_channels
    assert len(p.classes) == n_classes
    assert (p.stage1_window, p.stage2_window, p.stage2_stride) == (s1, s2, stride)
    assert (p.stage1_repeats_train, p.stage1_repeats_test) == (2, 1)
    assert p.test_subjects == test
    assert BuildConfig(dataset=p.name, **p.settings()).reader == p.reader


@pytest.mark.parametrize("name", ["mhealth", "pamap2"])
def test_preset_channels_exist_in_the_reader_output(name, tmp_path):
    writer = {"mhealth": ff.write_mhealth, "pamap2": ff.write_pamap2_set}[name]
    writer(tmp_path, np.random.default_rng(0))
    p = presets.load(name)
    info = inspect_source(name, tmp_path)
    assert set(p.channels) <= {c["name"] for c in info["channels"]}
    assert set(p.classes) <= set(__import__(f"generators.readers.{name}",
                                            fromlist=["x"]).LABEL_NAMES)


def test_overrides_replace_settings_and_merge_reader_options():
    p = presets.load("pamap2", {"test_subjects": [101], "reader_options": {"max_gap_s": 0.2},
                                "stage2_window": 64})
    assert p.test_subjects == ("101",) and p.stage2_window == 64
    assert dict(p.reader_options) == {"folders": ["Protocol"], "max_gap_s": 0.2,
                                      "on_long_gap": "split"}


@pytest.mark.parametrize("override, field, words", [
    ({"stage1_window": [50, 10]}, "stage1_window", "1 <= min <= max"),
    ({"stage2_stride": 0}, "stage2_stride", "positive integer"),
    ({"sample_rate": 50}, "sample_rate", "unknown setting"),
    ({"classes": ["walking"]}, "classes", "integer label ids"),
])
def test_bad_overrides_name_the_setting(override, field, words):
    with pytest.raises(InputError) as info:
        presets.load("mhealth", override)
    assert info.value.field == field and words in str(info.value)


@pytest.mark.parametrize("name", ["../elsewhere", "a/b", "a\\b", ".hidden", "-flag", "my study"])
def test_a_dataset_name_is_one_plain_directory_name(name):
    with pytest.raises(ValueError, match="dataset name"):
        BuildConfig(dataset=name)
    assert BuildConfig(dataset="study_2.v1-b").dataset == "study_2.v1-b"


def test_inspect_reports_recordings_labels_and_gaps(tmp_path):
    table = ff.pamap2_table(np.random.default_rng(5), np.repeat([0, 4], [20, 80]).astype(np.int32))
    columns, _, _ = ff.pamap2_columns()
    table[40:43, columns[0]] = np.nan
    ff.write_pamap2(tmp_path, table)
    info = inspect_source("pamap2", tmp_path)
    assert info["reader"] == "pamap2" and info["target_rate_hz"] == 50.0
    assert info["subjects"] == ["101"] and info["sample_rates_hz"] == [100.0]
    assert info["samples_per_label"] == {"unlabelled": 20, "walking": 80}
    assert info["duration_s"] == 1.0
    assert info["gaps"][0]["interpolated_samples"] == 3 and info["nan_cells"] == 0
    assert {"name": "hand_acc_x", "location": "hand", "modality": "acc", "axis": "x",
            "unit": "m/s²"} in info["channels"]


def test_inspect_rejects_unknown_names_listing_both_kinds():
    with pytest.raises(KeyError, match="presets: capture24.*readers: .*uea"):
        inspect_source("nope", ".")


def _recording(values: np.ndarray, labels: np.ndarray, rate: float) -> Recording:
    return Recording("t", "r", "1", rate, (Channel("wrist_acc_x", "wrist", "acc", "x", "g"),),
                     values[:, None].astype(np.float32), labels.astype(np.int32), {1: "a", 2: "b"})


def test_resampling_keeps_in_band_signal_and_removes_aliases():
    t = np.arange(3000) / 100.0
    slow, fast = np.sin(2 * np.pi * 2 * t), np.sin(2 * np.pi * 40 * t)  # 40 Hz aliases to 10 Hz
    out = resample(_recording(slow + fast, np.ones(3000), 100.0), 50.0)
    assert out.sample_rate_hz == 50.0 and out.n_samples == 1500
    inner = slice(100, -100)
    np.testing.assert_allclose(out.values[inner, 0], slow[::2][inner], atol=0.01)
    freqs, power = welch(out.values[:, 0], fs=50.0, nperseg=256)
    assert power[np.argmin(abs(freqs - 10))] < 1e-4 * power[np.argmin(abs(freqs - 2))]


def test_resampled_labels_take_the_nearest_sample():
    labels = np.repeat([1, 2], [7, 5])
    np.testing.assert_array_equal(resample_labels(labels, 1, 2), [1, 1, 1, 1, 2, 2])
    # Upsampled ×2: output 13 sits halfway between inputs 6 and 7; ties go to the later.
    np.testing.assert_array_equal(resample_labels(labels, 2, 1)[12:16], [1, 2, 2, 2])


def test_recording_at_the_target_rate_is_unchanged():
    rec = _recording(np.arange(10.0), np.ones(10), 50.0)
    assert resample(rec, 50.0) is rec


def test_a_preset_file_of_ones_own_drives_the_tabular_reader(tmp_path):
    import yaml
    ff.write_tabular(tmp_path, np.random.default_rng(6))
    preset_file = tmp_path / "my_study.yaml"
    preset_file.write_text(yaml.safe_dump({
        "reader": "tabular", "reader_options": {"spec": ff.TABULAR_SPEC}, "sample_rate_hz": 25,
        "classes": [1, 2], "stage1_window": [5, 20], "stage2_window": 10, "stage2_stride": 5,
        "test_subjects": ["u2"]}, allow_unicode=True), encoding="utf-8")
    p = presets.load(str(preset_file))
    assert (p.name, p.reader, p.test_subjects) == ("my_study", "tabular", ("u2",))
    info = inspect_source(str(preset_file), tmp_path)
    assert info["subjects"] == ["u1", "u2"] and info["sample_rates_hz"] == [25.0]


def test_inspect_the_real_hapt_copy(shared_data):
    info = inspect_source("uci_har", shared_data / "uci-hapt")
    assert info["n_recordings"] == 16
    assert info["subjects"] == [str(u) for u in range(1, 9)]
    assert info["sample_rates_hz"] == [50.0] and info["nan_cells"] == 0
    assert sum(info["samples_per_label"].values()) == sum(
        r["n_samples"] for r in info["recordings"])
    assert [c["unit"] for c in info["channels"]] == ["g"] * 3 + ["rad/s"] * 3
