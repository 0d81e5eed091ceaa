"""Ids from the input name files through one function: a hostile subject in a CSV cell
cannot write outside --out, and the rows keep it as written."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from flows.build import run_build
from flows.config import make_config
from generators.dataset import MAX_COMPONENT, file_component, part_path
from tests import fixtures_formats as ff

#: What users' files hold in a subject column, hostile or just unusual.
HOSTILE = ["x/../../ESCAPED", "/abs", "a\\b", "..", ".", "Zoë 用户", "%2F", "L" * 300,
           "L" * 299 + "M", "tab\tand space"]


@pytest.mark.parametrize(("name", "component"), [
    ("exp01_user01", "exp01_user01"),     # the ids of every built-in reader stay as they are
    ("subject101-part2-0003", "subject101-part2-0003"),
    ("x/../../ESCAPED", "x%2F..%2F..%2FESCAPED"),
    ("/abs", "%2Fabs"),
    ("a\\b", "a%5Cb"),
    (".", "%2E"),
    ("..", "%2E."),
    (".hidden", "%2Ehidden"),
    ("nul\x00", "nul%00"),
    ("%2F", "%252F"),
    ("Zoë 用户", "Zo%C3%AB%20%E7%94%A8%E6%88%B7"),
])
def test_file_component_known_answers(name, component):
    assert file_component(name) == component
    assert unquote(component) == name


def test_file_components_are_plain_distinct_names():
    names = [*HOSTILE, "nul\x00", "\ud800", "..." * 100]
    components = [file_component(n) for n in names]
    assert len(set(components)) == len(names)
    for c in components:
        assert "/" not in c and "\\" not in c and "\x00" not in c
        assert not c.startswith(".") and 0 < len(c) <= MAX_COMPONENT
    root = Path("/out/ds")
    assert all(part_path(root, 1, "train", n).parent == root / "stage1" / "train"
               for n in names)
    with pytest.raises(ValueError, match="empty id"):
        file_component("")


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_hostile_subjects_build_inside_out(tmp_path, prefect_server):
    rng = np.random.default_rng(5)
    work = tmp_path / "a" / "b"  # x/../../ESCAPED from out/ds/stage1/train would land in a/
    source = work / "in"
    source.mkdir(parents=True)
    n = 150
    frames = [pd.DataFrame({"user": user, "act": np.repeat(["walking", "sitting"], n // 2),
                            **{a: ff.dyadic(rng, (n,), 64) for a in ("ax", "ay", "az")}})
              for user in HOSTILE]
    pd.concat(frames).to_csv(source / "day1.csv", index=False, float_format=ff.FMT)
    spec = {"files": "*.csv", "dataset": "hostile", "sample_rate_hz": 25,
            "channels": [{"column": a, "name": f"wrist_acc_{a[1]}", "unit": "g"}
                         for a in ("ax", "ay", "az")],
            "label": {"column": "act", "names": ["walking", "sitting"]},
            "subject": {"column": "user"}}
    cfg = dataclasses.replace(
        make_config("uci_har", input=source, stage="2", test_subjects="..", name="hostile"),
        reader="tabular", reader_options={"spec": spec}, sample_rate_hz=25, channels=None,
        classes=None, stage2_window=50, stage2_stride=25, min_pass_rate=0.0)
    before = _tree(tmp_path)
    summary = run_build(cfg, out=str(work / "out"))
    new = _tree(tmp_path) - before
    assert new and all(p.startswith("a/b/out") for p in new), sorted(new)[:5]
    parts = sorted((work / "out" / "hostile").rglob("*.parquet"))
    subjects = set()
    for part in parts:
        table = pq.read_table(part, columns=["subject", "recording_id"])
        subjects |= set(table["subject"].to_pylist())
        [recording] = set(table["recording_id"].to_pylist())
        assert part.name == f"{file_component(recording)}.parquet"
    assert subjects == {s.strip() for s in HOSTILE}
    assert summary["counts"]["stage2/test"] > 0
