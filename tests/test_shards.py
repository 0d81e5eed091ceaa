"""Sharded builds: spans partition the windows, and a sharded build equals an unsharded one."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from flows.build import run_build
from flows.config import make_config
from generators import pipeline
from generators.config import BuildConfig
from generators.dataset import iter_parts, iter_rejected
from generators.types import Channel, Recording
from tests.fixtures_formats import OFFICE, SLEEP, write_capture24


def test_shards_cover_the_recording_in_order():
    assert pipeline.shards(10, 1.0, 4) == [(0, 4), (4, 8), (8, 10)]
    assert pipeline.shards(10, 50.0, 1) == [(0, 10)]
    assert pipeline.shards(100, 50.0, 1) == [(0, 50), (50, 100)]


def _rec() -> Recording:
    # Runs of several lengths with an unlabelled gap and direct changes (transitions).
    labels = np.array([1] * 700 + [2] * 333 + [-1] * 50 + [3] * 517 + [1] * 260, np.int32)
    values = np.sin(np.arange(len(labels), dtype=np.float32) / 7)[:, None]
    return Recording("toy", "r1", "1", 50.0, (Channel("c", "waist", "acc", "x", "g"),),
                     values, labels, {1: "A", 2: "B", 3: "C"})


@pytest.mark.parametrize("shard_s", [0.5, 1.3, 4.0, 1000.0])
def test_windows_of_the_shards_are_the_windows_of_the_recording(shard_s):
    rec = _rec()
    cfg = BuildConfig(classes=None, stage1_window=(5, 60), stage2_window=64, stage2_stride=24)
    spans = pipeline.shards(rec.n_samples, rec.sample_rate_hz, shard_s)
    per_shard = [(span, w) for span in spans for w in pipeline.cut(rec, cfg, span)]
    assert all(lo <= w.start < hi for (lo, hi), w in per_shard)
    assert Counter(w for _, w in per_shard) == Counter(pipeline.cut(rec, cfg))
    if len(spans) > 1:  # windows that read past their shard's end are kept whole
        assert any(w.end > hi for (_, hi), w in per_shard)


SECONDS = 60
SHARD_S = 15.0


@pytest.fixture(scope="module")
def builds(prefect_server, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """One one-minute Capture-24 file built in 15 s shards (1 and 2 workers) and unsharded."""
    root = tmp_path_factory.mktemp("c24")
    n = SECONDS * 100
    t = np.arange(n) / 100
    xyz = np.column_stack([np.round(np.sin(2 * np.pi * f * t) * 64) / 64 for f in (0.3, 0.7, 1.1)])
    annotations = [SLEEP] * (n * 5 // 12) + [""] * (n // 12) + [OFFICE] * (n - n // 2)
    (root / "input").mkdir()
    write_capture24(root / "input" / "P001.csv.gz", xyz, annotations)
    cfg = dataclasses.replace(make_config("capture24", input=root / "input", shard_s=SHARD_S),
                              min_pass_rate=0.0)
    out = {}
    for name, shard_s, workers in [("one", SHARD_S, 1), ("two", SHARD_S, 2),
                                   ("whole", 10 * SECONDS, 1)]:
        summary = run_build(dataclasses.replace(cfg, shard_s=shard_s), out=str(root / name),
                            workers=workers)
        out[name] = (root / name / cfg.dataset, summary)
    return out


def _rows(dataset_dir: Path) -> list[tuple]:
    cols = ["row_id", "window_start", "window_end", "question", "answer"]
    tables = [*iter_parts(dataset_dir, columns=cols), *iter_rejected(dataset_dir, columns=cols)]
    return sorted(r for t in tables for r in zip(*(t[c].to_pylist() for c in cols)))


def test_sharded_build_has_one_task_per_shard_and_loses_no_row(builds):
    path, summary = builds["one"]
    counts = summary["counts"]
    assert summary["cache"]["shards"] == SECONDS / SHARD_S
    rows = _rows(path)
    accepted = sum(v for k, v in counts.items() if k.startswith("stage"))
    assert counts["rows_in"] == accepted + counts["rejected"] == len(rows)
    assert len({r[0] for r in rows}) == len(rows)
    assert summary["validation"]["dataset_checks"]["row_ids_unique"]["passed"]
    assert len(list(iter_parts(path))) > 2  # parts per shard, not one per recording


def test_worker_count_does_not_change_the_bytes(builds):
    (one, s1), (two, s2) = builds["one"], builds["two"]
    assert s1["counts"] == s2["counts"]
    digests = [{str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*.parquet")}
               for d in (one, two)]
    assert digests[0] == digests[1]


def test_sharded_rows_equal_the_unsharded_rows(builds):
    sharded, whole = _rows(builds["one"][0]), _rows(builds["whole"][0])
    assert sharded == whole
    size = int(SHARD_S * 50)
    # Windows that straddle a shard boundary are there, once, with their full length.
    straddling = [r for r in sharded if r[1] // size != (r[2] - 1) // size]
    assert straddling


def test_frozen_heap_keeps_objects_from_full_collections_only_while_describing():
    import gc

    from generators import pipeline

    before = gc.get_freeze_count()
    with pipeline.frozen_heap():
        assert gc.get_freeze_count() > before
    assert gc.get_freeze_count() == 0
