"""Writers of small files in each source format's documented layout, from known signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from generators.readers.capture24 import scheme_labels
from generators.readers.mhealth import CHANNELS as MHEALTH_CHANNELS
from generators.readers.pamap2 import layout as pamap2_layout

FMT = "%.6f"  # multiples of 1/64 print exactly with 6 decimals


@dataclass
class Expected:
    """What a reader must yield for one written recording."""

    recording_id: str
    subject: str
    sample_rate_hz: float
    values: np.ndarray            # float32, samples × channels
    labels: np.ndarray            # int32
    channels: list[str]
    units: list[str]
    options: dict = field(default_factory=dict)


def dyadic(rng: np.random.Generator, shape: tuple[int, ...], scale: int = 4000) -> np.ndarray:
    """Random multiples of 1/64: exact in float32 and in 6-decimal text."""
    return rng.integers(-scale, scale, size=shape) / 64.0


def _write_rows(path: Path, table: np.ndarray, sep: str, int_columns: tuple[int, ...] = ()) -> None:
    frame = pd.DataFrame(table)
    for c in int_columns:
        frame[c] = frame[c].astype("Int64")
    frame.to_csv(path, sep=sep, header=False, index=False, float_format=FMT, na_rep="NaN")


# --- MHealth -------------------------------------------------------------------------------

MHEALTH_UNITS = ["m/s²"] * 3 + ["mV"] * 2 + ["m/s²"] * 3 + ["deg/s"] * 3 + ["AU"] * 3 \
    + ["m/s²"] * 3 + ["deg/s"] * 3 + ["AU"] * 3


def mhealth_table(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """A 24-column MHealth table: 23 signal columns then the label."""
    return np.column_stack([dyadic(rng, (len(labels), 23)), labels])


def write_mhealth(root: Path, rng: np.random.Generator, subjects=(1, 2)) -> list[Expected]:
    """``mHealth_subject<N>.log`` files, tab-separated, labels 0 (null) and 1–12."""
    out = []
    for s in subjects:
        labels = np.repeat([0, 1, 4, 0, 12], [5, 20, 20, 5, 10]).astype(np.int32)
        table = mhealth_table(rng, labels)
        _write_rows(root / f"mHealth_subject{s}.log", table, "\t", int_columns=(23,))
        out.append(Expected(f"subject{s}", str(s), 50.0, table[:, :23].astype(np.float32),
                            np.where(labels == 0, -1, labels).astype(np.int32),
                            [c.name for c in MHEALTH_CHANNELS], MHEALTH_UNITS))
    return out


# --- PAMAP2 --------------------------------------------------------------------------------

def pamap2_table(rng: np.random.Generator, labels: np.ndarray, t0: float = 5.0) -> np.ndarray:
    """A 54-column PAMAP2 table at 100 Hz: heart rate every 10th row, NaN between."""
    n = len(labels)
    table = dyadic(rng, (n, 54))
    table[:, 0] = t0 + np.arange(n) / 100.0
    table[:, 1] = labels
    heart = np.full(n, np.nan)
    heart[::10] = 100 + np.arange(len(heart[::10]))
    table[:, 2] = heart
    return table


def pamap2_columns() -> tuple[list[int], list[str], list[str]]:
    """0-based columns, names and units of the reader's 27 default channels."""
    columns, channels = pamap2_layout(acc6g=False)
    return columns, [c.name for c in channels], [c.unit for c in channels]


def write_pamap2(root: Path, table: np.ndarray, folder: str = "Protocol", subject: int = 101) -> Path:
    """``<folder>/subject<N>.dat``, space-separated, NaN written as ``NaN``."""
    (root / folder).mkdir(parents=True, exist_ok=True)
    path = root / folder / f"subject{subject}.dat"
    _write_rows(path, table, " ", int_columns=(1,))
    return path


def write_pamap2_set(root: Path, rng: np.random.Generator) -> list[Expected]:
    """Two protocol subjects and one optional file, without gaps."""
    columns, names, units = pamap2_columns()
    out = []
    for folder, subject in (("Protocol", 101), ("Protocol", 102), ("Optional", 101)):
        labels = np.repeat([0, 1, 24, 0], [10, 30, 30, 10]).astype(np.int32)
        table = pamap2_table(rng, labels)
        write_pamap2(root, table, folder, subject)
        out.append(Expected(f"{folder.lower()}_subject{subject}", str(subject), 100.0,
                            table[:, columns].astype(np.float32),
                            np.where(labels == 0, -1, labels).astype(np.int32), names, units))
    return out


