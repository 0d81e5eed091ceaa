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


@pytest.mark.parametrize("key, value, words", [
    ("duplicates", "median", "duplicates 'median'; expected mean or first"),
    ("max_gap_s", 0, "expected a positive number of seconds, found 0"),
    ("max_backwards_s", -0.1, "expected a number of seconds, 0 or more, found -0.1"),
    ("max_gap_s", "0.1", "expected a positive number of seconds, found '0.1'"),
])
def test_spec_with_a_bad_clock_key_is_refused(tmp_path, key, value, words):
    spec = {"timestamp": {"column": "t", "unit": "ms", key: value},
            "channels": [{"column": "x", "name": "wrist_acc_x", "unit": "g"}]}
    with pytest.raises(InputError) as info:
        list(read("tabular", tmp_path, spec=spec))
    assert info.value.field == f"timestamp.{key}" and words in str(info.value)


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


def _phone_folder(root: Path, users=("u1", "u2")) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One phone CSV per user (UNIX-ms timestamps, duplicates, late samples, a 0.6 s gap),
    walking then resting from the true time 30 s; returns each user's true times and stamps."""
    root.mkdir(exist_ok=True)
    clocks = {}
    for k, user in enumerate(users):
        true_s, stamp_ms = phone_clock(10 + k, 60.0, gaps=[(45.0, 0.6)])
        walk = true_s < 30.0
        x = np.where(walk, _signal(true_s), 0.02 * np.sin(2 * np.pi * 0.3 * true_s))
        rows = ["timestamp,x,y,z,act"] + [
            f"{1_700_000_000_000 + ms},{a:.5f},{0.98 + 0.1 * a:.5f},{0.1 - 0.05 * a:.5f},"
            f"{'walk' if w else 'rest'}" for ms, a, w in zip(stamp_ms, x, walk)]
        (root / f"phone_{user}.csv").write_text("\n".join(rows) + "\n")
        clocks[user] = true_s, stamp_ms
    return clocks


PHONE_SPEC = ("    files: 'phone_*.csv'\n    dataset: phones\n"
              "    timestamp: {column: timestamp, unit: ms}\n    subject: {pattern: 'phone_(u\\d)'}\n"
              "    channels:\n      - {column: x, name: pocket_acc_x, unit: g}\n"
              "      - {column: y, name: pocket_acc_y, unit: g}\n"
              "      - {column: z, name: pocket_acc_z, unit: g}\n")


def test_phone_recordings_build_with_every_row_accepted(tmp_path, prefect_server):
    """Irregular phone clocks build; every answer re-derived from the grid agrees, and a
    transition the text places at ``change_s`` is where the labels change on the grid."""
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from flows.cli import app
    from generators.dataset import read_stage

    clocks = _phone_folder(tmp_path / "data")
    preset = _preset(tmp_path / "phones.yaml",
                     PHONE_SPEC + "    label: {column: act, names: [walk, rest]}\n", rate=100)
    preset.write_text(preset.read_text().replace("[4, 20]", "[50, 300]").replace(
        "stage2_window: 8\nstage2_stride: 4\ntest_subjects: [none]",
        "stage2_window: 200\nstage2_stride: 100\ntest_subjects: [u2]"))
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["build", "--preset", str(preset), "--input",
                                   str(tmp_path / "data"), "--out", str(out), "--name", "phones"])
    assert run.exit_code == 0, run.output
    assert "pass rate 1.0000" in run.output
    assert sum(pq.read_table(p).num_rows for p in (out / "phones").glob("rejected/*.parquet")) == 0
    rows = read_stage(out / "phones", 2, columns=["recording_id", "window_start", "change_index",
                                                   "qa_type", "facts"])
    recs = {r.recording_id: r for r in read("tabular", tmp_path / "data", spec={
        "files": "phone_*.csv", "timestamp": {"column": "timestamp", "unit": "ms"},
        "subject": {"pattern": r"phone_(u\d)"}, "label": {"column": "act", "names": ["walk", "rest"]},
        "channels": [{"column": c, "name": f"pocket_acc_{c}", "unit": "g"} for c in "xyz"]})}
    changes = [(rid, start + change) for rid, start, change, kind in zip(
        rows["recording_id"].to_pylist(), rows["window_start"].to_pylist(),
        rows["change_index"].to_pylist(), rows["qa_type"].to_pylist()) if kind == "transition"]
    assert changes
    for rid, at in changes:
        labels = recs[rid].labels
        assert (labels[at - 1], labels[at]) == (1, 2)
        _, stamp_ms = clocks[rid.split("-")[0].removeprefix("phone_")]
        t0 = stamp_ms.min() / 1000
        assert t0 + (at - 1) / 100 < 30.0 + 0.002 and t0 + at / 100 >= 29.98  # by the true switch


def _bad_times(rows: list[str]) -> str:
    return "timestamp,x,y,z,act\n" + "".join(f"{t},0.1,0.9,0.1,walk\n" for t in rows)


