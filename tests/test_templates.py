"""Every template file and QA type: lint passes, variety, and lint catches common mistakes."""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import pytest

from generators.qa import QA_TYPES, facts_for, lint_contexts, lint_packs
from generators.text import (PHRASES_FILE, TemplatePack, Variant, lint_pack, load_packs,
                             render_variant, sentence_problems, shared_phrases)

PACKS = load_packs()
TEMPLATE_FILES = sorted(f.name for f in importlib.resources.files("templates").iterdir()
                        if f.name.endswith(".yaml") and f.name != PHRASES_FILE)
MIN_QUESTION_VARIANTS = 20
MIN_PHRASINGS = 10
SYNONYM_LISTS = {"up", "down", "steady"}


def test_builtin_packs_lint_clean():
    from flows.cli_templates import lint_templates

    code, out = lint_templates()
    assert (code, out) == (0, "all template packs are clean")


@pytest.mark.parametrize("file_name", TEMPLATE_FILES)
def test_template_file_is_a_pack_with_a_builder(file_name):
    qa_type = file_name.removesuffix(".yaml")
    assert qa_type in PACKS and qa_type in QA_TYPES


@pytest.mark.parametrize("qa_type", QA_TYPES.names())
def test_qa_type_has_variety(qa_type):
    pack = PACKS[qa_type]
    questions = {v.question for v in pack.variants}
    assert len(questions) >= MIN_QUESTION_VARIANTS
    for name, options in pack.phrases.items():
        # A one-entry list is a shared block (layout), not a sentence slot.
        assert len(options) == 1 or len(options) >= MIN_PHRASINGS or name in SYNONYM_LISTS, \
            f"{qa_type}: phrase list {name!r} has only {len(options)} phrasings"


@pytest.mark.parametrize("qa_type", QA_TYPES.names())
def test_every_variant_renders_on_builder_facts(qa_type):
    pack = PACKS[qa_type]
    facts = next(f for ctx in lint_contexts() for f in facts_for(qa_type, ctx)).values
    for variant in pack.variants:
        out = render_variant(pack, variant, facts, 5, "golden/row")
        assert out.template_id == f"{qa_type}/{variant.name}"
        assert out.question and out.answer
        assert sentence_problems(out.question, "question") == []
        assert sentence_problems(out.answer, pack.answer_style) == []


def _probe(question: str, answer: str = "Yes.", style: str = "sentences",
           fields=("sensor",), names=("v1",)) -> TemplatePack:
    shared = shared_phrases()
    return TemplatePack("probe", "1", tuple(fields),
                        tuple(Variant(n, question, answer) for n in names), shared,
                        "templates/probe.yaml", style)


SAMPLE = [{"sensor": "gyroscope"}]


