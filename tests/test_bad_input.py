"""The bad-input catalogue: each malformed file fails with the file, the place and the expectation."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

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


# --- spec ``files`` must stay inside --input -------------------------------------------------

def _outside_csv(tmp_path: Path) -> tuple[Path, Path]:
    """An input directory and, beside it, a table that a spec must not reach."""
    root, outside = tmp_path / "input", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    ff.write_tabular(outside, RNG)
    return root, outside


def spec_files_leave_the_input(tmp_path):
    root, _ = _outside_csv(tmp_path)
    spec = {**ff.TABULAR_SPEC, "files": "../outside/*.csv"}
    return (_consume("tabular", root, spec=spec), Path("<tabular spec>"), None, "files",
            "outside the input directory")


def spec_files_absolute(tmp_path):
    root, outside = _outside_csv(tmp_path)
    spec = {**ff.TABULAR_SPEC, "files": str(outside / "*.csv")}
    return (_consume("tabular", root, spec=spec), Path("<tabular spec>"), None, "files",
            "absolute pattern")


def spec_files_symlink_out(tmp_path):
    root, outside = _outside_csv(tmp_path)
    (root / "day1.csv").symlink_to(outside / "day1.csv")
    return (_consume("tabular", root, spec=ff.TABULAR_SPEC), Path("<tabular spec>"), None, "files",
            "outside the input directory")


# --- values a float32 recording cannot hold ---------------------------------------------------

FINITE = "expected a finite number within float32's range ±3.4e38"


def inf_cell_mhealth(tmp_path):
    def edit(lines):
        cells = lines[6].split("\t")
        cells[2] = "inf"
        return lines[:6] + ["\t".join(cells)] + lines[7:]
    return (_consume("mhealth", tmp_path), _mhealth_lines(tmp_path, edit), 7, "column 3",
            f"{FINITE}, found 'inf'")


def float32_overflow_hapt(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "hapt")
    acc = tmp_path / "hapt" / "RawData" / "acc_exp01_user01.txt.gz"
    lines = gzip.decompress(acc.read_bytes()).decode().splitlines()
    lines[99] = "1e39 " + lines[99].split(" ", 1)[1]
    acc.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return (_consume("uci_har", tmp_path / "hapt"), acc, 100, "column 1",
            f"{FINITE}, found '1e39'")


def float32_overflow_windows(tmp_path):
    ff.write_uci_har_windows(tmp_path, RNG)
    path = tmp_path / "train" / "Inertial Signals" / "total_acc_z_train.txt"
    lines = path.read_text().splitlines()
    cells = lines[1].split(" ")
    cells[4] = "-1e308"
    lines[1] = " ".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return (_consume("uci_har_windows", tmp_path), path, 2, "column 5",
            f"{FINITE}, found '-1e308'")


def float32_overflow_pamap2(tmp_path):
    path = _pamap2(tmp_path)
    cells = path.read_text().splitlines()[8].split()
    cells[4] = "1e39"
    _replace_line(path, 9, " ".join(cells))
    return _consume("pamap2", tmp_path), path, 9, "hand_acc_x", f"{FINITE}, found 1e+39"


def inf_cell_capture24(tmp_path):
    path = tmp_path / "P007.csv"
    frame = ff.capture24_frame(np.ones((6, 3)), [ff.SLEEP] * 6)
    frame["z"] = frame["z"].astype(object)
    frame.loc[3, "z"] = "-inf"
    frame.to_csv(path, index=False)
    return _consume("capture24", tmp_path), path, 5, "z", f"{FINITE}, found -inf"


def float32_overflow_tabular(tmp_path):
    ff.write_tabular(tmp_path, RNG)
    path = tmp_path / "day1.csv"
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[4] = "1e308"  # gx
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return (_consume("tabular", tmp_path, spec=ff.TABULAR_SPEC), path, 4, "gx",
            f"{FINITE}, found 1e+308")


def inf_cell_uea(tmp_path):
    path = tmp_path / "Toy_TEST.ts"
    path.write_text(ff.ts_text([np.zeros((3, 2))], ["rest"], ["rest"]).replace(
        "0.000000:0.000000,0.000000", "0.000000:Infinity,0.000000"))
    return (_consume("uea", tmp_path, sample_rate_hz=1.0), path, 11, "dimension 2",
            f"{FINITE}, found 'Infinity'")


def float32_overflow_wisdm(tmp_path):
    ff.write_wisdm(tmp_path, RNG)
    path = tmp_path / "WISDM_ar_v1.1_raw.txt"
    lines = path.read_text().splitlines()
    lines[4] = ",".join(lines[4].split(",")[:4] + ["1e39", lines[4].split(",")[5]])
    path.write_text("\n".join(lines) + "\n")
    return (_consume("wisdm", tmp_path), path, 5, "y-acceleration",
            f"{FINITE}, found '1e39'")


def float32_overflow_usc_had(tmp_path):
    readings = np.zeros((10, 6))
    readings[6, 2] = 1e39
    path = ff.write_usc_had_trial(tmp_path, 2, 3, 1, readings)
    return (_consume("usc_had", tmp_path), path, None, "sensor_readings",
            f"row 7, column 3 is 1e+39; {FINITE}")


# --- HAPT label spans -------------------------------------------------------------------------

def _hapt_labels(tmp_path: Path, lineno: int, text: str) -> tuple[Path, Path]:
    shutil.copytree(SAMPLE, tmp_path / "hapt")
    labels = tmp_path / "hapt" / "RawData" / "labels.txt"
    _replace_line(labels, lineno, text)
    return tmp_path / "hapt", labels


def non_integer_span(tmp_path):
    root, labels = _hapt_labels(tmp_path, 3, "1 1 4 1393.5 2194")
    return _consume("uci_har", root), labels, 3, "start", "found 1393.5; expected a whole number"


def overlapping_spans(tmp_path):
    root, labels = _hapt_labels(tmp_path, 3, "1 1 4 1300 2194")  # line 2 ends at 1392
    return (_consume("uci_har", root), labels, 3, "start",
            "span 1300..2194 overlaps the span 1233..1392 of line 2")


# --- files that are not text, or cannot be read -----------------------------------------------

def binary_file_hapt(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "hapt")
    raw = tmp_path / "hapt" / "RawData"
    (raw / "acc_exp02_user01.txt.gz").unlink()
    path = raw / "acc_exp02_user01.txt"
    path.write_bytes(bytes(range(256)) * 40)
    return _consume("uci_har", tmp_path / "hapt"), path, None, None, "not UTF-8 text"


def binary_activity_labels(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "hapt")
    path = tmp_path / "hapt" / "activity_labels.txt"
    path.write_bytes(b"1 WALKING\n\xff\xfe\x00binary\n")
    return _consume("uci_har", tmp_path / "hapt"), path, None, None, "not UTF-8 text"


def binary_pamap2(tmp_path):
    (tmp_path / "Protocol").mkdir()
    path = tmp_path / "Protocol" / "subject101.dat"
    path.write_bytes(bytes(range(256)) * 40)
    return _consume("pamap2", tmp_path), path, None, None, "not UTF-8 text"


def binary_wisdm(tmp_path):
    path = tmp_path / "WISDM_ar_v1.1_raw.txt"
    path.write_bytes(b"33,Walking,49105962326000,-0.69,12.68,0.50;\n\xff\xfe\x00;\n")
    return _consume("wisdm", tmp_path), path, None, None, "not UTF-8 text"


NOBODY = 65534


def _unreadable(build: Callable[[Path], tuple[Path, Path]], use: Callable[[Path], object]):
    """``use(input)`` run as an unprivileged user on a file it may not open.

    ``build(base)`` writes the input under ``base`` and returns (input, file to lock).
    Root ignores file modes, so the reader runs in a forked child that drops to uid/gid
    ``NOBODY``, in a world-searchable directory under /tmp; the child sends its
    ``InputError`` back through a pipe and the call re-raises it here.
    """
    base = Path(tempfile.mkdtemp(prefix="harqa-eacces-"))
    base.chmod(0o755)
    root, path = build(base)
    path.chmod(0)

    def call():
        try:
            raise _as_nobody(lambda: use(root))
        finally:
            shutil.rmtree(base)
    return call, path, None, None, "cannot read the file (Permission denied)"


def _as_nobody(call: Callable[[], object]) -> BaseException:
    """The exception ``call`` raises in a child process running as uid/gid ``NOBODY``."""
    if os.geteuid() != 0:
        try:
            call()
        except InputError as exc:
            return exc
        return AssertionError("no error")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                call()
                reply = ["none", "no error"]
            except InputError as exc:
                reply = ["input", exc.path, exc.message, exc.line, exc.field]
            except BaseException as exc:  # noqa: BLE001 (reported to the parent)
                reply = ["other", repr(exc)]
            os.write(w, json.dumps(reply).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        reply = json.loads(fh.read() or b'["other", "child died"]')
    os.waitpid(pid, 0)
    if reply[0] != "input":
        return AssertionError(f"expected an InputError, got {reply[1]}")
    path, message, line, field = reply[1:]
    return InputError(path, message, line=line, field=field)


def unreadable_hapt_file(tmp_path):
    def build(base):
        shutil.copytree(SAMPLE, base / "hapt")
        return base / "hapt", base / "hapt" / "RawData" / "gyro_exp03_user02.txt.gz"
    return _unreadable(build, lambda root: list(read("uci_har", root)))


def unreadable_pamap2_file(tmp_path):
    return _unreadable(lambda base: (base, _pamap2(base)), lambda root: list(read("pamap2", root)))


def unreadable_uea_file(tmp_path):
    def build(base):
        path = base / "Toy_TEST.ts"
        path.write_text(ff.ts_text([np.zeros((3, 1))], ["rest"], ["rest"]))
        return base, path
    return _unreadable(build, lambda root: list(read("uea", root, sample_rate_hz=1.0)))


def unreadable_folder(tmp_path):
    """A subject's folder the user may not list: its file must not silently go missing."""
    def build(base):
        ff.write_mhealth(base, RNG, subjects=(2,))
        (base / "more").mkdir()
        ff.write_mhealth(base / "more", RNG, subjects=(3,))
        return base, base / "more"
    call, path, *_ = _unreadable(build, lambda root: list(read("mhealth", root)))
    return call, path, None, None, "cannot read the directory (Permission denied)"


