"""Check a counting row: segments of one direction, all segments, crossings of the mean."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, one, read_row
from validation.checks._trends import segments


def _crossings(x: np.ndarray) -> int:
    """Changes of side of the mean (samples exactly at the mean belong to neither side)."""
    side = np.sign(x - x.mean())
    side = side[side != 0]
    return int(np.count_nonzero(np.diff(side)))


def check(row: Row) -> Iterator[Failure]:
    """Every stated count equals the one recomputed from the series."""
    try:
        q, a = read_row(row)
        said = {k: one(a, k) for k in a}
        asked = one(q, "dir") if "dir" in q else None
    except Unreadable as exc:
        yield Failure("counting.structure", str(exc))
        return
    if asked is not None and said.get("dir", asked) != asked:
        yield Failure("counting.direction", f"asked for {asked} segments, the answer counts "
                                            f"{said['dir']} ones")
    x = np.asarray(row.series[0], dtype=np.float64)
    if "n_crossings" in said and said["n_crossings"] != _crossings(x):
        yield Failure("counting.count", f"{said['n_crossings']} mean crossings stated, series "
                                        f"has {_crossings(x)}")
    segs = segments(row, 0)
    if isinstance(segs, Failure):
        yield segs
        return
    d, n = said.get("dir"), said.get("n")
    counts = segs.counts()
    if d is not None and n != counts.get(d, 0):
        yield Failure("counting.count", f"{n} {d} segments stated, series has {counts.get(d, 0)}")
    if "n_segments" in said and said["n_segments"] != len(segs.directions):
        yield Failure("counting.count", f"{said['n_segments']} segments stated, series has "
                                        f"{len(segs.directions)}")


def trend_channels(row: Row) -> range:
    """Channels whose trend segments :func:`check` reads (``semantic.check_table`` computes
    them beforehand, batched with the table's other rows)."""
    return range(1)
