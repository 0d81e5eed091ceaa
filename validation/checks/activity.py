"""Check a stage-2 activity row: window, statistics, trends and correlations, and the label."""

from __future__ import annotations

from typing import Iterator, Mapping

from validation.checks import Failure, Row
from validation.checks._channels import channel_of, describe
from validation.checks._read import Unreadable, one, read_row
from validation.checks._signal import activity_words, correlation, correlation_relation, mean_std
from validation.checks._trends import compare_overview, segments

NAME = "activity"


def _window(row: Row, q: Mapping[str, list]) -> Iterator[Failure]:
    n_channels, n = row.series.shape
    if one(q, "n_channels") != n_channels:
        yield Failure(f"{NAME}.window", f"text says {one(q, 'n_channels')} channels, "
                                        f"series has {n_channels}")
    if "n_samples" in q and one(q, "n_samples") != n:
        yield Failure(f"{NAME}.window", f"text says {one(q, 'n_samples')} samples, series "
                                        f"has {n}")
    if "duration_s" in q and not one(q, "duration_s").agrees(n / row.sample_rate_hz):
        yield Failure(f"{NAME}.window", f"text says {one(q, 'duration_s')}s, series lasts "
                                        f"{n / row.sample_rate_hz:.4f}s")


def _per_channel(row: Row, items: list[dict], what: str) -> Iterator[tuple[int, dict]]:
    """Pair each stated channel item with its channel (in order, every channel once)."""
    if len(items) != row.series.shape[0]:
        raise Unreadable(f"{what}: {len(items)} channels stated, series has "
                         f"{row.series.shape[0]}")
    for k, item in enumerate(items):
        said = one(item, "c.sensor")
        if " ".join(str(said).lower().split()) != describe(row, k):
            raise Unreadable(f"{what}: channel {k + 1} named {said!r}, expected "
                             f"{describe(row, k)!r}")
        yield k, item


def _stats(row: Row, items: list[dict]) -> Iterator[Failure]:
    for k, item in _per_channel(row, items, "statistics"):
        mean, std = mean_std(row.series[k])
        for name, true in (("mean", mean), ("std", std)):
            said = one(item, f"c.{name}")
            unit = one(item, f"c.{name}@unit", row.channel_units[k] or "-")
            if not said.agrees(true):
                yield Failure(f"{NAME}.stats", f"{describe(row, k)} {name}: text {said}, "
                                               f"series {true:.6f}")
            if unit != (row.channel_units[k] or "-"):
                yield Failure(f"{NAME}.unit", f"{describe(row, k)} {name} in {unit!r}, channel "
                                              f"unit is {row.channel_units[k]!r}")


def _trends(row: Row, items: list[dict]) -> Iterator[Failure]:
    for k, item in _per_channel(row, items, "trends"):
        segs = segments(row, k)
        if isinstance(segs, Failure):
            yield segs
            return
        yield from compare_overview(NAME, item, segs, where=f"{describe(row, k)}: ")


def _correlations(row: Row, items: list[dict]) -> Iterator[Failure]:
    seen = set()
    for item in items:
        a, b = channel_of(row, one(item, "p.a")), channel_of(row, one(item, "p.b"))
        if a is None or b is None or a == b:
            yield Failure(f"{NAME}.correlation", f"pair {one(item, 'p.a')!r} / "
                                                 f"{one(item, 'p.b')!r} names no channel pair")
            continue
        seen.add(frozenset((a, b)))
        r, said = correlation(row.series[a], row.series[b]), one(item, "p.r")
        if not said.agrees(r):
            yield Failure(f"{NAME}.correlation", f"r({describe(row, a)}, {describe(row, b)}): "
                                                 f"text {said}, series {r:.4f}")
        relation = correlation_relation(said.value)
        if str(one(item, "p.relation")).lower() != relation:
            yield Failure(f"{NAME}.correlation", f"r = {said} is {relation!r}, text says "
                                                 f"{one(item, 'p.relation')!r}")
    expected = {frozenset((i, j)) for i in range(row.series.shape[0])
                for j in range(i + 1, row.series.shape[0])
                if row.channel_locations[i] == row.channel_locations[j]
                and row.channel_modalities[i] == row.channel_modalities[j]}
    if seen != expected:
        yield Failure(f"{NAME}.correlation", f"{len(seen)} axis pairs stated, the channels have "
                                             f"{len(expected)}")


def check(row: Row) -> Iterator[Failure]:
    """Recompute every number and word of the question's description; the answer is the label."""
    try:
        q, a = read_row(row.qa_type, row.template_id, row.question, row.answer)
        loops = q.get("channels", [])
        if len(loops) != 2:
            raise Unreadable(f"expected a statistics and a trend list, got {len(loops)} lists")
        found = list(_window(row, q)) + list(_stats(row, loops[0])) + list(_trends(row, loops[1]))
        found += list(_correlations(row, [p for loop in q.get("correlations", []) for p in loop]))
        said = str(one(a, "activity"))
    except Unreadable as exc:
        yield Failure(f"{NAME}.structure", str(exc))
        return
    yield from found
    if said.lower() != activity_words(row.activity):
        yield Failure(f"{NAME}.label", f"answer {said!r}, window label "
                                       f"{activity_words(row.activity)!r}")