def unreadable_preset_file(tmp_path):
    def build(base):
        path = base / "mine.yaml"
        path.write_text(presets.PRESETS["mhealth"])
        return path, path
    return _unreadable(build, lambda path: presets.load(str(path)))


def binary_preset_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_bytes(b"reader: mhealth\ndescription: \xff\xfe\n")
    return lambda: presets.load(str(path)), path, None, None, "not UTF-8 text"


def binary_spec_file(tmp_path):
    ff.write_tabular(tmp_path, RNG)
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"files: '*.csv'\ndataset: \xff\xfe\n")
    return _consume("tabular", tmp_path, spec=path), path, None, None, "not UTF-8 text"


# --- rates and other numbers of the spec and the presets ------------------------------------

def _spec_rate(rate: object) -> Case:
    def case(tmp_path):
        ff.write_tabular(tmp_path, RNG)
        spec = {k: v for k, v in ff.TABULAR_SPEC.items() if k != "timestamp"}
        return (_consume("tabular", tmp_path, spec={**spec, "sample_rate_hz": rate}),
                Path("<tabular spec>"), None, "sample_rate_hz",
                f"expected a positive number of Hz, found {rate!r}")
    case.__name__ = f"spec_rate_{rate}"
    return case


def _preset_number(setting: str, yaml_value: str, unit: str = "Hz") -> Case:
    def case(tmp_path):
        path = tmp_path / "mine.yaml"
        lines = [line for line in presets.PRESETS["mhealth"].splitlines()
                 if not line.startswith(f"{setting}:")]
        path.write_text("\n".join(lines + [f"{setting}: {yaml_value}"]) + "\n")
        found = repr(yaml.safe_load(yaml_value))
        return (lambda: presets.load(str(path)), path, None, setting,
                f"expected a positive number of {unit}, found {found}")
    case.__name__ = f"preset_{setting}_{yaml_value}"
    return case


