"""The bad-input catalogue: each malformed file fails with the file, the place and the expectation."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from generators import presets
from generators.errors import InputError
from generators.readers import READERS, read
from generators.registry import UnknownNameError
from tests import fixtures_formats as ff
from tests.conftest import SAMPLE

RNG = np.random.default_rng(11)
# Each case: build the bad input under tmp_path; return (call that must raise, file, line,
# field, words the message must contain).
Case = Callable[[Path], tuple[Callable[[], object], Path, int | None, str | None, str]]


def _consume(reader: str, path: Path, **options) -> Callable[[], object]:
    return lambda: list(read(reader, path, **options))


def _mhealth_lines(tmp_path: Path, edit: Callable[[list[str]], list[str]]) -> Path:
    ff.write_mhealth(tmp_path, RNG, subjects=(4,))
    path = tmp_path / "mHealth_subject4.log"
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    return path


def _pamap2(tmp_path: Path, n: int = 40, edit: Callable[[np.ndarray], None] = lambda t: None
            ) -> Path:
    table = ff.pamap2_table(RNG, np.full(n, 3, dtype=np.int32))
    edit(table)
    return ff.write_pamap2(tmp_path, table)


def _replace_line(path: Path, lineno: int, text: str, end: str = "\n") -> None:
    lines = path.read_text().splitlines()
    lines[lineno - 1] = text
    path.write_text("\n".join(lines) + end)


def empty_file(tmp_path):
    path = tmp_path / "mHealth_subject1.log"
    path.write_text("")
    return _consume("mhealth", tmp_path), path, None, None, "empty"


def wrong_column_count(tmp_path):
    path = _mhealth_lines(tmp_path, lambda ls: ls[:6] + [ls[6] + "\t1.5"] + ls[7:])
    return _consume("mhealth", tmp_path), path, 7, None, "expected 24 columns, found 25"


def wrong_field_count_pamap2(tmp_path):
    path = _pamap2(tmp_path)
    _replace_line(path, 12, " ".join(path.read_text().splitlines()[11].split()[:50]))
    return _consume("pamap2", tmp_path), path, 12, None, "expected 54 fields, found 50"


def non_numeric_cell(tmp_path):
    path = _pamap2(tmp_path)
    cells = path.read_text().splitlines()[8].split()
    cells[4] = "0.5x"  # hand ±16 g acc x (after the temperature)
    _replace_line(path, 9, " ".join(cells))
    return _consume("pamap2", tmp_path), path, 9, "hand_acc_x", "expected a number, found '0.5x'"


def truncated_last_line(tmp_path):
    path = _pamap2(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1] + [lines[-1][:len(lines[-1]) // 2]]))
    return _consume("pamap2", tmp_path), path, 40, None, "the last line is truncated"


def truncated_last_line_capture24(tmp_path):
    path = tmp_path / "P002.csv"
    ff.capture24_frame(np.ones((5, 3)), [ff.SLEEP] * 5).to_csv(path, index=False)
    text = path.read_text()
    path.write_text(text[:text.rindex("\n", 0, len(text) - 1)] + "\n2016-11-13 02:18:00.040000,1.0")
    return _consume("capture24", tmp_path), path, 6, "y", "the last line is truncated"


def label_not_in_map(tmp_path):
    path = _mhealth_lines(tmp_path, lambda ls: ls[:9] + [ls[9].rsplit("\t", 1)[0] + "\t13"] + ls[10:])
    return _consume("mhealth", tmp_path), path, 10, "label", "not in the label map"


def annotation_not_in_dictionary(tmp_path):
    path = ff.write_capture24(tmp_path / "P004.csv.gz", np.zeros((4, 3)),
                              [ff.SLEEP, "", "dancing the tango", ff.SLEEP])
    return (_consume("capture24", tmp_path), path, 4, "annotation",
            "'dancing the tango' is not in the label dictionary")


def all_nan_channel(tmp_path):
    columns, _, _ = ff.pamap2_columns()
    path = _pamap2(tmp_path, edit=lambda t: t.__setitem__((slice(None), columns[7]), np.nan))
    return _consume("pamap2", tmp_path), path, None, "hand_mag_y", "NaN in every row"


def nan_gap_too_long(tmp_path):
    columns, _, _ = ff.pamap2_columns()
    path = _pamap2(tmp_path, edit=lambda t: t.__setitem__((slice(10, 25), columns[3]), np.nan))
    return (_consume("pamap2", tmp_path, on_long_gap="error"), path, 11, "hand_gyro_x",
            "NaN gap of 15 samples exceeds the limit of 10 samples")


def acc_gyro_lengths_differ(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "hapt")
    gyro = tmp_path / "hapt" / "RawData" / "gyro_exp01_user01.txt.gz"
    lines = gzip.decompress(gyro.read_bytes()).decode().splitlines()
    gyro.write_bytes(gzip.compress(("\n".join(lines[:-3]) + "\n").encode()))
    return _consume("uci_har", tmp_path / "hapt"), gyro, None, None, "expected equal lengths"


def window_signal_lengths_differ(tmp_path):
    ff.write_uci_har_windows(tmp_path, RNG)
    path = tmp_path / "test" / "Inertial Signals" / "body_gyro_y_test.txt"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    return _consume("uci_har_windows", tmp_path), path, None, None, "expected equal lengths"


def span_beyond_file_end(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "hapt")
    labels = tmp_path / "hapt" / "RawData" / "labels.txt"
    lines = labels.read_text().splitlines()
    lines[0] = "1 1 5 250 99999"
    labels.write_text("\n".join(lines) + "\n")
    return _consume("uci_har", tmp_path / "hapt"), labels, 1, "end", "ends beyond"


def duplicated_timestamp(tmp_path):
    path = tmp_path / "P005.csv"
    frame = ff.capture24_frame(np.ones((6, 3)), [ff.SLEEP] * 6)
    frame.loc[4, "time"] = frame.loc[3, "time"]
    frame.to_csv(path, index=False)
    return (_consume("capture24", tmp_path), path, 6, "time",
            "timestamp duplicated; expected strictly increasing")


def backwards_timestamp(tmp_path):
    path = _pamap2(tmp_path, edit=lambda t: t.__setitem__((20, 0), 1.0))
    return (_consume("pamap2", tmp_path), path, 21, "timestamp",
            "goes backwards; expected strictly increasing")


def backwards_timestamp_tabular(tmp_path):
    ff.write_tabular(tmp_path, RNG)
    path = tmp_path / "day1.csv"
    lines = path.read_text().splitlines()
    # u1's 3rd and 8th samples swap places: its 4th then lies 160 ms before the 3rd, beyond
    # the 50 ms within which late samples are sorted in
    lines[5], lines[15] = lines[15], lines[5]
    path.write_text("\n".join(lines) + "\n")
    return (_consume("tabular", tmp_path, spec=ff.TABULAR_SPEC), path, 8, "t_ms",
            "goes backwards")


def corrupt_gzip(tmp_path):
    path = ff.write_capture24(tmp_path / "P006.csv.gz", np.zeros((5000, 3)), [ff.SLEEP] * 5000)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 2]))
    return _consume("capture24", tmp_path), path, None, None, "corrupt gzip"


def missing_mat_field(tmp_path):
    path = ff.write_usc_had_trial(tmp_path, 2, 3, 1, np.zeros((10, 6)), field_name="accelerations")
    return _consume("usc_had", tmp_path), path, None, "sensor_readings", "no 'sensor_readings' field"


def mat_v73(tmp_path):
    path = ff.write_usc_had_trial(tmp_path, 2, 3, 1, np.zeros((10, 6)))
    data = bytearray(path.read_bytes())
    data[124:126] = (0x0200).to_bytes(2, "little")  # header version of a v7.3 (HDF5) file
    path.write_bytes(bytes(data))
    return _consume("usc_had", tmp_path), path, None, None, "MATLAB v7.3 (HDF5)"


def spec_missing_column(tmp_path):
    ff.write_tabular(tmp_path, RNG)
    spec = {**ff.TABULAR_SPEC, "channels": ff.TABULAR_SPEC["channels"]
            + [{"column": "az", "name": "left_wrist_acc_z", "unit": "m/s²"}]}
    return (_consume("tabular", tmp_path, spec=spec), tmp_path / "day1.csv", None, "az",
            "not in the file; found: user, t_ms, ax, note, gx, activity")


def spec_unit_with_period(tmp_path):
    ff.write_tabular(tmp_path, RNG)
    spec = {**ff.TABULAR_SPEC, "channels": [{"column": "ax", "name": "left_wrist_acc_x",
                                             "unit": "a.u."}]}
    return (_consume("tabular", tmp_path, spec=spec), Path("<tabular spec>"), None,
            "channels[1].unit", "unit 'a.u.': expected one word without a final period")


def uea_unit_with_space(tmp_path):
    path = tmp_path / "Toy_TEST.ts"
    path.write_text(ff.ts_text([np.zeros((3, 1))] * 2, ["rest", "move"], ["rest", "move"]))
    return (_consume("uea", tmp_path, sample_rate_hz=1.0, units=["arbitrary units"]), path,
            None, "units[0]", "unit 'arbitrary units': expected one word")


def no_matching_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    return _consume("mhealth", tmp_path), tmp_path, None, None, "no files matching 'mHealth_subject*.log'"


def unknown_class_uea(tmp_path):
    path = tmp_path / "Toy_TEST.ts"
    path.write_text(ff.ts_text([np.zeros((3, 1))] * 2, ["rest", "fly"], ["rest", "move"]))
    return (_consume("uea", tmp_path, sample_rate_hz=1.0), path, 12, "class",
            "class 'fly' is not in @classLabel")


CATALOGUE = [empty_file, wrong_column_count, wrong_field_count_pamap2, non_numeric_cell,
             truncated_last_line, truncated_last_line_capture24, label_not_in_map,
             annotation_not_in_dictionary, all_nan_channel, nan_gap_too_long,
             acc_gyro_lengths_differ, window_signal_lengths_differ, span_beyond_file_end,
             duplicated_timestamp, backwards_timestamp, backwards_timestamp_tabular,
             corrupt_gzip, missing_mat_field, mat_v73, spec_missing_column, spec_unit_with_period,
             no_matching_files, unknown_class_uea, uea_unit_with_space]


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda c: c.__name__)
def test_bad_input_names_file_place_and_expectation(case, tmp_path):
    call, path, line, field, words = case(tmp_path)
    with pytest.raises(InputError) as info:
        call()
    err = info.value
    assert Path(err.path) == path
    assert (err.line, err.field) == (line, field)
    assert words in str(err)
    assert str(path) in str(err)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown preset 'pamap3'; known: capture24, "
                       "mhealth, pamap2, uci_har, usc_had"):
        presets.load("pamap3")


def test_unknown_reader_lists_the_known_ones():
    with pytest.raises(UnknownNameError) as info:
        READERS["csv"]
    assert str(info.value) == f"unknown reader 'csv'; known: {', '.join(READERS.names())}"


def test_uea_missing_value_is_named(tmp_path):
    path = tmp_path / "Toy_TEST.ts"
    path.write_text(ff.ts_text([np.zeros((3, 2))], ["rest"], ["rest"]).replace(
        "0.000000:0.000000,0.000000", "0.000000:?,0.000000"))
    with pytest.raises(InputError) as info:
        list(read("uea", path, sample_rate_hz=1.0))
    assert (info.value.line, info.value.field) == (11, "dimension 2")
    assert "missing value '?'" in str(info.value) and str(path) in str(info.value)
