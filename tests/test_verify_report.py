"""``harqa verify``'s calibration and one-page report; the sensitivity benchmark's corruptions."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from generators.dataset import file_sha256
from validation.reference_model import calibration
from validation.reference_model.settings import settings_for

CURVE = {"doses": [0, 5, 10, 25], "mean": [0.30, 0.20, 0.21, 0.05], "std": [0.01] * 4,
         "n": [3] * 4}


def _bench():
    path = Path(__file__).parents[1] / "benchmarks" / "bench_verify_sensitivity.py"
    spec = importlib.util.spec_from_file_location("bench_verify_sensitivity", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("score, percent", [(0.35, 0.0), (0.30, 0.0), (0.25, 2.5),
                                            (0.20, 5.0), (0.125, 17.5), (0.05, 25.0),
                                            (0.0, 25.0)])
def test_misaligned_percent_reads_the_curve(score, percent):
    # the mean at 10 % (0.21) is above 5 %'s: the running minimum reads 0.20 there
    assert calibration.misaligned_percent(score, CURVE) == pytest.approx(percent)


def test_quick_runs_on_one_thread_unless_told_otherwise():
    # the calibration was measured on one thread; the full preset keeps torch's default
    assert settings_for("cpu", "quick").threads == 1
    assert settings_for("cpu", "quick", threads=None).threads == 1
    assert settings_for("cpu", "quick", threads=0).threads == 0
    assert settings_for("cpu", "full", threads=None).threads == 0


def test_readings_only_for_the_settings_the_curve_was_measured_with():
    quick = settings_for("cpu", "quick")
    doc = {"settings": quick.to_dict(), "curves": {"swap": CURVE, "flip": CURVE}}
    assert calibration.readings(0.25, doc, settings_for("cpu", "quick", seed=4, threads=1)) == {
        "swap": (2.5, False), "flip": (2.5, False)}
    assert calibration.readings(0.01, doc, settings_for("cpu", "quick"))["swap"] == (25.0, True)
    assert calibration.readings(0.25, doc, settings_for("cpu")) is None
    assert calibration.readings(None, doc, quick) is None
    assert calibration.readings(0.25, None, quick) is None


def test_shipped_calibration_is_read_by_the_quick_preset():
    doc = calibration.load()
    if doc is None:
        pytest.skip("no calibration.json shipped")
    assert calibration.applies(doc, settings_for("cpu", "quick"))
    for curve in doc["curves"].values():
        assert curve["doses"][0] == 0 and len(curve["mean"]) == len(curve["doses"])


def test_unknown_preset_lists_known():
    from generators.registry import UnknownNameError

    with pytest.raises(UnknownNameError, match="known: full, quick"):
        settings_for("cpu", "fast")


def test_flip_turns_every_direction_word_over():
    words = {"rising": "falling", "falling": "rising", "upward": "downward",
             "downward": "upward"}
    got = _bench().flip_directions("Rising from 0.1 s, then falling; upward, steady.", words)
    assert got == "Falling from 0.1 s, then rising; downward, steady."


def test_curves_and_verdicts_from_runs():
    runs = [{"kind": "clean", "dose": 0, "seed": k, "score": v, "cpu_seconds": 1.0}
            for k, v in enumerate([0.40, 0.42, 0.41])]
    runs += [{"kind": "swap", "dose": 5, "seed": k, "score": v, "cpu_seconds": 1.0}
             for k, v in enumerate([0.36, 0.37, 0.38])]
    args = argparse.Namespace(dataset=Path("demo"), preset="quick", device="cpu", jobs=1)
    doc = _bench().results(args, ["swap"], [0, 5], [0, 1, 2], runs, {})
    curve = doc["curves"]["swap"]
    assert (curve["doses"], curve["mean"], curve["std"], curve["n"]) == (
        [0, 5], [0.41, 0.37], [0.01, 0.01], [3, 3])
    assert curve["monotone"] and curve["drop_at_5"] == 0.04 and curve["sds_at_5"] == 4.0
    assert curve["separated_at_5"] and doc["cpu_seconds_runs"] == 6.0
    # paired by seed: drops 0.04, 0.05, 0.03
    assert curve["paired_drops_at_5"] == [0.04, 0.05, 0.03]
    assert curve["paired_sds_at_5"] == 4.0 and curve["paired_separated_at_5"]
    assert calibration.curve_document(doc)["curves"] == {"swap": {
        k: curve[k] for k in ("doses", "mean", "std", "n")}}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    from test_reference_model import write_dataset

    root = write_dataset(tmp_path_factory.mktemp("syn"), train_per_subject=40,
                         test_per_subject=10)
    files = {p.relative_to(root).as_posix(): file_sha256(p)
             for p in root.glob("stage*/*/*.parquet")}
    (root / "manifest.json").write_text(json.dumps({"files": files}))
    return root


def _stage1(root: Path) -> list[dict]:
    return [r for p in sorted(root.glob("stage1/*/*.parquet"))
            for r in pq.read_table(p).to_pylist()]


@pytest.mark.parametrize("kind", ["swap", "shift"])
def test_corrupted_copy_matches_its_manifest_and_nests(synthetic, tmp_path, kind):
    bench = _bench()
    before = _stage1(synthetic)
    ids = [b["row_id"] for b in before]
    picked = {p: {i for i, k in zip(ids, bench._picked(ids, p)) if k} for p in (20, 50)}
    assert picked[20] < picked[50]  # the rows hit at 20 % are hit at 50 % too
    for percent in (20, 50):
        target = tmp_path / f"{kind}_{percent}"
        counts = bench.corrupt(synthetic, target, kind, percent)
        manifest = json.loads((target / "manifest.json").read_text())
        assert {k: file_sha256(target / k) for k in manifest["files"]} == manifest["files"]
        after = _stage1(target)
        changed = {a["row_id"] for a, b in zip(after, before) if a != b}
        assert counts == {"rows": len(before), "picked": len(picked[percent]),
                          "changed": len(changed)}
        assert changed <= picked[percent] and len(changed) > 0.5 * len(picked[percent])
        assert 0.5 * percent < 100 * len(picked[percent]) / len(before) < 1.5 * percent
        subjects = {}
        for b in before:
            subjects.setdefault((b["qa_type"], b["answer"], b["facts"]), set()).add(b["subject"])
        for a, b in zip(after, before):
            if a == b:
                continue
            if kind == "swap":  # another subject's answer of the same type, facts with it
                assert a["series"] == b["series"]
                assert subjects[(a["qa_type"], a["answer"], a["facts"])] - {b["subject"]}
            else:  # rotated by half the window, text untouched
                n = len(b["series"][0])
                assert a["answer"] == b["answer"]
                assert [list(np.roll(c, -(n // 2))) for c in b["series"]] == a["series"]
        shutil.rmtree(target)


@pytest.fixture(scope="module")
def verified(synthetic, tmp_path_factory) -> tuple[Path, dict]:
    pytest.importorskip("torch")
    from test_reference_model import TINY
    from validation.reference_model import verify

    root = tmp_path_factory.mktemp("verified") / "syn"
    shutil.copytree(synthetic, root)
    # the quick preset's path: nothing generated, teacher-forced measures only
    report = verify(root, settings_for("cpu", "quick", **{**TINY, "max_answer_tokens": 0}))
    return root / "reference_model", report.to_json()


@pytest.mark.model
def test_html_report_is_one_self_contained_page(verified):
    out, doc = verified
    page = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    for heading in ("Calibration", "Stage 1 scores", "Every QA type", "Label stability",
                    "Stage 2 activity",
                    "Learning curves", "Timings"):
        assert f"<h2>{heading}</h2>" in page
    assert f"<b>{doc['alignment_gap']:.3f}</b>" in page
    images = re.findall(r'src="data:image/png;base64,[^"]+"', page)
    assert len(images) == 2 + (calibration.load() is not None)  # confusion, learning, curve
    # TINY settings are not the quick preset's: the score is not read on the curve
    assert "settings differ" in page or calibration.load() is None
    types = page.split("<h2>Every QA type</h2>")[1].split("<h2>")[0]
    assert "<td>activity</td>" in types and "trend_analysis" not in types  # none generated
    assert doc["stage1"]["aligned"].get("trend_accuracy") is None
    assert "generated answers" in doc["stage1"]["unavailable"]
    assert "## Calibration" in (out / "report.md").read_text()


@pytest.mark.model
def test_html_report_renders_in_chromium(verified, tmp_path):
    from test_gx_suites import _chromium  # skips where no chromium is installed

    browser = _chromium()
    out, _ = verified
    harness = out / "harness.html"
    # the page in a frame; the frame's images as the browser decoded them, into the title
    harness.write_text(
        "<html><head><title>pending</title></head><body><iframe id='f' src='report.html'>"
        "</iframe><script>document.getElementById('f').onload=function(){"
        "var im=Array.from(this.contentDocument.images);"
        "document.title=im.length+' images, '+im.filter(function(i){return i.naturalWidth>0})"
        ".length+' decoded, '+this.contentDocument.querySelectorAll('h2').length+' sections';"
        "};</script></body></html>")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         f"--user-data-dir={tmp_path / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--virtual-time-budget=10000", "--dump-dom", harness.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    title = re.search(r"<title>(.*?)</title>", dom, re.S)[1]
    n = 2 + (calibration.load() is not None)
    assert title == f"{n} images, {n} decoded, 7 sections"
