"""A build's shards, parts and publishing without a flow (generators.shards, generators.publish)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pytest

from generators import dataset, publish, shards, text
from generators.cache import BuildCache, RecordingRef
from generators.config import BuildConfig
from tests.conftest import described_sample
from validation import semantic


def _ref(n_samples: int, rate: float = 1.0) -> RecordingRef:
    return RecordingRef("exp01", "/nowhere", "d" * 64, n_samples, rate)


def test_shards_are_named_by_recording_and_numbered_only_when_several():
    assert [(s.name, s.span) for s in shards.plan_shards([_ref(10)], 4)] == [
        ("exp01-0000", (0, 4)), ("exp01-0001", (4, 8)), ("exp01-0002", (8, 10))]
    assert [(s.name, s.span) for s in shards.plan_shards([_ref(10)], 60)] == [("exp01", (0, 10))]
    a, b = shards.plan_shards([_ref(10)], 4)[:2]
    assert shards.shard_key("base", a) != shards.shard_key("base", b) != shards.shard_key("x", b)


def test_longest_shards_start_first():
    planned = shards.plan_shards([_ref(10), _ref(25)], 8)
    order = shards.longest_first(planned)
    assert [planned[i].span for i in order] == [(0, 8), (0, 8), (8, 16), (16, 24), (8, 10),
                                                (24, 25)]
    assert order == [0, 2, 3, 4, 1, 5]  # ties keep plan order


def test_packs_are_parsed_once_per_content_of_their_files(tmp_path):
    builtin = shards.load_packs(BuildConfig())
    assert builtin == text.load_packs()
    assert shards.load_packs(BuildConfig())["trend_summary"] is builtin["trend_summary"]
    source = (Path(builtin["trend_summary"].path)).read_text()
    overlay = tmp_path / "trend_summary.yaml"
    cfg = BuildConfig(templates_dir=str(tmp_path))
    for version in (6, 7):  # an edited file is parsed again
        overlay.write_text(source.replace("version: 5", f"version: {version}"))
        assert shards.load_packs(cfg)["trend_summary"].version == str(version)
        assert shards.load_packs(cfg)["trend_summary"] is shards.load_packs(cfg)["trend_summary"]


@pytest.fixture(scope="module")
def checked():
    """The embedded sample's first recording: its rows as a table, checked."""
    rec, cfg, items = described_sample()
    table = dataset.items_to_table(items, rec, cfg.trend_params)
    accepted, rejected = semantic.check_table(table, text.load_packs(), rec.label_names.values())
    return rec, cfg, table, accepted, rejected


def test_a_shard_writes_one_part_per_stage_and_split_and_is_found_again(tmp_path, checked):
    rec, cfg, table, accepted, rejected = checked
    cache = BuildCache(tmp_path)
    shard = shards.plan_shards([_ref(rec.n_samples, rec.sample_rate_hz)], 1e9)[0]
    assert shards.cached_result(cache, "k") is None
    result = shards.write_shard(cache, "k", shard, cfg.stages, accepted, rejected, table.num_rows)
    entry = Path(result["entry"])
    assert not result["cached"] and entry == cache.parts_dir("k")
    expected = {f"stage{s}/{split}": pc.sum(pc.and_(pc.equal(accepted["stage"], s),
                                                    pc.equal(accepted["split"], split))).as_py()
                for s in cfg.stages for split in shards.SPLITS}
    assert result["counts"] == {**{k: n for k, n in expected.items() if n},
                                "rejected": rejected.num_rows, "rows_in": table.num_rows}
    assert sorted(result["files"]) == sorted(
        [str(dataset.part_path(Path(), int(k[5]), k[7:], "exp01")) for k, n in expected.items() if n]
        + ([str(dataset.rejected_path(Path(), "exp01"))] if rejected.num_rows else []))
    assert {rel: dataset.file_sha256(entry / rel) for rel in result["files"]} == result["files"]
    assert shards.cached_result(cache, "k") == {**result, "cached": True}
    (entry / next(iter(result["files"]))).unlink()  # a part gone: the entry is not reused
    assert shards.cached_result(cache, "k") is None


def test_counts_add_up_and_lost_rows_are_refused():
    assert publish.summary_counts([{"stage1/train": 3, "rejected": 1, "rows_in": 4},
                                   {"stage1/test": 2, "rejected": 0, "rows_in": 2}]) == {
        "rejected": 1, "rows_in": 6, "stage1/test": 2, "stage1/train": 3}
    with pytest.raises(AssertionError, match="rows lost"):
        publish.summary_counts([{"stage1/train": 3, "rejected": 0, "rows_in": 4}])
    assert publish.card_counts({"rejected": 1, "stage1/test": 2, "stage2/train": 5}) == {
        "stage1": {"test": 2}, "stage2": {"train": 5}}


def test_judge_names_every_problem():
    cfg = BuildConfig(min_pass_rate=0.9)
    ok = {"a": {"passed": True}}
    assert publish.judge(cfg, {"rows_in": 10, "rejected": 1}, ok, {"success": True}) == (
        {"pass_rate": 0.9, "dataset_checks": ok, "gx_success": True}, [])
    _, problems = publish.judge(cfg, {"rows_in": 10, "rejected": 2},
                                {**ok, "b": {"passed": False}},
                                {"success": False, "failed_suites": ["qa"]})
    assert problems == ["pass rate 0.8000 < 0.9", "dataset checks failed: b",
                        "GX suites failed: qa"]


def test_a_staged_dataset_is_published_only_when_it_passes_and_then_is_up_to_date(tmp_path):
    entry = tmp_path / "entry"
    (entry / "stage1" / "train").mkdir(parents=True)
    (entry / "stage1" / "train" / "r.parquet").write_bytes(b"part")
    files = {"stage1/train/r.parquet": dataset.file_sha256(entry / "stage1/train/r.parquet")}
    cfg, packs = BuildConfig(dataset="d"), text.load_packs()
    counts = {"rejected": 0, "rows_in": 1, "stage1/train": 1}
    staging, final = tmp_path / ".d.staging", tmp_path / "d"

    publish.stage_parts(staging, [{"entry": str(entry), "files": files}])
    with pytest.raises(publish.ValidationFailed, match=r"^d: pass rate .*kept at"):
        publish.finish(staging, final, cfg, publish.manifest(cfg, counts, files, packs, "k"),
                       packs, ["pass rate 0.5 < 0.9"])
    assert (staging / "manifest.json").is_file() and not final.exists()

    publish.stage_parts(staging, [{"entry": str(entry), "files": files}])
    assert not (staging / "manifest.json").exists()  # a fresh staging directory
    publish.finish(staging, final, cfg, publish.manifest(cfg, counts, files, packs, "k"),
                   packs, [])
    assert not staging.exists()
    manifest = json.loads((final / "manifest.json").read_text())
    assert manifest["files"] == files
    assert set(manifest["templates"]) >= {f"{name}.yaml" for name in packs}
    assert "| stage1/train | 1 |" in (final / "README.md").read_text()
    assert publish.up_to_date(final, "k", files) == manifest
    assert publish.up_to_date(final, "other key", files) is None
    (final / "stage1/train/r.parquet").write_bytes(b"changed")
    assert publish.up_to_date(final, "k", files) is None


def test_a_failed_build_leaves_a_new_root_absent(tmp_path):
    root = tmp_path / "a" / "out"
    with pytest.raises(RuntimeError, match="boom"):
        with publish.as_found_on_failure(root, root / ".d.staging"):
            (root / ".d.staging").mkdir(parents=True)
            raise RuntimeError("boom")
    assert not (tmp_path / "a").exists()