@pytest.mark.parametrize("pack, message", [
    (_probe("What is {{ sensr }}?"), "undeclared variable 'sensr'"),
    (_probe("What is {{ sensor }}?", "{{ pick('nope') }}."), "pick('nope'): no such phrase list"),
    (_probe("What is {{ sensor }"), "Jinja syntax error"),
    (_probe("what is {{ sensor }}?"), "does not start with a capital letter"),
    (_probe("What is {{ sensor }}"), "does not end with a period or question mark"),
    (_probe("Is it {{ sensor }}? yes it is?"), "starts lowercase"),
    (_probe("Answer briefly. Can you confirm that {{ sensor }} moves."),
     "a question ends with a period"),
    (_probe("Q {{ sensor }}?", "It is {{ '{{' }} {{ sensor }}."), "leftover template braces"),
    (_probe("Q {{ sensor }}?", names=("same", "same")), "not unique"),
    (_probe("Q {{ sensor }}?", fields=("sensor", "ghost")), "declared field 'ghost'"),
    (_probe("Q {{ sensor | words }}?"), "does not render: ValueError"),
    (_probe("Q {{ ''.__class__ }}?"), "SecurityError"),
    (_probe("Q {{ trend.update({'up': 'down'}) }}?"), "SecurityError"),  # facts are read-only
    (_probe("Q?", "line one.\nline two.", style="lines"), "capital letter"),
    # Unseeded randomness would change the dataset from run to run.
    (_probe("Q {{ ['a', 'b'] | random }}?"), "unknown filter 'random' (it is unseeded"),
    (_probe("Q {{ lipsum(1) }}?"), "undeclared variable 'lipsum'"),
    (_probe("Q {{ sensor | nofilter }}?"), "unknown filter 'nofilter'; known: ["),
    (_probe("Q {% if sensor is nosuchtest %}x{% endif %}?"), "unknown test 'nosuchtest'"),
    # Python computes, templates phrase.
    (_probe("Q {{ n + 1 }}?", fields=("sensor", "n")), "arithmetic (+) in a template"),
    (_probe("Q {{ n * 60 }}?", fields=("sensor", "n")), "arithmetic (*)"),
    (_probe("Q {{ -n }}?", fields=("sensor", "n")), "arithmetic (unary -)"),
    (_probe("Q {{ a + b }}?", fields=("sensor", "a", "b")), "arithmetic (+)"),
    (_probe("Q {{ n | round(1) }}?", fields=("sensor", "n")), "filter 'round' computes"),
    (_probe("Q {{ sensor | length }}?"), "filter 'length' computes"),
])
def test_lint_catches_mistakes_and_names_file_and_variant(pack, message):
    issues = [str(i) for i in lint_pack(pack, SAMPLE)]
    hits = [i for i in issues if message in i]
    assert hits, issues
    assert all(i.startswith("templates/probe.yaml") for i in issues)
    if "declared field" not in message:  # a field is declared for the pack, not a variant
        assert all("[variant " in i for i in hits)


@pytest.mark.parametrize("question", [
    "Is the {{ sensor ~ ' axis' }} {{ 'raw ' + sensor }} {{ pick('data') }} steady?",
    "{% if n > 1 and not n == 3 %}Is it {{ n | words }}{% endif %}?",
])
def test_lint_lets_text_joins_and_comparisons_pass(question):
    assert lint_pack(_probe(question, fields=("sensor", "n")), [{"sensor": "gyroscope", "n": 2}]) \
        == []


@pytest.mark.parametrize("question, flagged", [
    ("Can you confirm that it rises.", ["Can you confirm that it rises."]),
    ("Answer yes or no. Is it the case that 0.5 g is the top.",
     ["Is it the case that 0.5 g is the top."]),
    ("Is this true? 1.31 g is the maximum.", []),  # the claim after the question is fine
    ("How fast is it? Answer in 2.5 s steps.", []),
    ("Whether it rises is asked. Which axis?", []),
])
def test_question_sentences_opening_with_an_asking_word_end_with_a_question_mark(
        question, flagged):
    assert sentence_problems(question, "question") == [
        f"a question ends with a period: {s!r}" for s in flagged]
    assert sentence_problems(question, "sentences") == []  # statements may open so


def test_lint_flags_pack_without_builder(tmp_path: Path):
    (tmp_path / "orphan.yaml").write_text(
        "qa_type: orphan\nversion: 1\nfields: [x]\nvariants:\n"
        "  - name: a\n    question: 'Why?'\n    answer: 'Because.'\n", encoding="utf-8")
    issues = [str(i) for i in lint_packs(load_packs(tmp_path))]
    assert any("orphan.yaml" in i and "no builder" in i for i in issues)


# The CLI bodies (flows/cli_templates.py).
def test_cli_list_json_names_every_pack():
    import json

    from flows.cli_templates import list_templates

    rows = json.loads(list_templates(format="json"))
    assert {r["qa_type"] for r in rows} == set(PACKS)
    assert all(r["stage"] in (1, 2) and r["variants"] >= MIN_QUESTION_VARIANTS for r in rows)
    assert "trend_summary" in list_templates()


