"""The checks' own trend segmentation equals the generator's; every check passes true rows
and rejects corrupted ones."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pyarrow as pa
import pytest

from generators import dataset, pipeline, text, trends
from generators.config import BuildConfig
from generators.schema import QA_SCHEMA
from generators.trend_methods.robust import RobustParams
from validation import semantic
from validation.checks import CHECKS, Row
from validation.checks._read import Reader, packs
from validation.checks._trends import ROBUST_DEFAULTS, _Lines, segments

RATE = 50.0


def _hapt_windows(n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` windows of the embedded HAPT recordings: random channel, start and length
    (2 to 600 samples), as float32 like a stored row."""
    rng = np.random.default_rng(seed)
    recs = list(pipeline.recordings(BuildConfig()))
    out = []
    for k in range(n):
        values = recs[k % len(recs)].values
        size = int(rng.integers(2, 600)) if k % 10 else int(rng.integers(2, 40))
        start = int(rng.integers(0, values.shape[0] - size))
        out.append(values[start:start + size, int(rng.integers(values.shape[1]))])
    return out


def _row(x: np.ndarray, method: str, rate: float = RATE) -> Row:
    params = trends.trend_params(method)
    return Row("r", "trend_summary", "", "", x[None, :], rate, ("a",), ("g",), ("",), ("acc",),
               ("",), "WALKING", None, None, "trend_summary/x", method, params)


def _quantised_walks(n: int) -> list[np.ndarray]:
    """Random walks on a 1/64 grid (like raw accelerometer counts): many exact ties."""
    rng = np.random.default_rng(5)
    return [(np.round(np.cumsum(rng.normal(0, 0.02, int(rng.integers(10, 800)))) * 64) / 64
             ).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize("method,rate,kind", [
    ("robust", RATE, "hapt"), ("sensorllm", RATE, "hapt"),
    ("robust", 25.0, "quantised"), ("robust", 100.0, "quantised"),
])
def test_segments_equal_the_generators(method: str, rate: float, kind: str) -> None:
    """2 000 real HAPT windows (plus constant and stepped series), or 300 quantised walks
    at other rates: the same boundaries, directions, overall direction and (to float
    rounding) values as ``generators.trends``."""
    if kind == "hapt":
        series = _hapt_windows(2000) + [np.zeros(50, np.float32), np.ones(3, np.float32),
                                       np.repeat(np.arange(8, dtype=np.float32), 25)]
    else:
        series = _quantised_walks(300)
    theirs = trends.detect_batch(series, rate, method)
    differ = []
    for k, (x, want) in enumerate(zip(series, theirs)):
        got = segments(_row(x, method, rate), 0)
        bounds = tuple((round(s.start_s * rate), round(s.end_s * rate)) for s in want)
        if (got.bounds, got.directions) != (bounds, tuple(s.direction for s in want)):
            differ.append(k)
        elif not np.allclose(got.values, [(s.start_value, s.end_value) for s in want],
                             rtol=0, atol=1e-9):
            differ.append(k)
        elif got.overall != trends.overall(want, method):
            differ.append(k)
    assert not differ, f"{len(differ)} of {len(series)} windows differ, first {differ[:5]}"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 9, 10, 77])
