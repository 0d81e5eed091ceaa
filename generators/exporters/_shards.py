"""Size-bounded shards of one split, named the Hugging Face way.

A split's rows go to ``<stem>-00000-of-00003<ext>``, ``<stem>-00001-of-00003<ext>``, …
(``datasets`` reads such files as one split; give their folder, ``<split>/``, to a trainer
that takes a directory). A shard takes rows while it stays within the bound; the row that
would take it past the bound opens the next one, and a single row larger than the bound
gets a shard alone. Shards are written as the rows come and named once their count is
known.
"""

from __future__ import annotations

from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from generators.exporters import Writer

#: Above any group's row count: a Parquet shard is one row group, cut by size, not rows.
_ALL_ROWS = 2**31 - 1


def _name(stem: str, i: int, n: int, ext: str) -> str:
    return f"{stem}-{i:05d}-of-{n:05d}{ext}"


def _publish(w: Writer, stem: str, ext: str, count: int) -> None:
    """Rename the shards written as ``<stem>-<i>.part`` to their final names."""
    for i in range(count):
        w.rename(f"{stem}-{i:05d}.part", _name(stem, i, count, ext))


def write_jsonl(w: Writer, stem: str, lines: Iterable[bytes], bound: int) -> int:
    """Write ``lines`` (each one JSON line) to ``<stem>-NNNNN-of-MMMMM.jsonl`` shards of at
    most ``bound`` bytes. Returns the number of lines."""
    count, rows, sink = 0, 0, None
    for line in lines:
        if sink is None or (sink.tell() and sink.tell() + len(line) > bound):
            if sink is not None:
                sink.close()
            sink, count = w.create(f"{stem}-{count:05d}.part"), count + 1
            sink.rows = 0
        sink.write(line)
        sink.rows += 1
        rows += 1
    if sink is not None:
        sink.close()
    _publish(w, stem, ".jsonl", count)
    return rows


def _rows_within(table: pa.Table, bound: int) -> int:
    """The most leading rows of ``table`` whose Arrow size is within ``bound`` (at least 1)."""
    lo, hi = 1, table.num_rows
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if table.slice(0, mid).nbytes <= bound:
            lo = mid
        else:
            hi = mid - 1
    return lo


def write_parquet(w: Writer, stem: str, tables: Iterable[pa.Table], bound: int) -> int:
    """Write ``tables`` (one schema) to ``<stem>-NNNNN-of-MMMMM.parquet`` shards, each one
    row group of at most ``bound`` bytes of Arrow data. Returns the number of rows.

    At most a shard and a table of rows are held: a written shard's rows are let go
    before the next are read."""
    count, rows = 0, 0

    def flush(shard: pa.Table) -> None:
        nonlocal count, rows
        with w.open(f"{stem}-{count:05d}.part") as sink:
            pq.write_table(shard, sink, row_group_size=_ALL_ROWS)
            sink.rows = shard.num_rows
        count, rows = count + 1, rows + shard.num_rows

    pending: list[pa.Table] = []
    size = 0
    for table in tables:
        pending.append(table)
        size += table.nbytes
        while size > bound:
            whole = pa.concat_tables(pending)
            n = _rows_within(whole, bound)
            if n == whole.num_rows:
                break
            flush(whole.slice(0, n))
            pending = [whole.slice(n)]
            size = pending[0].nbytes
            del whole
    if pending and (last := pa.concat_tables(pending)).num_rows:
        flush(last)
    _publish(w, stem, ".parquet", count)
    return rows
