"""The GX suites accept every class name users bring and keep their values out of the Data
Docs' markup: each page is loaded in headless Chromium and no label's script may run."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from generators import dataset, pipeline, presets, text
from generators.config import BuildConfig
from generators.readers.uci_har import read_activity_labels
from tests.conftest import SAMPLE
from validation import gx_suites

#: What a page's title becomes when a label's script runs.
MARK = "HARQA-XSS"
SCRIPTS = [f"<script>document.title='{MARK}'</script>",
           f"<img src=x onerror=\"document.title='{MARK}'\">",
           f"</div></td><svg onload=\"document.title='{MARK}'\">"]
#: Names with the characters a regex character class or an HTML page trips on.
AWKWARD = ["knees bending (crouching)", "jump front & back", "Tom's walk", 'say "hi" twice',
           "sit/stand", "a.b*c+?", r"back\slash", "café au lait", "步行", "Ελληνικά 🏃"]
UNDECLARED = ["jumping jacks", f"{SCRIPTS[0]} (undeclared)",
              f"<img src=y onerror=\"document.title='{MARK}'\">"]


def preset_class_names(name: str) -> list[str]:
    """The official names of a preset's classes, from its reader's label map."""
    preset = presets.load(name)
    reader = importlib.import_module(f"generators.readers.{preset.reader}")
    if preset.reader == "capture24":
        names = reader.scheme_labels(**preset.reader_options)[1]
    elif preset.reader == "uci_har":
        names = read_activity_labels(SAMPLE / "activity_labels.txt")
    else:
        names = reader.LABEL_NAMES
    return [names[c] for c in preset.classes or names]


DECLARED = sorted({n for p in presets.names() for n in preset_class_names(p)}
                  | set(AWKWARD) | set(SCRIPTS))


def _with_activities(table: pa.Table, names: list[str]) -> pa.Table:
    """The first ``len(names)`` rows of ``table``, row ``i`` labelled ``names[i]``."""
    part = table.slice(0, len(names))
    assert part.num_rows == len(names)
    return part.set_column(part.schema.get_field_index("activity"), "activity",
                           pa.array(names, pa.string()))


@pytest.fixture(scope="module")
def validated(tmp_path_factory) -> tuple[Path, dict]:
    """Stage 1 labelled with every declared name; stage 2 with them and undeclared ones,
    one answer holding leftover braces around a script: run through the suites once, the
    declared names read from the manifest."""
    cfg = BuildConfig()
    rec = next(pipeline.recordings(cfg))
    items = pipeline.describe(rec, cfg, text.load_packs(), span=(0, 4000)).items
    table = dataset.items_to_table(items, rec, cfg.trend_params)
    root = tmp_path_factory.mktemp("gx")
    s1 = _with_activities(table.filter(pc.equal(table["stage"], 1)), DECLARED)
    s2 = _with_activities(table.filter(pc.equal(table["stage"], 2)), DECLARED + UNDECLARED)
    answers = s2["answer"].to_pylist()
    answers[0] = f"{{{{ {SCRIPTS[0]} }}}}"
    s2 = s2.set_column(s2.schema.get_field_index("answer"), "answer", pa.array(answers))
    for stage, part in ((1, s1), (2, s2)):
        dataset.write_parquet_atomic(part, dataset.part_path(root, stage, "train", "p"))
    # the names a build declares reach `harqa validate` through the manifest
    dataset.write_json_atomic({"activities": DECLARED, "files": {}}, root / "manifest.json")
    return root, gx_suites.run_suites(root)


@pytest.mark.e2e
def test_every_preset_class_name_and_awkward_names_pass(validated):
    _, summary = validated
    assert {"knees bending (crouching)", "jump front & back"} <= set(DECLARED)
    suites = summary["suites"]
    stage1 = suites[gx_suites.suite_name("stage1")]
    assert stage1["success"], [e for e in stage1["expectations"] if not e["success"]]
    assert stage1["rows"] == len(DECLARED)
    assert suites[gx_suites.suite_name("rejected")]["success"]


@pytest.mark.e2e
def test_undeclared_names_and_leftover_braces_fail_with_their_values(validated):
    _, summary = validated
    stage2 = summary["suites"][gx_suites.suite_name("stage2")]
    failed = {(e["expectation"], e["column"]): e for e in stage2["expectations"]
              if not e["success"]}
    assert set(failed) == {("expect_column_values_to_be_in_set", "activity"),
                           ("expect_column_values_to_not_match_regex", "answer")}
    in_set = failed["expect_column_values_to_be_in_set", "activity"]
    assert in_set["failed"] == len(UNDECLARED)
    assert sorted(in_set["examples"]) == sorted(UNDECLARED)  # as they are, not escaped
    assert failed["expect_column_values_to_not_match_regex", "answer"]["examples"] == [
        f"{{{{ {SCRIPTS[0]} }}}}"]


def test_escaping_is_html_escape():
    import html

    values = AWKWARD + SCRIPTS + ["&amp;", "&lt;"]
    assert gx_suites.escape_html(pa.array(values)).to_pylist() == [html.escape(v)
                                                                   for v in values]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium): the Data Docs "
                    "pages cannot be run in a browser")
    return found


def _title_in_browser(browser: str, page: Path, profile: Path) -> str:
    """The page's title after headless Chromium ran its scripts (network names unresolved)."""
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r"<title>(.*?)</title>", dom, re.S)
    return found[1].strip() if found else ""


