"""A dataset carries the template packs it was built with: a user's new variant and
rephrased phrases validate later, elsewhere, without the user's folder."""

from __future__ import annotations

import importlib.resources
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from flows.build import build_dataset
from flows.config import make_config
from generators import text
from generators.errors import InputError
from validation.reference_model.scoring import dataset_packs
from validation.report import validate_dataset

SPAN = ["My window: the {{ sensor }} from {{ start_s | s }} to {{ end_s | s }}.",
        "Here the {{ sensor }} runs from {{ start_s | seconds }} up to {{ end_s | seconds }}."]


@pytest.fixture(scope="module")
def moved(prefect_server, tmp_path_factory) -> tuple[Path, dict]:
    """A stage-1 build with a user pack (a new trend_summary variant, its ``span`` phrases
    rephrased), copied elsewhere once the user's folder is gone."""
    user = tmp_path_factory.mktemp("my_templates")
    pack = yaml.safe_load(importlib.resources.files("templates")
                          .joinpath("trend_summary.yaml").read_text(encoding="utf-8"))
    pack["version"] += 1
    pack["variants"].append({"name": "my_variant",
                             "question": "In my words, what does the {{ sensor }} do?"})
    pack["phrases"]["span"] = SPAN
    (user / "trend_summary.yaml").write_text(yaml.safe_dump(pack, sort_keys=False))
    out = tmp_path_factory.mktemp("out")
    summary = build_dataset(make_config("uci_har", stage="1", templates=user,
                                        reader_options={"experiments": [1]}), out=str(out))
    shutil.rmtree(user)
    copy = tmp_path_factory.mktemp("elsewhere") / "uci_har"
    shutil.copytree(out / "uci_har", copy)
    shutil.rmtree(out)
    return copy, summary


def _rows(root: Path) -> tuple[Path, pa.Table]:
    part = sorted(root.glob("stage1/*/*.parquet"))[0]
    return part, pq.read_table(part)


def test_user_variant_and_phrases_pass_and_travel_with_the_dataset(moved):
    root, summary = moved
    assert summary["counts"]["rejected"] == 0
    _, table = _rows(root)
    ids = table["template_id"].to_pylist()
    answers = [a for a, q in zip(table["answer"].to_pylist(), table["qa_type"].to_pylist())
               if q == "trend_summary"]
    assert "trend_summary/my_variant" in ids
    assert answers and all(a.startswith(("My window:", "Here the")) for a in answers)
    manifest = json.loads((root / "manifest.json").read_text())
    stored = text.load_saved_packs(root)
    assert set(manifest["templates"]) == {f"{t}.yaml" for t in stored} | {"_phrases.yaml"}
    assert stored["trend_summary"].version == manifest["template_versions"]["trend_summary"]
    assert [v.name for v in stored["trend_summary"].variants][-1] == "my_variant"
    assert stored["trend_summary"].phrases["span"] == tuple(SPAN)
    report = validate_dataset(root, gx=False)
    assert report["rows"] == table.num_rows and report["rejected"] == 0, report["by_check"]
    # what harqa verify reads the answers along: the user's pack, from the dataset
    assert dataset_packs(None, root)["trend_summary"].phrases["span"] == tuple(SPAN)


def test_a_hand_edited_answer_of_the_user_variant_is_caught(moved, tmp_path):
    root = tmp_path / "edited"
    shutil.copytree(moved[0], root)
    part, table = _rows(root)
    i = table["template_id"].to_pylist().index("trend_summary/my_variant")
    answers = table["answer"].to_pylist()
    answers[i] = answers[i].replace(" to ", " to 9", 1)
    pq.write_table(table.set_column(table.schema.get_field_index("answer"), "answer",
                                    pa.array(answers, pa.string())), part)
    report = validate_dataset(root, gx=False)
    assert [r["row_id"] for r in report["rejected_ids"]] == [table["row_id"][i].as_py()]


@pytest.mark.parametrize("damage, says", [("missing", "missing"), ("corrupt", "corrupt"),
                                          ("outside", "not a *.yaml file name")])
def test_missing_or_corrupt_stored_packs_are_named(moved, tmp_path, damage, says):
    root = tmp_path / "damaged"
    shutil.copytree(moved[0], root)
    victim = root / {"missing": f"{text.PACKS_DIR}/_phrases.yaml", "outside": "manifest.json",
                     "corrupt": f"{text.PACKS_DIR}/trend_summary.yaml"}[damage]
    if damage == "missing":
        victim.unlink()
    elif damage == "corrupt":
        victim.write_text(victim.read_text() + "\n# edited\n")
    else:  # a hand-edited manifest may not point a pack outside templates/
        manifest = json.loads(victim.read_text())
        manifest["templates"]["../README.md"] = "0" * 64
        victim.write_text(json.dumps(manifest))
    for read in (lambda: validate_dataset(root, gx=False),  # harqa validate
                 lambda: dataset_packs(None, root)):         # harqa verify
        with pytest.raises(InputError) as err:
            read()
        assert str(victim) in str(err.value) and says in str(err.value)
        assert "\n" not in str(err.value)