# --- USC-HAD -------------------------------------------------------------------------------

def write_usc_had_trial(root: Path, subject: int, activity: int, trial: int,
                        readings: np.ndarray, field_name: str = "sensor_readings") -> Path:
    """``Subject<N>/a<m>t<n>.mat`` with USC-HAD's fields (``field_name`` holds the readings)."""
    folder = root / f"Subject{subject}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"a{activity}t{trial}.mat"
    scipy.io.savemat(path, {
        "title": "USC Human Motion Database", "version": "1.0", "date": "2010-03-01",
        "subject": str(subject), "age": "25", "height": "170cm", "weight": "65kg",
        "activity": "walking forward", "activity_number": str(activity), "trial": str(trial),
        "sensor_location": "front-right-hip", "sensor_orientation": "+X down",
        field_name: readings,
    })
    return path


def write_usc_had(root: Path, rng: np.random.Generator) -> list[Expected]:
    """Three trials of two subjects; one uses a variant field name (``Sensor_Readings``)."""
    out = []
    for subject, activity, trial, name in ((1, 1, 1, "sensor_readings"), (1, 12, 5, "sensor_readings"),
                                           (13, 7, 2, "Sensor_Readings")):
        readings = dyadic(rng, (40 + activity, 6))
        write_usc_had_trial(root, subject, activity, trial, readings, name)
        out.append(Expected(f"subject{subject}_a{activity}t{trial}", str(subject), 100.0,
                            readings.astype(np.float32),
                            np.full(len(readings), activity, dtype=np.int32),
                            [f"right_hip_{m}_{a}" for m in ("acc", "gyro") for a in "xyz"],
                            ["g"] * 3 + ["deg/s"] * 3))
    return out


# --- Capture-24 ----------------------------------------------------------------------------

CAPTURE24_START = pd.Timestamp("2016-11-13 02:18:00")


def capture24_frame(xyz: np.ndarray, annotations: list[str], start: pd.Timestamp = CAPTURE24_START,
                    offset: int = 0, rate_hz: float = 100.0) -> pd.DataFrame:
    """Rows ``time,x,y,z,annotation`` for samples ``offset…`` of a 100 Hz recording."""
    times = start + pd.to_timedelta((offset + np.arange(len(xyz))) * (1e9 / rate_hz), unit="ns")
    return pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M:%S.%f"), "x": xyz[:, 0],
                         "y": xyz[:, 1], "z": xyz[:, 2], "annotation": annotations})


def write_capture24(path: Path, xyz: np.ndarray, annotations: list[str]) -> Path:
    """A gzipped Capture-24 file; empty annotations written as empty cells."""
    capture24_frame(xyz, annotations).to_csv(path, index=False, float_format=FMT,
                                             compression="gzip")
    return path


SLEEP = "7030 sleeping;MET 0.95"
OFFICE = ("occupation;office and administrative support;11580 office/computer work general;"
          "MET 1.5")


def write_capture24_set(root: Path, rng: np.random.Generator) -> list[Expected]:
    """Two participants with sleep, office work and unannotated stretches."""
    lookup, _ = scheme_labels()
    out = []
    for participant in ("P001", "P101"):
        annotations = [SLEEP] * 30 + [""] * 20 + [OFFICE] * 25
        xyz = dyadic(rng, (len(annotations), 3), scale=200)
        write_capture24(root / f"{participant}.csv.gz", xyz, annotations)
        labels = np.array([lookup[a] if a else -1 for a in annotations], dtype=np.int32)
        out.append(Expected(participant, participant, 100.0, xyz.astype(np.float32), labels,
                            ["wrist_acc_x", "wrist_acc_y", "wrist_acc_z"], ["g"] * 3))
    return out


# --- UCI-HAR v1 windows --------------------------------------------------------------------

UCI_SIGNALS = ("body_acc", "body_gyro", "total_acc")


