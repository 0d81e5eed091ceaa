"""WISDM v1.1 raw: the release's record layout, its clocks, and its malformed records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generators import presets
from generators.errors import InputError
from generators.readers import read
from generators.readers.wisdm import LABEL_NAMES
from generators.synthetic import phone_clock

FILE = "WISDM_ar_v1.1_raw.txt"


def _signal(t: np.ndarray, axis: int) -> np.ndarray:
    """Band-limited (≤ 2 Hz, a tenth of the rate), one phase per axis; m/s²."""
    return 9.81 * (0.3 * np.sin(2 * np.pi * 0.6 * t + axis) + 0.2 * np.sin(2 * np.pi * 1.9 * t))


def _session(seed: int, user: str, activity: str, duration_s: float, uptime_ns: int,
             gaps=()) -> tuple[list[str], np.ndarray, np.ndarray]:
    true_s, stamp_ms = phone_clock(seed, duration_s, rate_hz=20, gaps=gaps)
    records = [f"{user},{activity},{uptime_ns + ms * 1_000_000},"
               + ",".join(f"{_signal(t, a):.6f}" for a in range(3))
               for t, ms in zip(true_s, stamp_ms)]
    return records, true_s, stamp_ms


def _write(root: Path, records: list[str], per_line: int = 1) -> Path:
    """Records as the release writes them: ';' after each, sometimes several to a line."""
    lines = [";".join(records[i:i + per_line]) + ";" for i in range(0, len(records), per_line)]
    path = root / FILE
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sessions_are_read_onto_the_20_hz_grid(tmp_path):
    a, true_a, _ = _session(0, "33", "Jogging", 30.0, 49_105_962_326_000, gaps=[(12.0, 1.0)])
    b, _, _ = _session(1, "33", "Sitting", 20.0, 1_000_000_000)  # another session: clock restarts
    c, _, _ = _session(2, "7", "Upstairs", 20.0, 5_000_000_000)
    records = a + b + c
    records[5] += ","  # a stray comma before the ';', as in the release
    records.insert(40, "33,Jogging,0,0.1,0.2,0.3")  # a record without a time
    _write(tmp_path, records, per_line=1)
    path = tmp_path / FILE
    text = path.read_text().splitlines()
    text[100] = text[100] + text[101]  # two records on one line
    del text[101]
    path.write_text("\n".join(text) + "\n")
    reports = []
    recs = list(read("wisdm", tmp_path, on_clock=reports.append))
    assert [r.recording_id for r in recs] == ["user33-session1-part1", "user33-session1-part2",
                                              "user33-session2", "user7-session1"]
    assert [r.subject for r in recs] == ["33", "33", "33", "7"]
    assert {r.sample_rate_hz for r in recs} == {20.0}
    assert [set(r.labels.tolist()) for r in recs] == [{2}, {2}, {5}, {3}]
    assert LABEL_NAMES[2] == "jogging"
    assert [(r.gaps, r.parts) for r in reports] == [(1, 2), (0, 1), (0, 1)]
    assert all(r.duplicated > 0 and r.off_band > 0 for r in reports)
    start = (true_a[true_a < 12.0].min(), true_a[true_a >= 13.0].min())
    errors = []
    for rec, t0 in zip(recs[:2], start):
        grid = np.floor(t0 * 1000) / 1000 + np.arange(rec.n_samples) / 20
        errors += [rec.values[:, k] - _signal(grid, k) for k in range(3)]
    assert np.sqrt(np.mean(np.concatenate(errors) ** 2)) <= 0.01 * 2 * 9.81 * 0.5


@pytest.mark.parametrize("edit, line, field, words", [
    (lambda r: r.__setitem__(3, "33,Jogging,49105962326000,0.1,0.2"), 4, None,
     "expected 6 comma-separated fields"),
    (lambda r: r.__setitem__(3, "33,Swimming,49105962326000,0.1,0.2,0.3"), 4, "activity",
     "activity 'Swimming'; expected one of Walking, Jogging"),
    (lambda r: r.__setitem__(3, "33,Jogging,49105962326000,0.1,abc,0.3"), 4, "y-acceleration",
     "expected a number, found 'abc'"),
    (lambda r: r.__setitem__(3, "33,Jogging,4910596x326000,0.1,0.2,0.3"), 4, "timestamp",
     "expected a number"),
    (lambda r: r.__setitem__(slice(None), r[:1] + ["7" + r[1][2:]]), 1, "timestamp",
     "one row only"),
])
def test_malformed_records_name_the_line(tmp_path, edit, line, field, words):
    records, _, _ = _session(0, "33", "Jogging", 2.0, 49_105_962_326_000)
    edit(records)
    path = _write(tmp_path, records)
    with pytest.raises(InputError) as info:
        list(read("wisdm", tmp_path))
    assert (Path(info.value.path), info.value.line, info.value.field) == (path, line, field)
    assert words in str(info.value)


def test_preset_names_the_reader_channels_and_classes():
    p = presets.load("wisdm")
    assert (p.reader, p.sample_rate_hz, p.classes) == ("wisdm", 20.0, (1, 2, 3, 4, 5, 6))
    assert p.channels == ("pocket_acc_x", "pocket_acc_y", "pocket_acc_z")
