"""Every seeded choice of a build: one place that turns (seed, keys) into a pick.

Nothing here depends on call order or on the process (no ``hash()``, which Python salts
per process, and no global random state), so any worker, shard or run makes the same
choices for the same seed and keys.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_rng(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator determined by ``seed`` and ``keys`` alone (not by call order).

    Args:
        seed: The build seed.
        *keys: Anything with a stable ``str`` (recording id, run start, purpose…).

    Returns:
        A fresh generator; the same arguments give the same stream on any worker.
    """
    digest = hashlib.sha256("\x1f".join(map(str, (seed, *keys))).encode()).digest()
    return np.random.default_rng(np.frombuffer(digest[:16], dtype=np.uint32))


def stable_index(seed: int, row_key: str, purpose: str, n: int) -> int:
    """A choice in ``range(n)`` that depends only on (seed, row key, purpose).

    Args:
        seed: Build seed.
        row_key: Stable id of the row.
        purpose: What is being chosen (``variant``, ``phrase:span``…), so choices differ.
        n: Number of options (≥ 1).

    Returns:
        An index in ``range(n)``.
    """
    return row_choice(row_hash(seed, row_key), purpose, n)


def row_hash(seed: int, row_key: str) -> hashlib.blake2b:
    """The hash state after (seed, row key), for a row that makes many choices.

    Each choice hashes a copy of it plus its purpose (``row_choice``): the same digest as
    hashing the whole, for less work.
    """
    return hashlib.blake2b(f"{seed}\x1f{row_key}\x1f".encode(), digest_size=8)


def row_choice(row: hashlib.blake2b, purpose: str, n: int) -> int:
    """``stable_index`` given the row's ``row_hash``: an index in ``range(n)``."""
    digest = row.copy()
    digest.update(purpose.encode())
    return int.from_bytes(digest.digest(), "big") % n