def write_uci_har_windows(root: Path, rng: np.random.Generator) -> list[Expected]:
    """``train|test/Inertial Signals/<signal>_<split>.txt`` plus ``y_`` and ``subject_`` files."""
    out = []
    for split, subjects, labels in (("train", [1, 1, 3], [5, 5, 1]), ("test", [2, 2], [6, 2])):
        folder = root / split / "Inertial Signals"
        folder.mkdir(parents=True)
        data = {}
        for signal in UCI_SIGNALS:
            for axis in "xyz":
                data[signal, axis] = dyadic(rng, (len(labels), 128), scale=64)
                _write_rows(folder / f"{signal}_{axis}_{split}.txt", data[signal, axis], " ")
        np.savetxt(root / split / f"y_{split}.txt", labels, fmt="%d")
        np.savetxt(root / split / f"subject_{split}.txt", subjects, fmt="%d")
        for i, (subject, label) in enumerate(zip(subjects, labels)):
            values = np.column_stack([data[s, a][i] for s in UCI_SIGNALS for a in "xyz"])
            out.append(Expected(
                f"{split}-{i + 1:05d}", str(subject), 50.0, values.astype(np.float32),
                np.full(128, label, dtype=np.int32),
                [f"waist_{m}_{a}" for m in ("body_acc", "gyro", "total_acc") for a in "xyz"],
                ["g"] * 3 + ["rad/s"] * 3 + ["g"] * 3))
    return out


# --- UEA .ts -------------------------------------------------------------------------------

def ts_text(cases: list[np.ndarray], labels: list[str], classes: list[str], name: str = "Toy",
            dimensions: int | None = None) -> str:
    """A ``.ts`` file: comment, header, then one ``dim:dim:…:label`` line per case."""
    dims = cases[0].shape[1] if dimensions is None else dimensions
    head = [f"# toy problem written by the tests", f"@problemName {name}", "@timeStamps false",
            "@missing false", "@univariate false", f"@dimensions {dims}", "@equalLength true",
            f"@seriesLength {len(cases[0])}", f"@classLabel true {' '.join(classes)}", "@data"]
    body = [":".join(",".join(f"{v:.6f}" for v in case[:, d]) for d in range(case.shape[1]))
            + f":{label}" for case, label in zip(cases, labels)]
    return "\n".join(head + body) + "\n"


def write_uea(root: Path, rng: np.random.Generator) -> list[Expected]:
    """``Toy_TRAIN.ts`` with three 2-dimensional cases at 20 Hz (rate passed as option)."""
    classes = ["rest", "move"]
    cases = [dyadic(rng, (12, 2)) for _ in range(3)]
    labels = ["move", "rest", "move"]
    (root / "Toy_TRAIN.ts").write_text(ts_text(cases, labels, classes), encoding="utf-8")
    return [Expected(f"Toy_TRAIN-{i + 1:04d}", "Toy_TRAIN", 20.0, c.astype(np.float32),
                     np.full(12, classes.index(lab) + 1, dtype=np.int32),
                     ["wrist_acc_x", "wrist_acc_y"], ["g", "g"],
                     {"sample_rate_hz": 20.0, "channels": ["wrist_acc_x", "wrist_acc_y"],
                      "units": ["g", "g"]})
            for i, (c, lab) in enumerate(zip(cases, labels))]


# --- tabular -------------------------------------------------------------------------------

TABULAR_SPEC = {
    "files": "*.csv",
    "dataset": "toy",
    "timestamp": {"column": "t_ms", "unit": "ms"},
    "channels": [{"column": "ax", "name": "left_wrist_acc_x", "unit": "m/s²"},
                 {"column": "gx", "name": "left_wrist_gyro_x", "unit": "deg/s"}],
    "label": {"column": "activity", "names": ["walking", "sitting"]},
    "subject": {"column": "user"},
}