MALFORMED = {  # times as written → (line, words)
    "backwards": (["1000", "1010", "1020", "900", "1030"], 5, "goes backwards by 0.12 s"),
    "not a number": (["1000", "1010", "10x20", "1030"], 4, "expected a number, found '10x20'"),
    "one row": (["1000"], 2, "one row only"),
    "all duplicates": (["1000", "1000", "1000"], 2, "all 3 timestamps equal 1000"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_times_are_one_line_exit_2(case, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    times, line, words = MALFORMED[case]
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "phone_u1.csv"
    path.write_text(_bad_times(times))
    preset = _preset(tmp_path / "phones.yaml", PHONE_SPEC, rate=100)
    run = CliRunner().invoke(app, ["inspect", "--preset", str(preset), "--input",
                                   str(tmp_path / "data")])
    assert run.exit_code == 2
    assert run.output.strip() == (f"error: {path}, line {line}, field 'timestamp': "
                                  + run.output.split("'timestamp': ", 1)[1].strip())
    assert words in run.output and len(run.output.strip().splitlines()) == 1


def test_malformed_times_stop_a_build_with_nothing_written(tmp_path, prefect_server):
    from typer.testing import CliRunner

    from flows.cli import app

    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "phone_u1.csv"
    path.write_text(_bad_times(MALFORMED["backwards"][0]))
    preset = _preset(tmp_path / "phones.yaml", PHONE_SPEC, rate=100)
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["build", "--preset", str(preset), "--input",
                                   str(tmp_path / "data"), "--out", str(out), "--name", "phones"])
    assert run.exit_code == 2, run.output
    assert f"{path}, line 5, field 'timestamp': timestamp goes backwards" in run.output
    assert not (out / "phones").exists() or not any((out / "phones").rglob("*.parquet"))


def test_inspect_says_no_labels_for_an_unlabelled_folder(tmp_path):
    import json

    from typer.testing import CliRunner

    from flows.cli import app

    _phone_folder(tmp_path / "data")
    preset = _preset(tmp_path / "phones.yaml", PHONE_SPEC, rate=100)
    args = ["inspect", "--preset", str(preset), "--input", str(tmp_path / "data")]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    assert "no labels: every sample is unlabelled" in run.output
    assert "1 gap → 2 parts" in run.output
    info = json.loads(CliRunner().invoke(app, args + ["--format", "json"]).output)
    assert not info["labelled"] and list(info["samples_per_label"]) == ["unlabelled"]


def test_an_even_date_time_clock_keeps_its_rate_and_values(tmp_path):
    """Nanoseconds since 1970 are placed from the earliest one before they become floats, so
    10 ms steps stay 10 ms (as float64 they are 256 ns coarse: 100.0013 Hz, values moved)."""
    import pandas as pd

    x = (np.arange(300) % 64) / 64
    times = pd.date_range("2024-05-01 10:00:00.003", periods=300, freq="10ms")
    pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M:%S.%f"), "x": x}).to_csv(
        tmp_path / "a.csv", index=False)
    (rec,) = read("tabular", tmp_path, spec={
        "timestamp": {"column": "time", "unit": "datetime"},
        "channels": [{"column": "x", "name": "wrist_acc_x", "unit": "g"}]})
    assert rec.sample_rate_hz == 100.0
    assert rec.values[:, 0].tobytes() == x.astype(np.float32).tobytes()


def _sensor_csv(path: Path, stamp_ms: np.ndarray, columns: dict[str, np.ndarray],
                label: np.ndarray | None = None) -> None:
    """A sensor file as a phone writes it: UNIX-ms stamps (in file order) and its columns."""
    head = "timestamp," + ",".join(columns) + (",act" if label is not None else "")
    rows = [f"{1_700_000_000_000 + ms}," + ",".join(f"{c[i]:.6f}" for c in columns.values())
            + (f",{label[i]}" if label is not None else "") for i, ms in enumerate(stamp_ms)]
    path.write_text(head + "\n" + "\n".join(rows) + "\n")


def _two_sensor_spec(**extra) -> dict:
    return {"sample_rate_hz": 100, "subject": {"pattern": r"(u\d)_"}, "sources": [
        {"files": "*_acc.csv", "timestamp": {"column": "timestamp", "unit": "ms"},
         "channels": [{"column": "x", "name": "wrist_acc_x", "unit": "g"}],
         "label": {"column": "act", "names": ["walk", "rest"]}},
        {"files": "*_gyro.csv", "timestamp": {"column": "timestamp", "unit": "ms"},
         "channels": [{"column": "gx", "name": "wrist_gyro_x", "unit": "rad/s"}]}], **extra}


def test_separate_sensor_files_are_joined_on_one_grid_over_their_overlap(tmp_path):
    """Accelerometer at 100 Hz and gyroscope at ~98 Hz drifting (their own phone-like
    clocks, the gyroscope starting 0.5 s later and stopping 1 s earlier), built from one
    known signal: joined on one 100 Hz grid from the later start to the earlier end, each
    channel within 1 % of its range of the truth, labels from the accelerometer file."""
    acc_s, acc_ms = phone_clock(20, 12.0)
    gyro_s, _ = phone_clock(21, 10.5, rate_hz=98.0)
    gyro_s = 0.5 + gyro_s * (1 + 2e-3 * gyro_s / 10.5)  # the gyroscope's rate drifts 0.2 %
    gyro_ms = np.floor(gyro_s * 1000).astype(np.int64)
    act = np.where(acc_s < 6.0, "walk", "rest")
    _sensor_csv(tmp_path / "u1_acc.csv", acc_ms, {"x": _signal(acc_s)}, act)
    _sensor_csv(tmp_path / "u1_gyro.csv", gyro_ms, {"gx": 0.5 * _signal(gyro_s + 0.3)})
    reports = []
    (rec,) = read("tabular", tmp_path, spec=_two_sensor_spec(), on_clock=reports.append)
    assert (rec.recording_id, rec.subject, rec.sample_rate_hz) == ("u1", "u1", 100.0)
    assert [c.name for c in rec.channels] == ["wrist_acc_x", "wrist_gyro_x"]
    assert [r.recording_id for r in reports] == ["u1 (u1_acc.csv)", "u1 (u1_gyro.csv)"]
    assert abs(reports[1].median_step_s - 1 / 98) < 2e-3
    start = gyro_ms.min() / 1000  # the later first stamp (the acc clock starts at 0 ms)
    end = min(np.sort(acc_ms)[-1], np.sort(gyro_ms)[-1]) / 1000
    grid = start + np.arange(rec.n_samples) / 100
    assert grid[-1] <= end < grid[-1] + 0.01  # the overlap, to the last grid point in it
    truth = {0: _signal(grid), 1: 0.5 * _signal(grid + 0.3)}
    ranges = np.ptp(_signal(np.arange(0, 12, 1e-3))) * np.array([1, 0.5])
    for j, expected in truth.items():
        rms = np.sqrt(np.mean((rec.values[:, j] - expected) ** 2))
        assert rms <= 0.01 * ranges[j]
    switch = np.flatnonzero(rec.labels == 2)[0]  # walk until the last walk stamp, then rest
    assert grid[switch - 1] < acc_ms[act == "rest"].min() / 1000 <= grid[switch] + 1e-9


def test_separate_sensor_files_that_do_not_overlap_are_refused(tmp_path):
    acc_s, acc_ms = phone_clock(22, 3.0)
    gyro_s, gyro_ms = phone_clock(23, 3.0)
    _sensor_csv(tmp_path / "u1_acc.csv", acc_ms, {"x": _signal(acc_s)}, np.full(len(acc_s), "walk"))
    _sensor_csv(tmp_path / "u1_gyro.csv", gyro_ms + 5000, {"gx": _signal(gyro_s)})
    with pytest.raises(InputError) as info:
        list(read("tabular", tmp_path, spec=_two_sensor_spec()))
    message = str(info.value)
    assert info.value.field == "sources" and "do not overlap in time" in message
    assert "(s from the earliest stamp: u1_acc.csv 0–2.8" in message
    assert "; u1_gyro.csv 5–7.8" in message


@pytest.mark.parametrize("change, words, field", [
    (lambda spec, root: (root / "u1_gyro.csv").rename(root / "u2_gyro.csv"),
     "no file of source 2 ('*_gyro.csv') for recording 'u1'", "sources"),
    (lambda spec, root: spec.update(channels=[]), "channels beside sources", "channels"),
    (lambda spec, root: spec["sources"][1]["channels"][0].update(name="wrist_acc_x"),
     "channels ['wrist_acc_x'] named in more than one source", "sources"),
    (lambda spec, root: spec["sources"][1].update(label=spec["sources"][0]["label"]),
     "labels in more than one source", "sources"),
    (lambda spec, root: spec["sources"][1].pop("timestamp"),
     "source 2 needs files, timestamp and channels", "sources"),
    (lambda spec, root: spec["sources"][1]["timestamp"].update(max_gap_s=float("nan")),
     "expected a positive number of seconds, found nan", "sources[2].timestamp.max_gap_s"),
])
def test_a_bad_sources_spec_is_one_clear_error(tmp_path, change, words, field):
    acc_s, acc_ms = phone_clock(24, 2.0)
    _sensor_csv(tmp_path / "u1_acc.csv", acc_ms, {"x": _signal(acc_s)}, np.full(len(acc_s), "walk"))
    _sensor_csv(tmp_path / "u1_gyro.csv", acc_ms, {"gx": _signal(acc_s)})
    spec = _two_sensor_spec()
    change(spec, tmp_path)
    with pytest.raises(InputError) as info:
        list(read("tabular", tmp_path, spec=spec))
    assert info.value.field == field and words in str(info.value), str(info.value)