def test_cli_lint_json_reports_issue_with_file_and_variant(tmp_path: Path):
    import json

    from flows.cli_templates import lint_templates

    text = (importlib.resources.files("templates") / "counting.yaml").read_text(encoding="utf-8")
    raised = re.sub(r"^version: (\d+)$", lambda m: f"version: {int(m.group(1)) + 1}", text,
                    count=1, flags=re.M)  # an overlay must raise the built-in version
    broken = raised.replace(
        "name: count\n    question: \"Count", "name: count\n    question: \"Count {{ nn }}")
    (tmp_path / "counting.yaml").write_text(broken, encoding="utf-8")
    code, out = lint_templates(tmp_path, "json")
    issues = json.loads(out)["issues"]
    assert code == 1 and issues
    assert issues[0]["path"].endswith("counting.yaml") and issues[0]["variant"] == "variant count"
    assert "'nn'" in issues[0]["message"]


def test_cli_lint_reports_unloadable_file(tmp_path: Path):
    from flows.cli_templates import lint_templates

    (tmp_path / "broken.yaml").write_text("qa_type: broken\nversion: [\n", encoding="utf-8")
    code, out = lint_templates(tmp_path)
    assert code == 1 and "broken.yaml" in out and "line" in out


def test_cli_preview_renders_from_the_embedded_sample():
    import json

    from flows.cli_templates import preview_templates

    rows = json.loads(preview_templates("trend_summary", 2, format="json"))
    assert len(rows) == 2 and all(r["template_id"].startswith("trend_summary/") for r in rows)
    assert rows[0]["facts"]["sensor"].endswith("accelerometer")


# Golden renderings: every variant of every pack on fixed facts and seed. The facts are
# stored with the expected text, so only a template change alters the output; such a
# change must come with a higher `version` (the versioning rule). After raising the
# version, rewrite the file with HARQA_UPDATE_GOLDEN=1 and review the diff.
GOLDEN_FILE = Path(__file__).parent / "golden" / "templates.json"
GOLDEN_SEED = 2024


def _qa(rendered) -> list[str]:
    return [rendered.question, rendered.answer]


def _golden_entry(qa_type: str, facts: dict) -> dict:
    pack = PACKS[qa_type]
    return {"version": pack.version, "facts": facts, "variants": {
        v.name: _qa(render_variant(pack, v, facts, GOLDEN_SEED, f"golden/{qa_type}"))
        for v in pack.variants}}


def _load_golden() -> dict:
    import json

    return json.loads(GOLDEN_FILE.read_text(encoding="utf-8")) if GOLDEN_FILE.exists() else {}


@pytest.mark.parametrize("qa_type", QA_TYPES.names())
def test_golden_rendering_per_variant(qa_type):
    import json
    import os

    golden = _load_golden()
    if os.environ.get("HARQA_UPDATE_GOLDEN") == "1":
        facts = golden.get(qa_type, {}).get("facts") or json.loads(json.dumps(
            next(f for ctx in lint_contexts() for f in facts_for(qa_type, ctx)).values))
        golden[qa_type] = _golden_entry(qa_type, facts)
        GOLDEN_FILE.write_text(json.dumps(golden, indent=1, sort_keys=True, ensure_ascii=False)
                               + "\n", encoding="utf-8")
    assert qa_type in golden, f"no golden renderings for {qa_type}: run with HARQA_UPDATE_GOLDEN=1"
    want = golden[qa_type]
    got = _golden_entry(qa_type, want["facts"])
    if got["version"] == want["version"]:
        assert got["variants"] == want["variants"], (
            f"templates/{qa_type}.yaml renders differently at the same version "
            f"{want['version']}: raise its version, then refresh the golden file")
    else:
        pytest.fail(f"templates/{qa_type}.yaml is at version {got['version']}, the golden file "
                    f"at {want['version']}: refresh it with HARQA_UPDATE_GOLDEN=1")
