"""The HAPT raw reader on the embedded sample, the full shared copy and broken files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from generators.errors import InputError
from generators.readers import READERS, read
from tests.conftest import SAMPLE


def _recordings(path: Path, **options):
    return list(read("uci_har", path, **options))


def test_sample_has_six_experiments_of_three_users():
    recs = _recordings(SAMPLE)
    assert [r.recording_id for r in recs] == [
        "exp01_user01", "exp02_user01", "exp03_user02", "exp04_user02", "exp05_user03",
        "exp06_user03"]
    assert [r.subject for r in recs] == ["1", "1", "2", "2", "3", "3"]
    rec = recs[0]
    assert rec.sample_rate_hz == 50.0
    assert [c.name for c in rec.channels] == [
        "waist_acc_x", "waist_acc_y", "waist_acc_z", "waist_gyro_x", "waist_gyro_y",
        "waist_gyro_z"]
    assert [c.unit for c in rec.channels] == ["g"] * 3 + ["rad/s"] * 3
    assert rec.values.dtype == np.float32 and rec.labels.dtype == np.int32
    # First row of acc_exp01_user01.txt, as written in the source file.
    np.testing.assert_allclose(rec.values[0, :3], [0.9180555898766518, -0.1124999994242935,
                                                   0.5097222514293852], rtol=1e-6)
    assert rec.label_names[1] == "WALKING" and rec.label_names[12] == "LIE_TO_STAND"


def test_sample_spans_land_on_inclusive_one_based_samples():
    rec = _recordings(SAMPLE)[0]
    # labels.txt: "1 1 5 250 1232" then "1 1 7 1233 1392": samples 250..1232 (1-based).
    assert rec.labels[248] == -1 and rec.labels[249] == 5
    assert rec.labels[1231] == 5 and rec.labels[1232] == 7
    assert rec.labels[1391] == 7 and rec.labels[1392] == 4


def test_every_span_of_the_full_shared_copy(shared_data):
    root = shared_data / "uci-hapt"
    recs = {r.recording_id: r for r in _recordings(root)}
    assert len(recs) == 16  # users 1–8, experiments 01–16; the others are absent
    spans = np.loadtxt(root / "RawData" / "labels.txt", dtype=int)
    checked = 0
    for exp, user, act, start, end in spans:
        rec = recs.get(f"exp{exp:02d}_user{user:02d}")
        if rec is None:
            continue
        assert (rec.labels[start - 1:end] == act).all()
        if start >= 2:
            assert rec.labels[start - 2] != act or spans_touch(spans, exp, start)
        checked += 1
    assert checked == int((spans[:, 0] <= 16).sum())
    acc = np.loadtxt(root / "RawData" / "acc_exp07_user04.txt")
    np.testing.assert_allclose(recs["exp07_user04"].values[:, :3], acc, rtol=1e-6)


def spans_touch(spans: np.ndarray, exp: int, start: int) -> bool:
    """Whether another span of the same label ends right before ``start``."""
    return bool(((spans[:, 0] == exp) & (spans[:, 4] == start - 1)).any())


@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    """A writable copy of two sample experiments, unzipped, for corrupting."""
    raw = tmp_path / "RawData"
    raw.mkdir()
    for name in ("acc_exp01_user01.txt", "gyro_exp01_user01.txt"):
        with gzip.open(SAMPLE / "RawData" / f"{name}.gz", "rb") as src, open(raw / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    lines = (SAMPLE / "RawData" / "labels.txt").read_text().splitlines()
    (raw / "labels.txt").write_text("\n".join(l for l in lines if l.startswith("1 1 ")) + "\n")
    shutil.copy(SAMPLE / "activity_labels.txt", tmp_path / "activity_labels.txt")
    return tmp_path


def _replace_line(path: Path, lineno: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[lineno - 1] = text
    path.write_text("".join(lines))


@pytest.mark.parametrize(
    ("mutate", "where", "expected"),
    [
        (lambda d: _replace_line(d / "RawData/acc_exp01_user01.txt", 7, "0.9 abc 0.5\n"),
         "acc_exp01_user01.txt, line 7, field 'column 2'", "expected a number, found 'abc'"),
        (lambda d: _replace_line(d / "RawData/gyro_exp01_user01.txt", 3, "0.1 0.2\n"),
         "gyro_exp01_user01.txt, line 3", "expected 3 columns, found 2"),
        (lambda d: (d / "RawData/acc_exp01_user01.txt").write_text(""),
         "acc_exp01_user01.txt", "file is empty"),
        (lambda d: _replace_line(d / "RawData/labels.txt", 2, "1 1 99 1233 1392\n"),
         "labels.txt, line 2, field 'activity'", "label id 99 is not in activity_labels.txt"),
        (lambda d: _replace_line(d / "RawData/labels.txt", 1, "1 1 5 250 99999\n"),
         "labels.txt, line 1, field 'end'", "ends beyond acc_exp01_user01.txt"),
        (lambda d: (d / "RawData/gyro_exp01_user01.txt").write_text("0 0 0\n" * 10),
         "gyro_exp01_user01.txt", "10 rows but acc_exp01_user01.txt has 20598"),
        (lambda d: [p.unlink() for p in (d / "RawData").glob("*_exp01_*")],
         "RawData", "no acc_exp*_user*.txt"),
    ],
    ids=["non-numeric", "wrong-columns", "empty", "unknown-label", "span-beyond-end",
         "length-mismatch", "no-files"],
)
def test_bad_files_name_file_line_and_expectation(broken, mutate, where, expected):
    mutate(broken)
    with pytest.raises(InputError) as err:
        _recordings(broken)
    assert where in str(err.value)
    assert expected in str(err.value)


def test_unknown_reader_lists_known_ones():
    with pytest.raises(KeyError, match="known: .*uci_har"):
        READERS["nope"]
