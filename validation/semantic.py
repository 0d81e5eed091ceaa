"""Row-level semantic validation: split a QA table into accepted and rejected rows."""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generators.schema import QA_SCHEMA, is_labelled, schemas
from generators.text import TemplatePack
from validation import checks
from validation.checks import Failure, Row
from validation.checks._read import CLASS_FIELDS, Reader, packs as builtin_packs
from validation.checks._signal import activity_words
from validation.checks._trends import segments_of

_LEFTOVER = re.compile(r"{{|}}|{%|%}")
_META = [f.name for f in QA_SCHEMA if f.name not in ("series", "facts")]
_BATCH = 4096
"""Rows whose trends are recomputed together (bounds the segments held at once)."""


def _series(table: pa.Table) -> Iterator[np.ndarray | None]:
    """Each row's channels × samples float32 array (``None`` when channels differ in length)."""
    for chunk in table.column("series").chunks:
        outer = chunk.offsets.to_numpy()
        inner_arr = chunk.values
        inner = inner_arr.offsets.to_numpy()
        flat = inner_arr.values.to_numpy(zero_copy_only=False)
        for i in range(len(chunk)):
            a, b = outer[i], outer[i + 1]
            lengths = np.diff(inner[a:b + 1])
            if b == a or np.any(lengths != lengths[0]):
                yield None
                continue
            yield flat[inner[a]:inner[b]].reshape(b - a, lengths[0])


def _text_failures(row: Row) -> list[Failure]:
    """Checks every QA type shares: non-empty text with no template syntax left over."""
    out = []
    for name in ("question", "answer"):
        text = getattr(row, name)
        if not text.strip():
            out.append(Failure("text.empty", f"{name} is empty"))
        elif _LEFTOVER.search(text):
            out.append(Failure("text.leftover", f"{name} holds template syntax: "
                                                f"{_LEFTOVER.search(text).group()!r}"))
    return out


def row_failures(row: Row) -> list[Failure]:
    """Every failure of one row: shared text checks, then its QA type's check."""
    out = _text_failures(row)
    try:
        out += checks.run(row)
    except Exception as exc:  # a check that crashes on a row is that row's rejection
        out.append(Failure(f"{row.qa_type}.error", f"{type(exc).__name__}: {exc}"))
    return out


def _with_trends(rows: list[Row | None]) -> list[Row | None]:
    """The rows, each carrying the trend segments its check reads (``Row.trends``),
    recomputed for all of them together (``_trends.segments_of``: one vectorized pass per
    series length and trend parameters instead of one per series)."""
    wanted = [(row, k) for row in rows if row is not None for k in checks.trend_channels(row)]
    try:
        found = segments_of(wanted)
    except Exception:  # a malformed row (its trend parameters): each row on its own, so
        return rows    # the error is that row's rejection (row_failures)
    trends: dict[int, dict[int, object]] = {}
    for (row, k), segs in zip(wanted, found):
        trends.setdefault(id(row), {})[k] = segs
    return [row if row is None or id(row) not in trends
            else dataclasses.replace(row, trends=trends[id(row)]) for row in rows]


def row_labels(tables: Iterable[pa.Table]) -> set[str]:
    """The class labels rows name their windows with (``activity``, ``next_activity``)."""
    labels = set()
    for table in tables:
        for column in ("activity", "next_activity"):
            labels.update(pc.unique(table[column]).to_pylist())
    return {label for label in labels if label}


def compile_patterns(packs: Mapping[str, TemplatePack], labels: Iterable[str] = ()) -> None:
    """Compile now the answer patterns :func:`check_table` reads rows of ``packs`` with, for
    a dataset of class ``labels``: every variant's question and answer and the reader of
    each phrase list they pick (packs that name classes only when ``labels`` are given).

    Each is compiled once per process in any case; doing it ahead lets a process pool's
    fork server compile them once for all its workers (``flows.warm``).
    """
    labels = tuple(labels)
    reader = Reader(packs, map(activity_words, labels))
    for qa_type, pack in packs.items():
        if not labels and CLASS_FIELDS & set(pack.fields):
            continue
        compiler = reader.compiler(qa_type)
        picked = [slot.name for v in pack.variants for source in (v.question, v.answer)
                  for slot in compiler.pattern(source)[1].values() if slot.kind == "pick"]
        done: set[str] = set()
        while picked:  # each list's reader, and those of the lists its phrasings pick
            name = picked.pop()
            if name not in done:
                done.add(name)
                picked += [slot.name for slots in compiler.list_pattern(name)[1].values()
                           for slot in slots.values() if slot.kind == "pick"]


def check_table(table: pa.Table, packs: Mapping[str, TemplatePack] | None = None,
                labels: Iterable[str] | None = None) -> tuple[pa.Table, pa.Table]:
    """Re-derive every row's answer from its series and split the table.

    Args:
        table: Rows with ``QA_SCHEMA`` (or its unlabelled form, null activities).
        packs: The template packs the rows were rendered with (default: the built-in).
        labels: The dataset's class labels, which activity and transition texts name
            (default: those the table's rows carry, :func:`row_labels`).

    Returns:
        ``(accepted, rejected)``: accepted rows with ``QA_SCHEMA``; rejected rows with
        ``REJECTED_SCHEMA`` (each unlabelled when ``table`` is) whose ``check`` names the
        first failing check and ``reason`` lists every failure. Every input row is in
        exactly one of them.
    """
    qa_schema, rejected_schema = schemas(is_labelled(table.schema))
    table = table.select(qa_schema.names).cast(qa_schema)
    columns = {name: table[name].to_pylist() for name in _META}  # faster than by row
    meta = [dict(zip(columns, values)) for values in zip(*columns.values())]
    reader = Reader(builtin_packs() if packs is None else packs,
                    map(activity_words, row_labels([table]) if labels is None else labels))
    accepted, rejected, names, reasons = [], [], [], []
    all_series = _series(table)
    for start in range(0, table.num_rows, _BATCH):
        batch = [None if series is None else Row.from_record(rec, series, reader)
                 for rec, series in zip(meta[start:start + _BATCH], all_series)]
        for i, row in enumerate(_with_trends(batch), start):
            if row is None:
                fails = [Failure("series.shape",
                                 "series is empty or its channels differ in length")]
            else:
                fails = row_failures(row)
            if fails:
                rejected.append(i)
                names.append(fails[0].check)
                reasons.append("; ".join(f"{f.check}: {f.reason}" for f in fails))
            else:
                accepted.append(i)
    ok = table.take(pa.array(accepted, pa.int64()))
    bad = table.take(pa.array(rejected, pa.int64()))
    bad = pa.Table.from_arrays(
        [*bad.columns, pa.array(names, pa.string()), pa.array(reasons, pa.string())],
        schema=rejected_schema)
    assert ok.num_rows + bad.num_rows == table.num_rows, "rows lost in semantic validation"
    return ok, bad
