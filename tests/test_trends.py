"""Trend methods: the seed's exact behaviour, robust segmentation, batching, params, CLI."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from flows.cli_trends import read_series_csv, render_trends
from generators import synthetic, trends
from generators.trend_methods import TREND_METHODS, estimate_noise
from generators.trend_methods.robust import RobustParams, change_scale, denoise, smoothing_window
from generators.errors import InputError
from generators.registry import UnknownNameError
from generators.types import DIRECTIONS, TrendSegment

HAPT = Path(__file__).parents[2] / "shared" / "data" / "uci-hapt" / "RawData"
METHODS = TREND_METHODS.names()


def seg(t0, t1, v0, v1, d):
    return TrendSegment(t0, t1, v0, v1, d, (v1 - v0) / (t1 - t0))


# --- the seed method, exactly -------------------------------------------------------------

def test_sensorllm_merges_runs_and_shares_boundary_samples():
    got = trends.detect([0, 1, 2, 2, 1, 3], 10.0, method="sensorllm")
    assert got == [seg(0.0, 0.2, 0.0, 2.0, "up"), seg(0.2, 0.3, 2.0, 2.0, "steady"),
                   seg(0.3, 0.4, 2.0, 1.0, "down"), seg(0.4, 0.5, 1.0, 3.0, "up")]


def test_sensorllm_every_difference_counts():
    x = np.array([0.0, 0.1, 0.0, 0.1, 0.0])
    assert [s.direction for s in trends.detect(x, 50.0, "sensorllm")] == ["up", "down", "up", "down"]


# --- invariants of every method -----------------------------------------------------------

def _check_invariants(segs: list[TrendSegment], x: np.ndarray, rate: float) -> None:
    assert segs[0].start_s == 0.0
    assert segs[-1].end_s == pytest.approx((len(x) - 1) / rate)
    for a, b in zip(segs, segs[1:]):
        assert a.end_s == b.start_s and a.end_value == b.start_value
        assert a.direction != b.direction
    for s in segs:
        assert s.direction in DIRECTIONS and s.end_s > s.start_s
        assert s.slope_per_s == pytest.approx((s.end_value - s.start_value) / s.duration_s)
        change = s.end_value - s.start_value
        assert {"up": change > 0, "down": change < 0, "steady": True}[s.direction]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("key", ["0", "1", "2", "3"])
def test_invariants_on_noisy_signals(method, key):
    sig = synthetic.piecewise_linear(11, key, noise_sigma=0.2)
    _check_invariants(trends.detect(sig.values, 50.0, method), sig.values, 50.0)


@pytest.mark.parametrize("method", METHODS)
def test_two_samples_and_too_short(method):
    assert [s.direction for s in trends.detect([1.0, 2.0], 50.0, method)] == ["up"]
    with pytest.raises(ValueError):
        trends.detect([1.0], 50.0, method)


@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_one_by_one_for_mixed_lengths(method):
    rng = np.random.default_rng(3)
    # Rows of one length share a batch; their segment counts differ, so a row's place in
    # the batch's flat arrays differs from its place alone.
    series = [rng.normal(size=n).cumsum() for n in (5, 40, 40, 7, 200, 40, 40, 40, 40, 40)]
    assert trends.detect_batch(series, 50.0, method) == [trends.detect(s, 50.0, method) for s in series]


@pytest.mark.parametrize("method", METHODS)
def test_empty_batch(method):
    assert trends.detect_batch([], 50.0, method) == []


@pytest.mark.parametrize("method", METHODS)
def test_constant_is_one_steady_segment(method):
    assert trends.detect(np.full(30, 2.5), 50.0, method) == [seg(0.0, 0.58, 2.5, 2.5, "steady")]


@pytest.mark.skipif(not HAPT.is_dir(), reason="real HAPT data not available")
@pytest.mark.parametrize("method", METHODS)
def test_invariants_on_real_windows(method):
    acc = np.loadtxt(HAPT / "acc_exp01_user01.txt")[:3000]
    windows = [acc[s:s + n, c] for c in range(3) for s, n in ((0, 64), (500, 128), (1200, 200))]
    for w, segs in zip(windows, trends.detect_batch(windows, 50.0, method)):
        _check_invariants(segs, w, 50.0)


# --- the robust method --------------------------------------------------------------------

def test_robust_is_the_default():
    assert trends.DEFAULT_METHOD == "robust"
    x = synthetic.piecewise_linear(1, "d", noise_sigma=0.1).values
    assert trends.detect(x, 50.0) == trends.detect(x, 50.0, "robust")


def test_robust_recovers_clean_piecewise_linear_shape():
    x = np.concatenate([np.linspace(0, 2, 31), np.full(30, 2.0), np.linspace(2, -1, 31)[1:]])
    segs = trends.detect(x, 50.0)
    assert [s.direction for s in segs] == ["up", "steady", "down"]
    assert [s.end_s for s in segs[:-1]] == pytest.approx([0.6, 1.2], abs=0.041)
    assert segs[0].start_value == pytest.approx(0.0, abs=1e-9)  # lines survive smoothing
    assert segs[-1].end_value == pytest.approx(-1.0, abs=1e-9)


def test_robust_ignores_noise_that_the_seed_method_reports():
    sig = synthetic.piecewise_linear(5, "n", n_segments=(3, 3), noise_sigma=0.1)
    robust = trends.detect(sig.values, 50.0)
    assert len(robust) == 3
    assert [s.direction for s in robust] == [s.direction for s in sig.segments]
    assert len(trends.detect(sig.values, 50.0, "sensorllm")) > 10 * len(robust)


def test_robust_is_scale_and_offset_equivariant():
    x = synthetic.piecewise_linear(2, "s", noise_sigma=0.2).values
    base = trends.detect(x, 50.0)
    moved = trends.detect(1000.0 * x + 5.0, 50.0)
    assert [(s.start_s, s.end_s, s.direction) for s in moved] == \
        [(s.start_s, s.end_s, s.direction) for s in base]
    assert [s.end_value for s in moved] == pytest.approx([1000.0 * s.end_value + 5.0 for s in base])


def test_robust_respects_min_duration():
    x = synthetic.piecewise_linear(4, "m", noise_sigma=0.3).values
    for d in (0.2, 0.5):
        segs = trends.detect(x, 50.0, min_duration_s=d)
        assert min(s.duration_s for s in segs) >= d - 1e-9


def test_robust_steady_threshold_is_relative_to_noise():
    ramp = np.linspace(0.0, 0.3, 100)  # rises 0.3 over 2 s
    noise = synthetic.noisy_constant(0, "r", duration_s=2.0, noise_sigma=0.2).values
    assert [s.direction for s in trends.detect(ramp + noise, 50.0)] == ["steady"]
    assert [s.direction for s in trends.detect(ramp + 0.01 * noise, 50.0)] == ["up"]


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 8, 14, 15, 16, 31, 64, 128])
def test_change_scale_is_the_std_of_the_denoised_change(n):
    """Against the denoiser applied to unit impulses (its matrix, column by column)."""
    weights = np.stack([denoise(e, 50.0) for e in np.eye(n)], axis=1)
    start, end = np.triu_indices(n)  # every pair, zero-length ones included
    want = np.linalg.norm(weights[end] - weights[start], axis=1)
    got = change_scale(start, end, np.full(start.size, n), 50.0)
    assert got == pytest.approx(want, abs=1e-12)
    # a one-segment window's change keeps 0.8-1.5 of the noise: its ends are edge fits
    assert 0.8 < got[(start == 0) & (end == n - 1)][0] < 1.5


@pytest.mark.parametrize("lengths,most", [((5, 10), 0.09), ((10, 40), 0.03), ((40, 201), 0.03)])
def test_robust_calls_white_noise_steady_and_finds_clear_rises(lengths, most):
    """Pure noise rises or falls in few windows (with ``steady_k`` alone, ``steady_z`` =
    0, in 6-20 %); a straight rise of 8 × the noise is still one rise."""
    rng = np.random.default_rng(lengths[0])
    noise = [rng.normal(0.0, 1.0, rng.integers(*lengths)) for _ in range(2000)]
    rises = [np.linspace(0.0, 8.0, n) + rng.normal(0.0, 1.0, n)
             for n in rng.integers(*lengths, size=1000)]

    def moving(windows, **params):
        segs = trends.detect_batch(windows, 50.0, **params)
        return np.mean([any(s.direction != "steady" for s in w) for w in segs])

    assert moving(noise) <= most
    assert moving(noise, steady_z=0.0) >= 0.05
    found = trends.detect_batch(rises, 50.0)
    assert np.mean([[s.direction for s in w] == ["up"] for w in found]) >= 0.97


def test_robust_keeps_a_sharp_step_in_a_five_sample_window():
    """A real HAPT walking window: 1.151 g, then 0.68 g (a Student-t widening of the
    threshold, tried, called this steady)."""
    step = [1.151, 1.151, 0.675, 0.681, 0.681]
    assert [s.direction for s in trends.detect(step, 50.0)] == ["down"]


def test_robust_means_the_same_at_50_and_100_hz():
    sig50 = synthetic.piecewise_linear(8, "r", sample_rate_hz=50.0, noise_sigma=0.05)
    sig100 = synthetic.piecewise_linear(8, "r", sample_rate_hz=100.0, noise_sigma=0.05)
    for sig in (sig50, sig100):
        got = trends.detect(sig.values, sig.sample_rate_hz)
        assert [s.direction for s in got] == [s.direction for s in sig.segments]
        assert synthetic.breakpoints(got) == pytest.approx(sig.breakpoints_s, abs=0.1)


def test_noise_estimate():
    rng = np.random.default_rng(0)
    line = np.linspace(-3, 7, 20000)
    assert estimate_noise(line) == pytest.approx(0.0, abs=1e-9)
    assert estimate_noise(line + 0.5 * rng.standard_normal(20000)) == pytest.approx(0.5, rel=0.05)
    assert estimate_noise(np.ones((3, 2))).tolist() == [0.0, 0.0, 0.0]


def test_estimate_noise_falls_back_to_rms_where_the_mad_is_zero():
    """A mostly flat quantised series: median |Δ²x| is 0, so the RMS of Δ²x counts."""
    spike = np.zeros(21)
    spike[10] = 1.0  # Δ²x: 1, −2, 1 and sixteen zeros
    rms = np.sqrt(6.0 / 19 / 6.0)
    assert estimate_noise(spike) == pytest.approx(rms)
    batch = np.vstack([spike, np.arange(21.0) ** 2])  # second row: Δ²x = 2 everywhere
    assert estimate_noise(batch) == pytest.approx([rms, 1.4826 * 2 / np.sqrt(6.0)])


def test_denoise_cutoff_is_in_hz_and_keeps_lines():
    assert smoothing_window(50.0, 4.0, 2) == 15
    assert smoothing_window(100.0, 4.0, 2) == 27
    assert smoothing_window(10.0, 4.9, 2) == 1  # at Nyquist: no smoothing
    line = np.linspace(1.0, 4.0, 40)
    assert denoise(line, 50.0) == pytest.approx(line)
    assert denoise(line[:5], 50.0) == pytest.approx(line[:5])


def test_trend_params_for_provenance():
    p = trends.trend_params("robust")
    assert p == asdict(RobustParams())
    assert json.loads(json.dumps(p)) == p
    assert trends.trend_params("robust", split_k=3.0)["split_k"] == 3.0
    assert trends.trend_params("sensorllm") == {}
    with pytest.raises(TypeError, match="known"):
        trends.trend_params("robust", nonsense=1)
    with pytest.raises(TypeError):
        trends.detect([1.0, 2.0, 3.0], 50.0, "robust", nonsense=1)
    with pytest.raises(UnknownNameError, match="robust, sensorllm"):
        trends.trend_params("nope")


# --- CLI ----------------------------------------------------------------------------------

def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_json_shape(tmp_path):
    rows = "\n".join(f"2026-01-01T00:00:{i:02d},{i},{10 - i},{5}" for i in range(11))
    path = _csv(tmp_path, "time,a,b,c\n" + rows + "\n")
    out = json.loads(render_trends(path, 10.0, "sensorllm", "json"))
    assert list(out) == ["channels"] and list(out["channels"]) == ["a", "b", "c"]
    assert out["channels"]["a"] == {"segments": [{"start_s": 0.0, "end_s": 1.0, "start_value": 0.0,
                                                  "end_value": 10.0, "direction": "up",
                                                  "slope_per_s": 10.0}]}
    assert [s["direction"] for s in out["channels"]["b"]["segments"]] == ["down"]
    robust = json.loads(render_trends(path, 10.0, "robust", "json"))
    assert [s["direction"] for s in robust["channels"]["c"]["segments"]] == ["steady"]


def test_cli_text(tmp_path):
    path = _csv(tmp_path, "x\n0\n1\n2\n")
    assert render_trends(path, 1.0, "sensorllm", "text") == \
        "x: 1 segment\n  0.00–2.00 s  up      0.000 → 2.000  (+1/s)"


def test_cli_text_shows_values_to_the_precision_of_their_range(tmp_path):
    # the robust method's denoiser leaves float rounding (about 1e-16) on a series at 0
    path = _csv(tmp_path, "x,big\n" + "".join(f"{i / 50},{1000 + i * 37}\n" for i in range(100)))
    text = render_trends(path, 50.0, "robust", "text")
    assert "e-" not in text
    assert "  0.00–1.98 s  up      0.000 → 1.980  (+1/s)" in text
    assert "  0.00–1.98 s  up      1000 → 4663  (+1850/s)" in text


@pytest.mark.parametrize("sep", [";", "\t", "|"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_cli_reads_other_separators_and_a_byte_order_mark(tmp_path, sep, bom):
    rows = ["time,a,b"] + [f"00:00:{i:02d},{i / 2},{(10 - i) / 4}" for i in range(11)]
    comma = json.loads(render_trends(_csv(tmp_path, "\n".join(rows) + "\n"), 10.0, "robust",
                                     "json"))
    other = _csv(tmp_path, bom + "\r\n".join(r.replace(",", sep) for r in rows) + "\r\n")
    assert list(read_series_csv(other)) == ["a", "b"]
    assert json.loads(render_trends(other, 10.0, "robust", "json")) == comma


def test_cli_names_the_separator_when_no_column_is_numeric(tmp_path):
    with pytest.raises(InputError, match=r"separated by ';'; found columns \['name', 'label'\]"):
        read_series_csv(_csv(tmp_path, "name;label\nfoo;bar\nbaz;qux\n"))


def test_cli_refuses_decimal_commas_instead_of_skipping_the_column(tmp_path):
    with pytest.raises(InputError, match="decimal comma") as err:
        read_series_csv(_csv(tmp_path, "t;a;b\nx;1,5;2\ny;-2,25;3\n"))
    assert (err.value.line, err.value.field) == (2, "a")


@pytest.mark.parametrize("text, line, field", [
    ("a,b\n1,2\n3\n", 3, None),               # ragged row
    ("a,b\n1,2\n3,x\n4,5\n", 3, "b"),         # text in a numeric column
    ("a\n1\n\n2\nnan\n", 5, "a"),             # not finite
    ("a\n1\n", None, None),                   # too few rows
    ("name\nfoo\nbar\n", None, None),         # no numeric column
    ("", 1, None),                            # no header
])
def test_cli_bad_csv(tmp_path, text, line, field):
    with pytest.raises(InputError) as err:
        read_series_csv(_csv(tmp_path, text))
    assert err.value.line == line and err.value.field == field
    assert "in.csv" in str(err.value)


def test_cli_bad_arguments(tmp_path):
    path = _csv(tmp_path, "a\n1\n2\n")
    with pytest.raises(InputError, match="robust, sensorllm"):
        render_trends(path, 10.0, "nope", "json")
    with pytest.raises(InputError, match="rate"):
        render_trends(path, 0.0, "robust", "json")
    with pytest.raises(InputError, match="expected text or json, got .yaml."):
        render_trends(path, 10.0, "robust", "yaml")
    with pytest.raises(InputError, match="cannot read"):
        read_series_csv(tmp_path / "missing.csv")


# --- the overall direction ------------------------------------------------------------------

def test_overall_is_steady_when_rises_and_falls_cancel_within_steady_rel_of_the_range():
    up_back = [seg(0.0, 0.5, 0.0, 1.0, "up"), seg(0.5, 1.0, 1.0, 0.05, "down")]
    assert trends.overall_direction(up_back) == "up"  # the bare sign of +0.05
    assert trends.overall_direction(up_back, steady_rel=0.1) == "steady"  # 0.05 < 0.1 × 1.0
    up_most = [seg(0.0, 0.5, 0.0, 1.0, "up"), seg(0.5, 1.0, 1.0, 0.2, "down")]
    assert trends.overall_direction(up_most, steady_rel=0.1) == "up"  # 0.2 ≥ 0.1 × 1.0
    assert trends.overall(up_back, "robust") == "steady"
    assert trends.overall(up_back, "robust", steady_rel=0.01) == "up"
    assert trends.overall(up_back, "sensorllm") == "up"  # the seed states the bare sign


def test_overall_of_a_real_rise_and_return_is_steady_by_robust_and_up_by_the_seed():
    t = np.arange(100) / 50.0
    x = np.where(t < 1.0, t, 2.0 - t) + 0.03 * np.where(t >= 1.0, 1.0, 0.0)  # up 1, down 0.97
    robust = trends.detect(x, 50.0)
    assert [s.direction for s in robust] == ["up", "down"]
    assert trends.overall(robust) == "steady"
    assert trends.overall(trends.detect(x, 50.0, "sensorllm"), "sensorllm") == \
        ("up" if x[-1] > x[0] else "down")


def test_validation_overall_agrees_with_the_generator_on_random_segments():
    from validation.checks._signal import overall

    rng = np.random.default_rng(4)
    for _ in range(500):
        n = int(rng.integers(1, 6))
        values = np.cumsum(rng.normal(0, 1, n + 1))
        dirs = [DIRECTIONS[int(k)] for k in rng.integers(0, 3, n)]
        segs = [seg(i, i + 1, values[i], values[i + 1], d) for i, d in enumerate(dirs)]
        pairs = [(values[i], values[i + 1]) for i in range(n)]
        for rel in (0.0, 0.1, 0.5):
            assert trends.overall_direction(segs, rel) == overall(dirs, pairs, rel)
