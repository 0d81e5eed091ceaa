"""Synthetic ground truth: determinism, truth consistent with the signal, scoring helpers."""

from __future__ import annotations

import numpy as np
import pytest

from generators import synthetic as S
from generators.types import TrendSegment

KEYS = [str(i) for i in range(12)]


def test_seeded_by_seed_and_key_only():
    a = S.piecewise_linear(7, "x", noise_sigma=0.3)
    b = S.piecewise_linear(7, "x", noise_sigma=0.3)
    assert np.array_equal(a.values, b.values) and a.segments == b.segments
    assert not np.array_equal(a.values, S.piecewise_linear(7, "y", noise_sigma=0.3).values)
    assert not np.array_equal(a.values, S.piecewise_linear(8, "x", noise_sigma=0.3).values)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("rate", [50.0, 100.0])
def test_piecewise_linear_truth(key, rate):
    sig = S.piecewise_linear(3, key, sample_rate_hz=rate, noise_sigma=0.0)
    segs = sig.segments
    assert 1 <= len(segs) <= 5
    assert segs[0].start_s == 0.0 and segs[-1].end_s == pytest.approx((sig.values.size - 1) / rate)
    for a, b in zip(segs, segs[1:]):
        assert a.end_s == b.start_s and a.end_value == b.start_value and a.direction != b.direction
    for s in segs:
        assert s.duration_s >= 0.3 - 1e-9
        i0, i1 = round(s.start_s * rate), round(s.end_s * rate)
        assert sig.clean[i0] == pytest.approx(s.start_value) and sig.clean[i1] == pytest.approx(s.end_value)
        change = s.end_value - s.start_value
        if s.direction == "steady":
            assert change == 0.0 and s.slope_per_s == 0.0
        else:
            assert 1.0 <= abs(change) <= 3.0 and np.sign(change) == (1 if s.direction == "up" else -1)
        # Straight between the knots.
        seg = sig.clean[i0:i1 + 1]
        assert seg == pytest.approx(np.linspace(s.start_value, s.end_value, i1 - i0 + 1))
    assert np.array_equal(sig.values, sig.clean)


def test_all_directions_occur():
    dirs = {s.direction for k in KEYS for s in S.piecewise_linear(0, k).segments}
    assert dirs == {"up", "down", "steady"}


def test_noise_level():
    sig = S.noisy_constant(0, "n", duration_s=200.0, level=3.0, noise_sigma=0.3)
    assert sig.segments == (TrendSegment(0.0, 199.98, 3.0, 3.0, "steady", 0.0),)
    assert np.std(sig.values - sig.clean) == pytest.approx(0.3, rel=0.02)


def test_periodic_triangle():
    sig = S.periodic(0, sample_rate_hz=50.0, frequency_hz=1.0, amplitude=2.0, duration_s=2.0)
    assert [(s.start_s, s.end_s, s.direction) for s in sig.segments] == [
        (0.0, 0.5, "up"), (0.5, 1.0, "down"), (1.0, 1.5, "up"), (1.5, 1.98, "down")]
    assert sig.clean[[0, 25, 50, 75]].tolist() == [-2.0, 2.0, -2.0, 2.0]
    assert sig.segments[-1].end_value == pytest.approx(2.0 - 4.0 * 24 / 25)
    assert sig.breakpoints_s.tolist() == [0.5, 1.0, 1.5]


def test_sample_signs_and_direction_accuracy():
    segs = (TrendSegment(0.0, 0.2, 0, 1, "up", 5.0), TrendSegment(0.2, 0.4, 1, 1, "steady", 0.0))
    assert S.sample_signs(segs, 5, 10.0).tolist() == [1, 1, 0, 0, 0]  # boundary goes to the later
    other = (TrendSegment(0.0, 0.1, 0, 1, "up", 10.0), TrendSegment(0.1, 0.4, 1, 0, "down", -3.3))
    assert S.direction_accuracy(segs, other, 5, 10.0) == pytest.approx(1 / 5)
    assert S.direction_accuracy(segs, segs, 5, 10.0) == 1.0


def test_match_breakpoints_is_one_to_one_within_tolerance():
    assert S.match_breakpoints(np.array([1.0, 2.0]), np.array([1.1, 1.12, 2.5]), 0.15) == (1, 2, 1)
    assert S.match_breakpoints(np.array([1.0, 1.2]), np.array([1.1]), 0.15) == (1, 0, 1)
    assert S.match_breakpoints(np.array([1.0, 1.2]), np.array([1.14, 0.9]), 0.15) == (2, 0, 0)
    assert S.match_breakpoints(np.array([]), np.array([1.0]), 0.15) == (0, 1, 0)
    assert S.match_breakpoints(np.array([1.0]), np.array([]), 0.15) == (0, 0, 1)


def test_f1():
    assert S.f1(0, 0, 0) == 1.0
    assert S.f1(1, 1, 0) == pytest.approx(2 / 3)
    assert S.f1(0, 2, 3) == 0.0
