"""The checker's trend segments computed for a whole table at once (``segments_of``, what
``semantic.check_table`` does) are those of each series computed alone, bit for bit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from flows.config import make_config
from generators import dataset, pipeline, text
from generators.readers import uci_har
from generators.trend_methods import TREND_METHODS
from validation import checks, semantic
from validation.checks import Row
from validation.checks._trends import METHODS, ROBUST_DEFAULTS, segments, segments_of


def _same(batched: list, alone: list) -> list[int]:
    """Indices where a batched result differs from the one computed alone (exact floats)."""
    def key(s):
        return s if isinstance(s, checks.Failure) else (s.bounds, s.directions, s.values,
                                                        s.rate, s.overall)
    return [i for i, (a, b) in enumerate(zip(batched, alone)) if key(a) != key(b)]


@pytest.fixture(scope="module")
def hapt_rows(shared_data: Path) -> list[Row]:
    """Every stage-1 and stage-2 row of one real HAPT recording (``uci_har`` preset)."""
    cfg = make_config("uci_har", input=shared_data / "uci-hapt")
    rec = next(iter(uci_har.read(shared_data / "uci-hapt", experiments=[1])))
    table = dataset.items_to_table(pipeline.describe(rec, cfg, text.load_packs()).items, rec,
                                   cfg.trend_params)
    meta = table.select(semantic._META).to_pylist()
    return [Row.from_record(m, s) for m, s in zip(meta, semantic._series(table))]


@pytest.mark.parametrize("method", ["robust", "sensorllm"])
def test_batched_equals_alone_on_a_real_recording(hapt_rows: list[Row], method: str) -> None:
    rows = [dataclasses.replace(r, trend_method=method,
                                trend_params=r.trend_params if method == "robust" else {})
            for r in hapt_rows]
    wanted = [(r, k) for r in rows for k in checks.trend_channels(r)]
    assert {r.qa_type for r, _ in wanted} >= {"activity", "trend_summary", "trend_analysis"}
    assert any(k > 0 for _, k in wanted)  # stage 2: every channel of the window
    batched = segments_of(wanted)
    alone = [segments(r, k) for r, k in wanted]
    assert not _same(batched, alone)
    # and check_table hands every row the batched segments its check reads
    got = semantic._with_trends(rows)
    assert all(r.trends is not None and set(r.trends) == set(checks.trend_channels(r))
               for r in got if tuple(checks.trend_channels(r)))


def _edge_series() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    out = []
    for n in (2, 3, 4, 5, 9, 10, 33, 128):
        out += [np.full(n, 0.25), np.zeros(n), np.linspace(-1, 1, n),
                1.0 + 1e-9 * rng.normal(size=n),              # tiny noise, no NaN
                np.round(np.cumsum(rng.normal(0, 0.05, n)) * 64) / 64,  # quantised walk
                np.sin(np.arange(n) / 3.0) + 0.01 * rng.normal(size=n)]
    return [x.astype(np.float32) for x in out]


@pytest.mark.parametrize("method", ["robust", "sensorllm"])
@pytest.mark.parametrize("rate", [50.0, 20.0, 5.0])
def test_batched_equals_alone_on_edge_cases(method: str, rate: float) -> None:
    """Constant, linear, short (2 samples up), tiny-noise and quantised series of mixed
    lengths in one batch, some twice, some with other parameters; a 1-sample series and an
    unknown parameter fail alike."""
    params = dict(ROBUST_DEFAULTS) if method == "robust" else {}
    rows = [Row("r", "trend_summary", "", "", x[None, :], rate, ("a",), ("g",), ("",),
                ("acc",), ("",), "WALKING", None, None, "trend_summary/x", method, params)
            for x in _edge_series()]
    rows += rows[::5]  # the same series again
    if method == "robust":
        rows += [dataclasses.replace(r, trend_params={**params, "steady_z": 2.0,
                                                      "min_duration_s": 0.5})
                 for r in rows[::3]]
        rows.append(dataclasses.replace(rows[0], trend_params={"bogus": 1.0}))
    rows.append(dataclasses.replace(rows[0], series=np.zeros((1, 1), np.float32)))
    wanted = [(r, 0) for r in rows]
    batched = segments_of(wanted)
    alone = [segments(r, 0) for r in rows]
    assert not _same(batched, alone)
    assert isinstance(batched[-1], checks.Failure)


def test_every_trend_method_has_an_independent_check() -> None:
    """Rows name their trend method: the checker re-implements each generator method
    (``_trends.METHODS``), and a row naming another is a ``trend.method`` failure."""
    assert sorted(METHODS) == TREND_METHODS.names()
    row = Row("r", "trend_summary", "", "", np.zeros((1, 5), np.float32), 50.0, ("a",),
              ("g",), ("",), ("acc",), ("",), "WALKING", None, None, "trend_summary/x",
              "nope", {})
    assert segments_of([(row, 0)]) == [
        checks.Failure("trend.method", "no independent check for trend method 'nope'")]