def _reader_option(reader: str, option: str, value: float, words: str) -> Case:
    def case(tmp_path):
        expected = WRITERS_29[reader](tmp_path, RNG)
        options = {**expected[0].options, option: value}
        return _consume(reader, tmp_path, **options), tmp_path, None, option, words
    case.__name__ = f"{reader}_{option}_{value}"
    return case


WRITERS_29 = {"capture24": ff.write_capture24_set, "uea": ff.write_uea,
              "pamap2": ff.write_pamap2_set}


CATALOGUE_29 = [
    spec_files_leave_the_input, spec_files_absolute, spec_files_symlink_out,
    inf_cell_mhealth, float32_overflow_hapt, float32_overflow_windows, float32_overflow_pamap2,
    inf_cell_capture24, float32_overflow_tabular, inf_cell_uea, float32_overflow_usc_had,
    float32_overflow_wisdm, binary_wisdm,
    non_integer_span, overlapping_spans, binary_file_hapt, binary_activity_labels, binary_pamap2,
    unreadable_hapt_file, unreadable_pamap2_file, unreadable_uea_file, unreadable_folder,
    unreadable_preset_file,
    binary_preset_file, binary_spec_file,
    _spec_rate(0), _spec_rate(-50), _spec_rate("abc"), _spec_rate(float("nan")),
    _preset_number("sample_rate_hz", ".nan"), _preset_number("sample_rate_hz", ".inf"),
    _preset_number("sample_rate_hz", "-.inf"), _preset_number("sample_rate_hz", "0"),
    _preset_number("shard_s", ".nan", "seconds"), _preset_number("shard_s", "-5", "seconds"),
    _reader_option("capture24", "sample_rate_hz", 0.0, "expected a positive number of Hz"),
    _reader_option("uea", "sample_rate_hz", float("inf"), "expected a positive number of Hz"),
    _reader_option("pamap2", "max_gap_s", float("nan"),
                   "expected a number of seconds, 0 or more"),
]


CATALOGUE = [empty_file, wrong_column_count, wrong_field_count_pamap2, non_numeric_cell,
             truncated_last_line, truncated_last_line_capture24, label_not_in_map,
             annotation_not_in_dictionary, all_nan_channel, nan_gap_too_long,
             acc_gyro_lengths_differ, window_signal_lengths_differ, span_beyond_file_end,
             duplicated_timestamp, backwards_timestamp, backwards_timestamp_tabular,
             corrupt_gzip, missing_mat_field, mat_v73, spec_missing_column, spec_unit_with_period,
             no_matching_files, unknown_class_uea, uea_unit_with_space, *CATALOGUE_29]


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
                       "hhar, mhealth, pamap2, uci_har, usc_had, wisdm"):
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
