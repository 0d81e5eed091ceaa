"""Semantic checks, dataset leakage checks, GX suites and the validate report."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from generators import dataset, pipeline, qa, text
from generators.config import BuildConfig
from generators.errors import InputError
from generators.readers import read
from generators.schema import QA_SCHEMA, REJECTED_SCHEMA
from validation import checks, dataset_checks, gx_suites, semantic
from validation.checks._signal import sign_runs
from validation.report import validate_dataset
from tests.conftest import described_sample


@pytest.fixture(scope="module")
def rows() -> pa.Table:
    """Rows of the first embedded recording, both trend methods, through the real generator."""
    tables = []
    for method in ("sensorllm", "robust"):
        rec, cfg, items = described_sample(method)
        keep = [it for it in items if it.qa_type in checks.CHECKS]
        # a few rows of each type keep the test quick
        by_type: dict[str, list] = {}
        for it in keep:
            by_type.setdefault(it.qa_type, []).append(it)
        sample = [it for v in by_type.values() for it in v[:40]]
        tables.append(dataset.items_to_table(sample, rec, cfg.trend_params))
    return pa.concat_tables(tables)


@pytest.mark.parametrize("qa_type", qa.QA_TYPES.names())
def test_every_qa_type_has_a_check(qa_type: str) -> None:
    assert qa_type in checks.CHECKS, f"QA type {qa_type!r} has no semantic check"


def test_sign_runs_exact() -> None:
    runs = sign_runs(np.array([0, 1, 2, 2, 1, 1, 1, 3], dtype=np.float32))
    assert [(r.first, r.last, r.direction) for r in runs] == [
        (0, 2, "up"), (2, 3, "steady"), (3, 4, "down"), (4, 6, "steady"), (6, 7, "up")]


def test_generated_rows_pass(rows: pa.Table) -> None:
    ok, bad = semantic.check_table(rows)
    assert bad.num_rows == 0, bad.select(["qa_type", "reason"]).to_pylist()[:3]
    assert ok.num_rows == rows.num_rows and ok.schema.equals(QA_SCHEMA)


def _with(table: pa.Table, i: int, **changes: str) -> pa.Table:
    recs = table.slice(i, 1).to_pylist()
    recs[0].update(changes)
    return pa.Table.from_pylist(recs, schema=QA_SCHEMA)


def _first(rows: pa.Table, qa_type: str, method: str) -> int:
    mask = pc.and_(pc.equal(rows["qa_type"], qa_type), pc.equal(rows["trend_method"], method))
    return int(np.flatnonzero(mask.to_numpy(zero_copy_only=False))[0])


@pytest.mark.parametrize("method", ["sensorllm", "robust"])
@pytest.mark.parametrize("qa_type,field,old,new,check", [
    ("trend_summary", "answer", "0.00", "0.02", "trend_summary.span"),
    ("trend_analysis", "answer", "0.00", "0.04", "trend_analysis.times"),
    ("activity", "answer", None, "jumping", "activity.structure"),  # no class of the rows
    ("activity", "question", " g", " rad/s", "activity.unit"),
])
def test_corrupted_rows_rejected(rows: pa.Table, method: str, qa_type: str, field: str,
                                 old: str | None, new: str, check: str) -> None:
    i = _first(rows, qa_type, method)
    value = rows[field][i].as_py()
    changed = new if old is None else value.replace(old, new, 1)
    if changed == value:
        pytest.skip("nothing to corrupt in this row")
    ok, bad = semantic.check_table(_with(rows, i, **{field: changed}))
    assert ok.num_rows == 0 and bad.num_rows == 1 and bad.schema.equals(REJECTED_SCHEMA)
    assert check in bad["reason"][0].as_py()


def test_truncated_answer_rejected(rows: pa.Table) -> None:
    i = _first(rows, "trend_summary", "sensorllm")
    answer = rows["answer"][i].as_py()
    _, bad = semantic.check_table(_with(rows, i, answer=answer[:len(answer) // 2]))
    assert bad["check"][0].as_py() == "trend_summary.structure"


def test_direction_flip_rejected(rows: pa.Table) -> None:
    i = _first(rows, "trend_analysis", "sensorllm")
    answer = rows["answer"][i].as_py()
    phrases = text.load_packs()["trend_analysis"].phrases
    flip = {**dict(zip(phrases["up"], phrases["down"])), **dict(zip(phrases["down"], phrases["up"]))}
    word = next(w for w in flip if f": {w}\n" in answer)
    _, bad = semantic.check_table(_with(rows, i, answer=answer.replace(f": {word}\n",
                                                                         f": {flip[word]}\n", 1)))
    assert bad["check"][0].as_py() == "trend_analysis.direction"


def test_missing_check_and_leftover_braces_rejected(rows: pa.Table) -> None:
    t = _with(rows, 0, qa_type="no_such_type")
    _, bad = semantic.check_table(t)
    assert bad["check"][0].as_py() in ("missing_check", "no_such_type.error")
    assert "no semantic check" in bad["reason"][0].as_py()
    _, bad = semantic.check_table(_with(rows, 0, answer="{{ oops }}"))
    assert bad["check"][0].as_py() == "text.leftover"


def _write(root: Path, table: pa.Table) -> None:
    """The table's rows as a dataset's parts, listed in a manifest as a build lists them."""
    files, counts = {}, {"rejected": 0}
    for stage in (1, 2):
        for split in ("train", "test"):
            part = table.filter(pc.and_(pc.equal(table["stage"], stage),
                                        pc.equal(table["split"], split)))
            if part.num_rows:
                path = dataset.part_path(root, stage, split, "p")
                files[path.relative_to(root).as_posix()] = dataset.write_parquet_atomic(part, path)
                counts[f"stage{stage}/{split}"] = part.num_rows
    dataset.write_json_atomic({"files": files, "counts": counts}, root / "manifest.json")


def test_a_part_missing_a_schema_column_is_named(rows: pa.Table, tmp_path: Path) -> None:
    """A part written before ``channel_axes`` existed is refused, not read as nulls."""
    part = tmp_path / "stage1" / "train" / "old.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(rows.drop_columns(["channel_axes"]), part)
    with pytest.raises(InputError, match=r"missing column\(s\) \['channel_axes'\]: not a part "
                                         r"of a dataset with schema version 2") as info:
        dataset.read_stage(tmp_path, 1)
    assert info.value.path == str(part)
    assert dataset.read_stage(tmp_path, 1, columns=["row_id"]).num_rows == rows.num_rows


def test_dataset_checks_pass_and_fail_on_mixed_splits(rows: pa.Table, tmp_path: Path) -> None:
    one_method = rows.filter(pc.equal(rows["trend_method"], "robust"))
    _write(tmp_path / "ok", one_method)
    res = dataset_checks.run_dataset_checks(tmp_path / "ok", {"classes": [1, 2, 3, 4, 5, 6]})
    assert all(r["passed"] for r in res.values()), res
    split = one_method["split"].to_pylist()
    mixed = one_method.set_column(one_method.schema.get_field_index("split"), "split",
                                  pa.array(["test" if i % 2 else s for i, s in enumerate(split)]))
    _write(tmp_path / "mixed", mixed)
    res = dataset_checks.run_dataset_checks(tmp_path / "mixed")
    assert not res["subjects_disjoint"]["passed"]
    assert not res["samples_disjoint"]["passed"]
    assert not res["same_split_map"]["passed"]
    res = dataset_checks.run_dataset_checks(tmp_path / "ok", {"classes": [1]})
    assert not res["label_set"]["passed"]


@pytest.mark.e2e
def test_gx_suites_and_report(rows: pa.Table, tmp_path: Path) -> None:
    one_method = rows.filter(pc.equal(rows["trend_method"], "robust"))
    _write(tmp_path, one_method)
    summary = gx_suites.run_suites(tmp_path)
    assert summary["success"], summary["failed_suites"]
    assert (tmp_path / "validation" / "index.html").exists()
    assert json.loads((tmp_path / "validation" / "summary.json").read_text())["success"]
    assert all(n.endswith(f"_v{gx_suites.SUITE_VERSION}") for n in summary["suites"])
    report = validate_dataset(tmp_path, gx=False)
    assert report["passed"] and report["rows"] == one_method.num_rows and report["rejected"] == 0


@pytest.mark.e2e
def test_gx_suite_fails_on_bad_window(rows: pa.Table, tmp_path: Path) -> None:
    bad = rows.slice(0, 5)
    bad = bad.set_column(bad.schema.get_field_index("window_end"), "window_end",
                         pc.add(bad["window_end"], 3))
    _write(tmp_path, bad)
    summary = gx_suites.run_suites(tmp_path)
    assert not summary["success"]
    failed = [e for s in summary["suites"].values() for e in s["expectations"] if not e["success"]]
    assert any(e["expectation"] == "expect_column_pair_values_to_be_equal" for e in failed)


@pytest.fixture(scope="module")
def described() -> tuple:
    """The first embedded recording, its build settings and every row the generator makes."""
    return described_sample()


@pytest.mark.parametrize("qa_type", qa.QA_TYPES.names())
def test_every_phrasing_reads_back_on_real_rows(described: tuple, qa_type: str) -> None:
    """Each variant with each phrasing of every list, on real facts, passes its check: a
    new phrasing the checks cannot read (e.g. one that is a prefix of another) fails here."""
    rec, cfg, all_items = described
    pack = text.load_packs()[qa_type]
    items = [it for it in all_items if it.qa_type == qa_type][:2]
    assert items, f"no {qa_type} rows in the first recording"
    rounds = max(len(options) for options in pack.phrases.values())
    forced = []
    for it, variant, k in itertools.product(items, pack.variants, range(rounds)):
        out = text.render_variant(pack, variant, it.facts, cfg.seed, it.row_id, forced_phrase=k)
        forced.append(dataclasses.replace(it, question=out.question, answer=out.answer,
                                          template_id=out.template_id))
    _, bad = semantic.check_table(dataset.items_to_table(forced, rec, cfg.trend_params))
    assert bad.num_rows == 0, bad.select(["template_id", "answer", "reason"]).to_pylist()[:2]


def test_real_basicmotions_in_arbitrary_units_reads_true(shared_data: Path) -> None:
    """BasicMotions states no units: its accelerometer gets no posture row (no g to compare
    with) instead of a crash, and every other row of every QA type passes its check."""
    cfg = BuildConfig(dataset="bm", reader="uea", sample_rate_hz=10.0, classes=None,
                      stage1_window=(5, 50), stage2_window=40, stage2_stride=20)
    packs = text.load_packs()
    recs = list(itertools.islice(read("uea", shared_data / "basicmotions-uea"), 4))
    tables = [dataset.items_to_table(
        [it for ctx in pipeline.contexts(rec, cfg, pipeline.cut(rec, cfg))
         for it in qa.build_items(ctx, qa.builders_for_stage(ctx.window.stage), packs,
                                  cfg.trend_method, cfg.seed)], rec, cfg.trend_params)
        for rec in recs]
    table = pa.concat_tables(tables)
    good, bad = semantic.check_table(table)
    assert bad.num_rows == 0, bad.select(["template_id", "answer", "reason"]).to_pylist()[:2]
    made = set(pc.unique(good["qa_type"]).to_pylist())
    assert made == set(qa.QA_TYPES.names()) - {"posture", "transition"}
    assert set(table["channel_units"].combine_chunks().flatten().to_pylist()) == {"AU"}
