"""Check a channel comparison: which axis of each sensor moves most, which pair correlates most."""

from __future__ import annotations

from typing import Iterator

from validation.checks import Failure, Row
from validation.checks._channels import axis_groups, channel_of
from validation.checks._read import Unreadable, one, read_row, value
from validation.checks._signal import correlation_relation, correlations, mean_std


def _moving(row: Row, items: list[dict]) -> Iterator[Failure]:
    groups = axis_groups(row)
    said_groups = [str(one(g, "g.sensor")).lower() for g in items]
    if sorted(said_groups) != sorted(groups):
        yield Failure("channel_comparison.structure", f"sensors {said_groups}, the row has "
                                                      f"{sorted(groups)}")
        return
    for g in items:
        axes = groups[str(one(g, "g.sensor")).lower()]
        stds = {a: round(mean_std(row.series[k])[1], 3) for a, k in axes.items()}
        ranked = sorted(stds.values(), reverse=True)
        for ax_key, std_key, rank in (("g.axis", "g.std", 0), ("g.runner_up", "g.runner_up_std", 1)):
            if ax_key not in g:
                continue
            axis = str(one(g, ax_key)).lower()
            if axis not in stds:
                yield Failure("channel_comparison.structure", f"no axis {axis!r}")
                continue
            if stds[axis] != ranked[rank]:
                yield Failure("channel_comparison.rank", f"{axis}-axis std {stds[axis]} is not "
                                                         f"rank {rank + 1} of {ranked}")
            if std_key in g and not value(one(g, std_key)).agrees(
                    mean_std(row.series[axes[axis]])[1]):
                yield Failure("channel_comparison.value", f"{axis}-axis std {one(g, std_key)}, "
                                                          f"series {stds[axis]}")
        for unit in g.get("g.std@unit", []) + g.get("g.runner_up_std@unit", []):
            if unit != row.channel_units[next(iter(axes.values()))]:
                yield Failure("channel_comparison.unit", f"std in {unit!r}")


def _pair(row: Row, a: dict) -> Iterator[Failure]:
    i, j = channel_of(row, one(a, "top_pair.a")), channel_of(row, one(a, "top_pair.b"))
    if i is None or j is None or i == j:
        yield Failure("channel_comparison.structure", "the most correlated pair names no pair")
        return
    said = value(one(a, "top_pair.r"), 2)
    rs = correlations(row.series)
    r = float(rs[i, j])
    if not said.agrees(r):
        yield Failure("channel_comparison.value", f"r {said}, series {r:.4f}")
    best = max(abs(round(float(rs[p, q]), 2))
               for axes in axis_groups(row).values() for p in axes.values() for q in axes.values()
               if p < q)
    if abs(round(r, 2)) != best:
        yield Failure("channel_comparison.rank", f"|r| {abs(round(r, 2))} is not the largest "
                                                 f"({best})")
    if "top_pair.relation" in a and str(one(a, "top_pair.relation")).lower() != \
            correlation_relation(said.value):
        yield Failure("channel_comparison.value", f"r = {said} is "
                                                  f"{correlation_relation(said.value)!r}")


def check(row: Row) -> Iterator[Failure]:
    """Recompute stds and correlations of the row's channels and compare ranks and values."""
    try:
        _, a = read_row(row)
        loops = a.get("groups", [])
        if len(loops) != 1:
            raise Unreadable("expected one list of sensors")
        found = list(_moving(row, loops[0])) + list(_pair(row, a))
    except Unreadable as exc:
        yield Failure("channel_comparison.structure", str(exc))
        return
    yield from found