@pytest.mark.e2e
def test_no_label_script_runs_in_the_data_docs(validated, tmp_path):
    browser = _chromium()
    root, _ = validated
    control = tmp_path / "control.html"
    control.write_text(f"<html><head><title>x</title></head><body>{SCRIPTS[0]}</body></html>")
    assert _title_in_browser(browser, control, tmp_path / "profile") == MARK  # scripts do run
    pages = sorted((root / "validation").rglob("*.html"))
    assert len(pages) >= 7  # the index, 3 suites, 3 validation results
    titles = {p.relative_to(root).as_posix(): _title_in_browser(browser, p, tmp_path / "profile")
              for p in pages}
    assert all(t and t != MARK for t in titles.values()), titles


def test_batches_hand_gx_contiguous_columns_and_list_lengths():
    """Parts regroup into frames of at least ``rows`` rows whose columns are one Arrow chunk
    each (GX's row filters then take rows, not copy whole columns); a list column reaches
    GX as its length, a null list as a null length; the series as its helper columns."""
    from generators.schema import schemas
    from tests.conftest import described_sample

    rec, cfg, items = described_sample()
    table = dataset.items_to_table(list(items[:60]), rec, cfg.trend_params)
    names = table["channel_names"].to_pylist()
    names[26] = None
    parts = [table.slice(0, 25), table.slice(25, 25).set_column(
        table.schema.get_field_index("channel_names"),
        pa.field("channel_names", pa.list_(pa.string())), pa.array(names[25:50])),
        table.slice(50)]
    frames = list(gx_suites.batches(iter(parts), table.schema, rows=40))
    assert [len(f) for f in frames] == [50, 10]
    first = frames[0]
    assert all(first[c].array._pa_array.num_chunks == 1 for c in ("question", "answer"))
    expect = [len(n) for n in table["channel_names"].to_pylist()[:50]]
    assert first["channel_names"].tolist()[:26] == expect[:26]
    assert first["channel_names"].isna().tolist() == [False] * 26 + [True] + [False] * 23
    assert first["n_channels"].tolist() == [len(s) for s in table["series"].to_pylist()[:50]]
    assert first["series_length"].tolist() == [len(s[0]) for s in
                                               table["series"].to_pylist()[:50]]
    assert "series" not in first
    (empty,) = gx_suites.batches(iter([]), schemas(True)[0])
    assert len(empty) == 0 and "series_length" in empty
