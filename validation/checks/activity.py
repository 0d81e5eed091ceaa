"""Check a stage-2 activity row: window, statistics, trends and correlations, and the label."""

from __future__ import annotations

from typing import Iterator, Mapping

from validation.checks import Failure, Row, spans_change
from validation.checks._channels import axis_groups, channel_of, describe
from validation.checks._read import Unreadable, compiler, one, value, variant
from validation.checks._signal import activity_words, correlation_relation, correlations, mean_std
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
            said = value(one(item, f"c.{name}"))
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
    seen, rs = set(), correlations(row.series)
    for item in items:
        a, b = channel_of(row, one(item, "p.a")), channel_of(row, one(item, "p.b"))
        if a is None or b is None or a == b:
            yield Failure(f"{NAME}.correlation", f"pair {one(item, 'p.a')!r} / "
                                                 f"{one(item, 'p.b')!r} names no channel pair")
            continue
        seen.add(frozenset((a, b)))
        r, said = float(rs[a, b]), value(one(item, "p.r"), 2)
        if not said.agrees(r):
            yield Failure(f"{NAME}.correlation", f"r({describe(row, a)}, {describe(row, b)}): "
                                                 f"text {said}, series {r:.4f}")
        relation = correlation_relation(said.value)
        if str(one(item, "p.relation")).lower() != relation:
            yield Failure(f"{NAME}.correlation", f"r = {said} is {relation!r}, text says "
                                                 f"{one(item, 'p.relation')!r}")
    expected = {frozenset((i, j)) for axes in axis_groups(row).values()
                for i in axes.values() for j in axes.values() if i < j}
    if seen != expected:
        yield Failure(f"{NAME}.correlation", f"{len(seen)} axis pairs stated, the channels have "
                                             f"{len(expected)}")


_LAYOUT = "{{ pick('window_line') }}\n{{ pick('analysis') }}\n"


def read_question(row: Row) -> tuple[dict, list[dict], list[dict], list[dict]]:
    """Read the question line by line along the pack's layout.

    The variants share ``window_line`` then ``analysis`` (statistics intro, one line per
    channel, trend intro, one line per channel, then optionally a correlation intro and
    one line per axis pair), then a question line of their own. Reading by lines keeps
    each regex to one line.

    Returns:
        (window and question-line values, statistics per channel, trends per channel,
        correlations per pair).

    Raises:
        Unreadable: A line does not fit its place.
    """
    c, v = compiler(row), variant(row)
    if not v.question.startswith(_LAYOUT):
        raise Unreadable(f"unknown layout of {row.template_id!r}")
    lines = row.question.split("\n")
    n = row.series.shape[0]
    if len(lines) < 2 * n + 4:  # no correlation lines where no sensor has two axes
        raise Unreadable(f"{len(lines)} lines; {n} channels need at least {2 * n + 4}")
    window = c.read_list("window_line", lines[0])
    c.read_list("stats_intro", lines[1])
    stats = [c.read_list("stat_line", ln) for ln in lines[2:2 + n]]
    c.read_list("trend_intro", lines[2 + n])
    trends = [c.read_list("channel_trend", ln) for ln in lines[3 + n:3 + 2 * n]]
    rest = lines[3 + 2 * n:-1]
    pairs = []
    if rest:
        c.read_list("corr_intro", rest[0])
        pairs = [c.read_list("corr_line", ln) for ln in rest[1:]]
    for k, found in c.read(v.question[len(_LAYOUT):], lines[-1]).items():
        window.setdefault(k, []).extend(found)
    return window, stats, trends, pairs


def check(row: Row) -> Iterator[Failure]:
    """Recompute every number and word of the question's description; the answer is the label."""
    try:
        q, stats, trends, pairs = read_question(row)
        found = list(_window(row, q)) + list(_stats(row, stats)) + list(_trends(row, trends))
        found += list(_correlations(row, pairs))
        said = str(one(compiler(row).read(variant(row).answer, row.answer), "activity"))
    except Unreadable as exc:
        yield Failure(f"{NAME}.structure", str(exc))
        return
    yield from found
    yield from spans_change(row, NAME, "one label names only a part")
    if said.lower() != activity_words(row.activity):
        yield Failure(f"{NAME}.label", f"answer {said!r}, window label "
                                       f"{activity_words(row.activity)!r}")


def trend_channels(row: Row) -> range:
    """Channels whose trend segments :func:`check` reads (``semantic.check_table`` computes
    them beforehand, batched with the table's other rows): every channel."""
    return range(row.series.shape[0])
