"""The clock policy: stamped samples onto a uniform grid (exact small cases, phone-like clocks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generators.errors import InputError
from generators.readers import read
from generators.readers._clock import ClockPolicy, regularize
from generators.synthetic import phone_clock

WHERE = Path("rec.csv")


def _grid(times_ms, values, labels=None, **policy):
    values = np.asarray(values, dtype=np.float32).reshape(len(times_ms), -1)
    labels = np.zeros(len(times_ms), np.int32) if labels is None else np.asarray(labels, np.int32)
    parts, report = regularize(np.asarray(times_ms, float), values, labels,
                               np.arange(2, len(times_ms) + 2), ClockPolicy(**policy), unit=1e3,
                               path=WHERE, field="t", recording_id="rec")
    return list(parts), report


def test_duplicates_are_averaged_or_the_first_kept():
    parts, report = _grid([0, 10, 10, 20], [0, 1, 3, 4])
    assert parts[0].values[:, 0].tolist() == [0, 2, 4]
    assert (report.duplicated, report.rate_hz, report.rate_inferred) == (1, 100.0, True)
    parts, _ = _grid([0, 10, 10, 20], [0, 1, 3, 4], duplicates="first")
    assert parts[0].values[:, 0].tolist() == [0, 1, 4]


def test_late_samples_are_sorted_in_and_counted():
    parts, report = _grid([0, 20, 10, 30], [0, 2, 1, 3])
    assert parts[0].values[:, 0].tolist() == [0, 1, 2, 3]
    assert report.backwards == 1


def test_samples_between_grid_points_are_interpolated_labels_held():
    parts, report = _grid([0, 15, 30], [0, 3, 6], labels=[1, 2, 2], rate_hz=200)
    assert parts[0].values[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert parts[0].labels.tolist() == [1, 1, 1, 2, 2, 2, 2]  # previous sample in force
    assert (report.rate_hz, report.rate_inferred, report.grid_samples) == (200.0, False, 7)


def test_long_gaps_split_and_short_ones_are_bridged():
    times = [0, 10, 20, 30, 80, 90, 300, 310, 320]
    parts, report = _grid(times, np.arange(9.0))
    assert [p.start_s for p in parts] == [0.0, 0.3]
    assert [len(p.values) for p in parts] == [10, 3]  # 0–90 ms bridged; 90→300 ms split
    assert parts[0].values[4:8, 0].tolist() == pytest.approx([3.2, 3.4, 3.6, 3.8])
    assert (report.gaps, report.parts, report.off_band) == (1, 2, 2)


def test_samples_on_the_grid_keep_their_exact_values():
    values = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    parts, _ = _grid(np.arange(50) * 40, values)
    assert parts[0].values.tobytes() == values.tobytes()


@pytest.mark.parametrize("times, line, words", [
    ([0, 10, 200, 20], 5, "goes backwards by 0.18 s"),
    ([5], 2, "one row only"),
    ([7, 7, 7], 2, "all 3 timestamps equal 7"),
    ([0, 10, np.inf], 4, "expected a finite time"),
])
def test_malformed_clocks_name_the_line(times, line, words):
    with pytest.raises(InputError) as info:
        _grid(times, np.zeros(len(times)))
    assert (info.value.line, info.value.field) == (line, "t") and words in str(info.value)


def _signal(t: np.ndarray) -> np.ndarray:
    """A band-limited signal (components at 0.7, 2.3 and 4.9 Hz), range about ±2."""
    return (np.sin(2 * np.pi * 0.7 * t) + 0.6 * np.sin(2 * np.pi * 2.3 * t + 1)
            + 0.4 * np.sin(2 * np.pi * 4.9 * t + 2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_phone_clock_resampled_matches_the_true_signal(seed):
    """Timing as measured on real phone files, rebuilt on the grid within 1 % of the range."""
    true_s, stamp_ms = phone_clock(seed, 12.0, gaps=[(3.0, 0.03), (7.0, 0.6)])
    order = np.sort(stamp_ms)
    steps = np.diff(np.unique(order))
    assert 4 <= (np.diff(order) == 0).sum() <= 108  # duplicated stamps per ~1,200 samples
    assert 100 <= 1000 * ((steps < 5) | (steps > 15)).mean() <= 250  # steps out of band
    assert (np.diff(stamp_ms) < 0).any()  # late samples written out of order
    values = _signal(true_s)[:, None]
    parts, report = _grid(stamp_ms, values, rate_hz=100)
    after = stamp_ms[stamp_ms >= 7600].min()
    assert report.parts == 2 and [p.start_s for p in parts] == [0.0, after / 1000]
    errors = []
    for part in parts:
        grid = part.start_s + np.arange(len(part.values)) / 100
        assert grid[-1] < 7.0 or grid[0] >= 7.6  # nothing placed inside the long gap
        errors.append(part.values[:, 0] - _signal(grid))
    rms = np.sqrt(np.mean(np.concatenate(errors) ** 2))
    assert rms <= 0.01 * np.ptp(_signal(np.arange(0, 12, 1e-3)))


def test_tabular_reader_puts_a_phone_csv_on_the_grid(tmp_path):
    true_s, stamp_ms = phone_clock(3, 12.0, gaps=[(7.0, 0.6)])
    label = np.where(true_s < 5.0, "walk", "rest")
    rows = ["timestamp,x,act"] + [f"{ms},{v:.6f},{a}" for ms, v, a in
                                  zip(stamp_ms, _signal(true_s), label)]
    (tmp_path / "phone.csv").write_text("\n".join(rows) + "\n")
    spec = {"timestamp": {"column": "timestamp", "unit": "ms"},
            "channels": [{"column": "x", "name": "pocket_acc_x", "unit": "m/s²"}],
            "label": {"column": "act", "names": ["walk", "rest"]}}
    reports = []
    recs = list(read("tabular", tmp_path, spec=spec, on_clock=reports.append))
    assert [r.recording_id for r in recs] == ["phone-part1", "phone-part2"]
    assert {r.sample_rate_hz for r in recs} == {100.0} and reports[0].rate_inferred
    first = recs[0]
    switch = np.flatnonzero(first.labels == 2)[0]  # first grid point after the last walk stamp
    walk_stamps = stamp_ms[label == "walk"]
    assert stamp_ms.min() / 1000 + switch / 100 >= walk_stamps.max() / 1000 - 1e-9
    assert stamp_ms.min() / 1000 + (switch - 1) / 100 < stamp_ms[label == "rest"].min() / 1000


def test_spec_with_a_bad_clock_key_is_refused(tmp_path):
    spec = {"timestamp": {"column": "t", "unit": "ms", "duplicates": "median"},
            "channels": [{"column": "x", "name": "wrist_acc_x", "unit": "g"}]}
    with pytest.raises(InputError, match="duplicates 'median'; expected mean or first"):
        list(read("tabular", tmp_path, spec=spec))


RFID_COLUMNS = "time_s,frontal,vertical,lateral,antenna,rssi,phase,frequency,label"


def _preset(path: Path, spec: str, rate: float = 2) -> Path:
    path.write_text(f"description: clock test\nreader: tabular\nsample_rate_hz: {rate}\n"
                    f"reader_options:\n  spec:\n{spec}"
                    "stage1_window: [4, 20]\nstage2_window: 8\nstage2_stride: 4\n"
                    "test_subjects: [none]\n")
    return path


def test_inspect_reports_the_clock_of_a_real_rfid_recording(shared_data, tmp_path):
    """A chest tag read over RFID (UCI, Torres et al.): samples arrive when the reader hears it."""
    import json

    from typer.testing import CliRunner

    from flows.cli import app

    source = shared_data / "uci-rfid-elderly-har" / "S1_Dataset" / "d1p01M"
    data = tmp_path / "data"
    data.mkdir()
    (data / "d1p01M.csv").write_text(RFID_COLUMNS + "\n" + source.read_text())
    preset = _preset(tmp_path / "rfid.yaml", (
        "    timestamp: {column: time_s, unit: s, max_gap_s: 5}\n    channels:\n"
        "      - {column: frontal, name: chest_acc_x, unit: g}\n"
        "      - {column: vertical, name: chest_acc_y, unit: g}\n"
        "      - {column: lateral, name: chest_acc_z, unit: g}\n"
        "    label: {column: label, names: {1: bed, 2: chair, 3: lying, 4: ambulating}}\n"))
    times = np.loadtxt(source, delimiter=",", usecols=0)
    steps = np.diff(np.unique(times))
    gaps = int((steps > 5).sum())
    run = CliRunner().invoke(app, ["inspect", "--preset", str(preset), "--input", str(data),
                                   "--format", "json"])
    assert run.exit_code == 0, run.output
    info = json.loads(run.output)
    (clock,) = info["clocks"]
    assert clock["samples"] == len(times) and clock["median_step_s"] == np.median(steps)
    assert (clock["rate_hz"], clock["rate_inferred"]) == (1 / np.median(steps), True)
    assert (clock["gaps"], clock["parts"], info["n_recordings"]) == (gaps, gaps + 1, gaps + 1)
    assert clock["duplicated"] == len(times) - len(np.unique(times)) and info["labelled"]
    run = CliRunner().invoke(app, ["inspect", "--preset", str(preset), "--input", str(data)])
    assert run.exit_code == 0, run.output
    assert (f"clock of d1p01M: 2 Hz (inferred from the median step), steps p5–p95 "
            f"{np.percentile(steps, 5) * 1e3:.4g}–{np.percentile(steps, 95) * 1e3:.4g} ms "
            f"(median 500 ms)") in run.output
    assert f"{gaps} gaps → {gaps + 1} parts" in run.output and "no labels" not in run.output