def write_tabular(root: Path, rng: np.random.Generator) -> list[Expected]:
    """``day1.csv`` with two interleaved users at 25 Hz, an extra column and named labels."""
    n = 40
    user = np.array(["u1", "u2"] * (n // 2))
    activity = np.array((["walking"] * 10 + ["", "sitting"] * 5) * 2)
    ax, gx = dyadic(rng, (n,)), dyadic(rng, (n,))
    t_ms = np.where(user == "u1", 0, 1000) + (np.arange(n) // 2) * 40
    frame = pd.DataFrame({"user": user, "t_ms": t_ms, "ax": ax, "note": "x", "gx": gx,
                          "activity": activity})
    frame.to_csv(root / "day1.csv", index=False, float_format=FMT)
    ids = {"walking": 1, "sitting": 2, "": -1}
    out = []
    for u in ("u1", "u2"):
        rows = user == u
        out.append(Expected(f"day1-{u}", u, 25.0,
                            np.column_stack([ax[rows], gx[rows]]).astype(np.float32),
                            np.array([ids[a] for a in activity[rows]], dtype=np.int32),
                            ["left_wrist_acc_x", "left_wrist_gyro_x"], ["m/s²", "deg/s"],
                            {"spec": TABULAR_SPEC}))
    return out


# --- WISDM v1.1 raw ------------------------------------------------------------------------

def write_wisdm(root: Path, rng: np.random.Generator) -> list[Expected]:
    """``WISDM_ar_v1.1_raw.txt``: users 33 and 7, one session each on an exact 50 ms clock
    (in nanoseconds of uptime), ``;`` after every record, two records on one line."""
    from generators.readers.wisdm import ACTIVITIES, CHANNELS

    out, records = [], []
    for user, t0, acts in (("33", 49_105_962_326_000, ("Walking", "Jogging")),
                           ("7", 1_000_000_000, ("Sitting", "Standing"))):
        n = 60
        xyz = dyadic(rng, (n, 3))
        names = np.repeat(acts, n // 2)
        for k in range(n):
            records.append(f"{user},{names[k]},{t0 + k * 50_000_000},"
                           + ",".join(FMT % v for v in xyz[k]) + ";")
        out.append(Expected(f"user{user}-session1", user, 20.0, xyz.astype(np.float32),
                            np.array([ACTIVITIES.index(a) + 1 for a in names], dtype=np.int32),
                            [c.name for c in CHANNELS], ["m/s²"] * 3))
    records[10:12] = [records[10] + records[11]]
    (root / "WISDM_ar_v1.1_raw.txt").write_text("\n".join(records) + "\n")
    return out


# --- every class of a preset, by its official name -----------------------------------------

HAPT_ACTIVITIES = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING",
                   "LAYING", "STAND_TO_SIT", "SIT_TO_STAND", "SIT_TO_LIE", "LIE_TO_SIT",
                   "STAND_TO_LIE", "LIE_TO_STAND")
"""``activity_labels.txt`` of HAPT (UCI-HAR v2.1), ids 1–12 in order."""


def class_labels(classes: tuple[int, ...], run: int) -> np.ndarray:
    """One run of ``run`` samples per class, in order, after a short unlabelled (0) lead-in."""
    return np.concatenate([np.zeros(7, dtype=np.int32),
                           np.repeat(np.asarray(classes, dtype=np.int32), run)])


def write_hapt(root: Path, rng: np.random.Generator, recordings: dict[tuple[int, int], np.ndarray]
               ) -> None:
    """HAPT raw layout: ``RawData/{acc,gyro}_expXX_userYY.txt``, ``labels.txt`` spans
    (inclusive, 1-based) of each run of a non-zero label, ``activity_labels.txt``."""
    raw = root / "RawData"
    raw.mkdir(parents=True)
    spans = []
    for (exp, user), labels in recordings.items():
        for kind in ("acc", "gyro"):
            _write_rows(raw / f"{kind}_exp{exp:02d}_user{user:02d}.txt",
                        dyadic(rng, (len(labels), 3), scale=128), " ")
        edges = np.flatnonzero(np.diff(np.r_[0, labels, 0])) + 1
        spans += [f"{exp} {user} {labels[a - 1]} {a} {b - 1}"
                  for a, b in zip(edges[:-1], edges[1:]) if labels[a - 1]]
    (raw / "labels.txt").write_text("\n".join(spans) + "\n")
    (root / "activity_labels.txt").write_text(
        "".join(f"{i} {name}\n" for i, name in enumerate(HAPT_ACTIVITIES, start=1)))


def write_every_class(reader: str, classes: tuple[int, ...], run: int, root: Path,
                      rng: np.random.Generator, subjects: tuple[str, str]) -> None:
    """Files in ``reader``'s layout where each of two subjects performs every class.

    Each class is one run of ``run`` samples at the source rate; ``subjects`` are the
    subject ids as the format writes them (``"1"``, ``"105"``, ``"P101"``…).
    """
    labels = class_labels(classes, run)
    if reader == "mhealth":
        for s in subjects:
            _write_rows(root / f"mHealth_subject{s}.log", mhealth_table(rng, labels), "\t",
                        int_columns=(23,))
    elif reader == "pamap2":
        for s in subjects:
            write_pamap2(root, pamap2_table(rng, labels), "Protocol", int(s))
    elif reader == "usc_had":
        for s in subjects:
            for c in classes:
                write_usc_had_trial(root, int(s), c, 1, dyadic(rng, (run, 6), scale=128))
    elif reader == "capture24":
        lookup, _ = scheme_labels()
        first = {}
        for annotation, c in sorted(lookup.items()):
            first.setdefault(c, annotation)
        annotations = [first[c] if c else "" for c in labels]
        for s in subjects:
            write_capture24(root / f"{s}.csv.gz", dyadic(rng, (len(labels), 3), scale=128),
                            annotations)
    elif reader == "uci_har":
        write_hapt(root, rng, {(k, int(s)): labels for k, s in enumerate(subjects, start=1)})
    elif reader == "wisdm":
        from generators.readers.wisdm import ACTIVITIES

        acts, records = labels[labels > 0], []  # WISDM has no null class
        for s in subjects:
            xyz = dyadic(rng, (len(acts), 3))
            records += [f"{s},{ACTIVITIES[c - 1]},{1_000_000_000 + k * 50_000_000},"
                        + ",".join(FMT % v for v in xyz[k]) + ";" for k, c in enumerate(acts)]
        (root / "WISDM_ar_v1.1_raw.txt").write_text("\n".join(records) + "\n")
    elif reader == "hhar":
        from generators.readers.hhar import ACTIVITIES

        rows = [f"{k},{1_424_696_633_908 + k * 20},{1_424_696_633_908_000_000 + k * 20_000_000},"
                + ",".join(FMT % v for v in xyz) + f",{s},nexus4,nexus4_1,"
                + (ACTIVITIES[c - 1] if c else "null")
                for s in subjects
                for k, (c, xyz) in enumerate(zip(labels, dyadic(rng, (len(labels), 3))))]
        (root / "Phones_accelerometer.csv").write_text(
            HHAR_HEADER + "\n" + "\n".join(rows) + "\n")
    else:
        raise ValueError(f"no every-class writer for reader {reader!r}")


# --- HHAR ----------------------------------------------------------------------------------

HHAR_HEADER = "Index,Arrival_Time,Creation_Time,x,y,z,User,Model,Device,gt"


def write_hhar(root: Path, rng: np.random.Generator) -> list[Expected]:
    """``Phones_accelerometer.csv``: users a and b on device nexus4_1, an exact 20 ms clock
    (Creation_Time in ns), their rows interleaved, ``null`` where no activity was going on."""
    from generators.readers.hhar import ACTIVITIES

    n, out, rows = 60, [], []
    gt = np.array(["null"] * 5 + ["walk"] * 30 + ["stairsup"] * 25)
    for user, t0 in (("a", 1_424_696_633_908_000_000), ("b", 27_920_678_471_000)):
        xyz = dyadic(rng, (n, 3))
        for k in range(n):
            rows.append((k, f"{t0 // 1_000_000 + k * 20},{t0 + k * 20_000_000},"
                            + ",".join(FMT % v for v in xyz[k]) + f",{user},nexus4,nexus4_1,{gt[k]}"))
        out.append(Expected(f"Phones_accelerometer-{user}-nexus4_1-session1", user, 50.0,
                            xyz.astype(np.float32),
                            np.array([ACTIVITIES.index(g) + 1 if g != "null" else -1 for g in gt],
                                     dtype=np.int32), [f"waist_acc_{a}" for a in "xyz"],
                            ["m/s²"] * 3))
    rows.sort(key=lambda r: r[0])  # interleaved, as devices logged side by side
    (root / "Phones_accelerometer.csv").write_text(
        HHAR_HEADER + "\n" + "".join(f"{i},{r}\n" for i, (_, r) in enumerate(rows)))
    return out
