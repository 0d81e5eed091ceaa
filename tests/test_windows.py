"""Windowing: runs, seeded stage-1 tiling, strided stage-2, transitions, no split leakage."""

from __future__ import annotations

import numpy as np
import pytest

from generators import windows
from generators.config import BuildConfig
from generators.pipeline import cut, recordings
from generators.seeding import stable_rng
from generators.types import Channel, Recording


def _rec(labels: list[int], rid: str = "r1", subject: str = "1") -> Recording:
    n = len(labels)
    return Recording("toy", rid, subject, 50.0, (Channel("c", "waist", "acc", "x", "g"),),
                     np.arange(n, dtype=np.float32)[:, None], np.array(labels, dtype=np.int32),
                     {1: "A", 2: "B", 3: "C"})


def test_activity_runs_skip_unlabelled_and_unkept():
    labels = [-1, 1, 1, 2, 2, 2, -1, 1, 3]
    assert windows.activity_runs(np.array(labels)) == [(1, 3, 1), (3, 6, 2), (7, 8, 1), (8, 9, 3)]
    assert windows.activity_runs(np.array(labels), keep=[2]) == [(3, 6, 2)]


@pytest.mark.parametrize("total", [5, 6, 9, 10, 57, 200, 1000])
def test_random_lengths_tile_exactly_within_bounds(total):
    lengths = windows.random_lengths(total, 5, 20, stable_rng(3, total))
    assert sum(lengths) == total
    assert all(5 <= n <= 20 for n in lengths)


def test_random_lengths_refuse_short_runs():
    with pytest.raises(ValueError, match="cannot tile 4 samples"):
        windows.random_lengths(4, 5, 20, stable_rng(0))


def test_stage1_is_seeded_and_independent_of_other_recordings():
    rec = _rec([1] * 300 + [2] * 150)
    a = windows.stage1_windows(rec, "train", 7, (5, 60), 2)
    b = windows.stage1_windows(rec, "train", 7, (5, 60), 2)
    c = windows.stage1_windows(rec, "train", 8, (5, 60), 2)
    assert a == b and a != c
    # Each repeat tiles each run exactly; duplicates across repeats are kept once.
    spans = {(w.start, w.end) for w in a}
    assert len(spans) == len(a)
    for start, end in [(0, 300), (300, 450)]:
        inside = sorted((w.start, w.end) for w in a if start <= w.start < end)
        assert all(e <= end for _, e in inside)
        assert sum(e - s for s, e in inside) <= 2 * (end - start)
        assert {s for s, _ in inside} >= {start}


def test_stage2_windows_stay_inside_runs():
    rec = _rec([1] * 300 + [-1] * 10 + [2] * 128)
    ws = windows.stage2_windows(rec, "test", 128, 64)
    assert [(w.start, w.end, w.activity) for w in ws] == [
        (0, 128, "A"), (64, 192, "A"), (128, 256, "A"), (310, 438, "B")]


def test_transition_window_has_exact_change_point():
    rec = _rec([1] * 200 + [3] * 200)
    (w,) = windows.transition_windows(rec, "train", 128, seed=1)
    assert (w.activity, w.next_activity) == ("A", "C")
    assert 32 <= w.change_index <= 96
    assert w.start + w.change_index == 200
    labels = rec.labels[w.start:w.end]
    assert (labels[:w.change_index] == 1).all() and (labels[w.change_index:] == 3).all()


def test_sample_windows_respect_classes_and_split():
    cfg = BuildConfig(test_subjects=("3",))
    for rec in recordings(cfg):
        for w in cut(rec, cfg):
            assert w.split == ("test" if rec.subject == "3" else "train")
            labels = rec.labels[w.start:w.end]
            if w.next_activity is None:
                assert (labels == w.activity_id).all() and w.activity_id in cfg.classes
            if w.stage == 2:
                assert w.length == 128
            else:
                assert 5 <= w.length <= 200