def test_line_fit_equals_numpy(n: int) -> None:
    """The checks' prefix-sum line fit gives numpy's squared error (to rounding), quantised
    and constant series included."""
    rng = np.random.default_rng(n)
    for x in (rng.normal(size=n), np.round(rng.normal(size=n)), np.full(n, 0.1)):
        t = np.arange(n, dtype=np.float64)
        a, b = np.array([0, n // 3]), np.array([n - 1, n - 1])
        for lo, hi, got in zip(a, b, _Lines(x[None]).sse(0, a, b)):
            seg, tt = x[lo:hi + 1], t[lo:hi + 1]
            fit = np.polyval(np.polyfit(tt, seg, 1), tt) if seg.size > 1 else seg
            assert got == pytest.approx(float(((seg - fit) ** 2).sum()), abs=1e-9)


def test_robust_defaults_are_the_documented_ones() -> None:
    # but steady_z: rows whose provenance omits it predate it and were judged without it
    assert trends.trend_params("robust") == {**ROBUST_DEFAULTS,
                                             "steady_z": RobustParams.steady_z}
    assert ROBUST_DEFAULTS["steady_z"] == 0.0


def test_rows_without_steady_z_are_checked_by_the_rule_they_were_written_with() -> None:
    """White noise: windows whose one change the newer rule calls steady stay rises or
    falls for a row whose provenance predates ``steady_z``."""
    rng = np.random.default_rng(3)
    windows = [rng.normal(0, 1, int(rng.integers(5, 40))).astype(np.float32)
               for _ in range(400)]
    old = {k: v for k, v in trends.trend_params("robust").items() if k != "steady_z"}
    changed = 0
    for x in windows:
        before = tuple(s.direction for s in trends.detect(x.astype(np.float64), RATE,
                                                          steady_z=0.0))
        now = tuple(s.direction for s in trends.detect(x.astype(np.float64), RATE))
        row = _row(x, "robust")
        assert segments(row, 0).directions == now
        assert segments(dataclasses.replace(row, trend_params=old), 0).directions == before
        changed += before != now
    assert changed >= 10  # the two rules do differ on these windows


def test_known_signal_segments_exactly() -> None:
    """Rise 2 s, hold 2 s, fall 2 s at 50 Hz: three segments meeting at the corners."""
    x = np.concatenate([np.linspace(0, 1, 101), np.ones(99), np.linspace(1, 0, 101)])
    got = segments(_row(x.astype(np.float32), "robust"), 0)
    assert got.directions == ("up", "steady", "down")
    assert [round(a / RATE, 1) for a, _ in got.bounds] == [0.0, 2.0, 4.0]


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict]]:
    """Up to 12 generated rows per QA type (robust method) from two embedded recordings."""
    cfg = BuildConfig()
    out: dict[str, list[dict]] = {}
    for rec in list(pipeline.recordings(cfg))[:2]:
        items = pipeline.describe(rec, cfg, text.load_packs()).items
        for r in dataset.items_to_table(items, rec, cfg.trend_params).to_pylist():
            if len(out.setdefault(r["qa_type"], [])) < 12:
                out[r["qa_type"]].append(r)
    return out


def _reasons(rec: dict) -> str:
    _, bad = semantic.check_table(pa.Table.from_pylist([rec], schema=QA_SCHEMA))
    return bad["reason"][0].as_py() if bad.num_rows else ""


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\d.]|\w)")


def _corrupt(rec: dict) -> dict | None:
    """A wrong row: the activity label swapped, a marked option moved, or a number in the
    text (question for activity rows) off by far more than its rounding."""
    field = "question" if rec["qa_type"] == "activity" else "answer"
    facts = json.loads(rec["facts"])
    if rec["qa_type"] == "activity":
        return {**rec, "answer": rec["answer"].replace(
            facts["activity"], "lying" if facts["activity"] != "lying" else "sitting")}
    if rec["qa_type"] == "transition":
        return {**rec, "answer": rec["answer"].replace(facts["first"], facts["second"], 1)}
    if rec["qa_type"] == "multiple_choice":
        other = next(o["letter"] for o in facts["options"] if o["letter"] != facts["answer_letter"])
        m = re.search(rf"(?<!\w){facts['answer_letter']}(?!\w)", rec["answer"])
        return {**rec, "answer": rec["answer"][:m.start()] + other + rec["answer"][m.end():]}
    hits = list(_NUMBER.finditer(rec[field]))
    if not hits:
        return None
    m = hits[-1]
    token = m.group()
    decimals = len(token.split(".")[1]) if "." in token else 0
    new = f"{float(token) + 7:.{decimals}f}"
    return {**rec, field: rec[field][:m.start()] + new + rec[field][m.end():]}


@pytest.mark.parametrize("qa_type", CHECKS.names())
def test_check_passes_true_rows_and_rejects_corrupted(rows: dict, qa_type: str) -> None:
    recs = rows.get(qa_type, [])
    assert recs, f"no {qa_type} rows generated"
    assert [r["answer"] for r in recs if _reasons(r)] == []
    corrupted = [c for c in map(_corrupt, recs) if c is not None]
    assert corrupted, f"nothing to corrupt in {qa_type} rows"
    missed = [(c["question"][-200:], c["answer"]) for c in corrupted if not _reasons(c)]
    assert not missed, missed[:2]


def test_loop_reads_numbers_with_a_unit_or_suffix() -> None:
    """A loop item like ``0.02s`` or ``-0.01 rad/s`` is read whole, not cut before its
    suffix (the loop group is atomic, so a cut could not be undone)."""
    c = Reader(packs()).compiler("multiple_choice")
    block = ("{% for o in options %}{{ o.letter }}) {{ pick('show', o.letter, v=o.value) }}\n"
             "{% endfor %}")
    source = "Q?\n" + block + "Pick one."
    times = c.read(source, "Q?\nA) 1.96s\nB) 0.02s\nPick one.")["options"][0]
    assert [(o["o.letter"], str(o["v"][0])) for o in times] == [(["A"], "1.96"), (["B"], "0.02")]
    values = c.read(source, "Q?\nA) -0.01 rad/s\nB) 0.016 rad/s\nPick one.")["options"][0]
    assert [o["v@unit"] for o in values] == [["rad/s"], ["rad/s"]]
