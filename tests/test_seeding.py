"""Seeded choices: fixed across processes and workers, distinct per purpose and key."""

from __future__ import annotations

import numpy as np

from generators.seeding import row_choice, row_hash, stable_index, stable_rng


def test_stable_index_is_fixed_across_processes():
    # Golden values: blake2b, not the per-process salted hash(), so workers agree.
    assert stable_index(42, "w/1", "variant", 1000) == 700
    assert stable_index(42, "w/1", "other", 1000) != stable_index(42, "w/1", "variant", 1000)


def test_stable_index_spreads_over_options():
    picks = {stable_index(0, f"row{i}", "variant", 20) for i in range(400)}
    assert picks == set(range(20))


def test_row_choice_is_stable_index_and_leaves_the_row_hash_unchanged():
    row = row_hash(42, "w/1")
    for purpose in ("variant", "other", "variant"):
        assert row_choice(row, purpose, 1000) == stable_index(42, "w/1", purpose, 1000)


def _draw(*args: object) -> np.ndarray:
    return stable_rng(*args).integers(0, 10**6, 8)


def test_stable_rng_depends_on_seed_and_keys_only():
    first = _draw(7, "rec", 120, "stage1")
    _draw(7, "other")  # another stream in between changes nothing
    assert np.array_equal(_draw(7, "rec", 120, "stage1"), first)
    assert not np.array_equal(_draw(7, "rec", 121, "stage1"), first)
    assert not np.array_equal(_draw(8, "rec", 120, "stage1"), first)
