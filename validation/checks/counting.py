"""Check a counting row: segments of one direction, all segments, crossings of the mean."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from validation.checks import Failure, Row
from validation.checks._read import Unreadable, one, read_row
from validation.checks._trends import Fitted, fitted


def _crossings(x: np.ndarray) -> int:
    """Changes of side of the mean (samples exactly at the mean belong to neither side)."""
    side = np.sign(x - x.mean())
    side = side[side != 0]
    return int(np.count_nonzero(np.diff(side)))


def check(row: Row) -> Iterator[Failure]:
    """Counts are exact for the seed method; for ``robust`` a zero count must be plausible."""
    try:
        _, a = read_row(row.qa_type, row.template_id, row.question, row.answer)
        said = {k: one(a, k) for k in a}
    except Unreadable as exc:
        yield Failure("counting.structure", str(exc))
        return
    x = np.asarray(row.series[0], dtype=np.float64)
    if "n_crossings" in said and said["n_crossings"] != _crossings(x):
        yield Failure("counting.count", f"{said['n_crossings']} mean crossings stated, series "
                                        f"has {_crossings(x)}")
    segs = fitted(row, 0)
    if isinstance(segs, Failure):
        yield segs
        return
    d, n = said.get("dir"), said.get("n")
    if isinstance(segs, Fitted):
        if n == 0 and d in ("up", "down") and not segs.absent_ok(d):
            yield Failure("counting.count", f"no {d} segment stated, the series has a large "
                                            f"{d} move")
        if "n_segments" in said and isinstance(n, int) and said["n_segments"] < n:
            yield Failure("counting.count", f"{n} {d} segments but {said['n_segments']} in all")
        return
    counts = segs.counts()
    if d is not None and n != counts.get(d, 0):
        yield Failure("counting.count", f"{n} {d} segments stated, series has {counts.get(d, 0)}")
    if "n_segments" in said and said["n_segments"] != len(segs.directions):
        yield Failure("counting.count", f"{said['n_segments']} segments stated, series has "
                                        f"{len(segs.directions)}")
