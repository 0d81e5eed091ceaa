"""HHAR: per-device clocks and rates in the release's CSV layout, and its malformed rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generators import presets
from generators.errors import InputError
from generators.readers import read
from generators.synthetic import phone_clock
from tests.fixtures_formats import HHAR_HEADER


def _signal(t: np.ndarray, axis: int) -> np.ndarray:
    """Band-limited (≤ 4.9 Hz), m/s²."""
    return 3 * np.sin(2 * np.pi * 0.8 * t + axis) + np.sin(2 * np.pi * 4.9 * t)


def _rows(user: str, device: str, rate: float, seed: int, t0_ns: int, gaps=()):
    true_s, stamp_ms = phone_clock(seed, 20.0, rate_hz=rate, gaps=gaps)
    # Creation_Time in ns: the truncated-millisecond stamp plus a sub-millisecond part
    stamp_ns = t0_ns + stamp_ms * 1_000_000
    gt = np.where(true_s < 8.0, "walk", np.where(true_s < 9.0, "null", "bike"))
    return [(t, f"{t0_ns // 1_000_000 + int(t * 1000) + 40},{ns},"
                + ",".join(f"{_signal(t, a):.6f}" for a in range(3)) + f",{user},m,{device},{g}")
            for t, ns, g in zip(true_s, stamp_ns, gt)], true_s


def _write(root: Path, rows) -> Path:
    rows = sorted(rows, key=lambda r: r[0])
    path = root / "Phones_accelerometer.csv"
    path.write_text(HHAR_HEADER + "\n" + "".join(f"{i},{r}\n" for i, (_, r) in enumerate(rows)))
    return path


def test_each_device_is_placed_on_its_own_grid(tmp_path):
    fast, true_fast = _rows("a", "s3_1", 200.0, 0, 1_424_696_633_908_000_000, gaps=[(15.0, 0.5)])
    slow, _ = _rows("a", "gear_1", 50.0, 1, 27_920_678_471_000)
    _write(tmp_path, fast + slow)
    reports = []
    recs = list(read("hhar", tmp_path, on_clock=reports.append))
    assert [r.recording_id for r in recs] == [
        "Phones_accelerometer-a-gear_1-session1", "Phones_accelerometer-a-s3_1-session1-part1",
        "Phones_accelerometer-a-s3_1-session1-part2"]
    # nanoseconds since 1970 hold 256 ns steps as float64: the inferred rate is that close
    assert [r.sample_rate_hz for r in recs] == pytest.approx([50.0, 200.0, 200.0], rel=1e-4)
    assert [r.rate_inferred for r in reports] == [True, True]
    assert set(recs[0].labels.tolist()) == {-1, 3, 6}  # walk, null, bike
    start = (true_fast.min(), true_fast[true_fast >= 15.5].min())
    errors = []
    for rec, t0 in zip(recs[1:], start):
        grid = np.floor(t0 * 1000) / 1000 + np.arange(rec.n_samples) / 200
        errors += [rec.values[:, k] - _signal(grid, k) for k in range(3)]
    rms = np.sqrt(np.mean(np.concatenate(errors) ** 2))
    assert rms <= 0.01 * np.ptp(_signal(np.arange(0, 20, 1e-4), 0))


@pytest.mark.parametrize("edit, field, words", [
    (lambda cells: cells.__setitem__(9, "jog"), "gt", "gt 'jog'; expected one of stand"),
    (lambda cells: cells.__setitem__(4, "2x"), "y", "expected a number, found '2x'"),
    (lambda cells: cells.__setitem__(2, ""), "Creation_Time", "missing value"),
])
def test_malformed_rows_name_line_and_field(tmp_path, edit, field, words):
    rows, _ = _rows("a", "s3_1", 50.0, 0, 1_000_000_000)
    path = _write(tmp_path, rows)
    lines = path.read_text().splitlines()
    cells = lines[4].split(",")
    edit(cells)
    lines[4] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        list(read("hhar", tmp_path))
    assert (Path(info.value.path), info.value.line, info.value.field) == (path, 5, field)
    assert words in str(info.value)


def test_preset_reads_phones_and_watches_at_50_hz():
    p = presets.load("hhar")
    assert (p.reader, p.sample_rate_hz, p.classes) == ("hhar", 50.0, (1, 2, 3, 4, 5, 6))


def test_gyroscope_files_are_recordings_of_their_own(tmp_path):
    rows, _ = _rows("b", "lgwatch_1", 100.0, 2, 1_000_000_000)
    acc = _write(tmp_path, rows)
    gyro = acc.with_name("Watch_gyroscope.csv")
    acc.rename(gyro)
    (rec,) = read("hhar", tmp_path, files=["Watch_gyroscope.csv"])
    assert rec.recording_id == "Watch_gyroscope-b-lgwatch_1-session1"
    assert [(c.name, c.unit) for c in rec.channels] == [
        (f"wrist_gyro_{a}", "rad/s") for a in "xyz"]
    with pytest.raises(InputError, match="expected a file named Phones_ or Watch_"):
        gyro.rename(tmp_path / "Tablet_gyroscope.csv")
        list(read("hhar", tmp_path, files=["Tablet_gyroscope.csv"]))
