"""Rendering layer: filters, deterministic choices, sandbox, StrictUndefined, pack loading."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from generators import text
from generators.errors import InputError
from generators.text import (FILTERS, TemplatePack, Variant, compile_template, fmt_number,
                             load_packs, render, render_variant, synonym_set)

SHARED = load_packs()["trend_summary"].phrases


def _pack(question: str, answer: str = "Yes.", **phrases: tuple[str, ...]) -> TemplatePack:
    return TemplatePack("probe", "1", ("x",), (Variant("v", question, answer),),
                        {**SHARED, **phrases})


@pytest.mark.parametrize("name, args, expected", [
    ("words", (3,), "three"),
    ("words", (21,), "twenty-one"),
    ("a", ("accelerometer",), "an accelerometer"),
    ("a", ("upward trend",), "an upward trend"),
    ("a", ("steady trend",), "a steady trend"),
    ("plural", ("segment", 1), "segment"),
    ("plural", ("segment", 2), "segments"),
    ("plural", ("is", 3), "are"),
    ("s", (0.24,), "0.24s"),
    ("s", (1.5,), "1.50s"),
    ("seconds", (0.1,), "0.10 seconds"),
    ("sec", (2.0,), "2.00"),
    ("num", (0.123,), "0.123"),
    ("num", (-0.0,), "0.0"),
    ("num", (0.1, 2), "0.10"),
    ("num", (-0.001, 2), "0.00"),
    ("num", (7,), "7"),
    ("unit", (0.981, "g"), "0.981 g"),
    ("unit", (-1.25, "rad/s"), "-1.25 rad/s"),
    ("cap", ("waist x-axis accelerometer",), "Waist x-axis accelerometer"),
    ("join_and", (["x", "y", "z"],), "x, y, and z"),
])
def test_filters(name, args, expected):
    assert FILTERS[name](*args) == expected


def test_fmt_number_refuses_bool():
    with pytest.raises(TypeError):
        fmt_number(True)


def test_words_refuses_fraction():
    with pytest.raises(TypeError):
        FILTERS["words"](2.5)


def test_synonym_set_pairs_up_and_down():
    for i in range(50):
        words = synonym_set(SHARED, 3, f"row{i}")
        k = SHARED["up"].index(words["up"])
        assert words["down"] == SHARED["down"][k]
        assert words["steady"] in SHARED["steady"]


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ x.__class__ }}",
])
def test_sandbox_refuses_python_internals(source):
    with pytest.raises(SecurityError):
        render_variant(_pack(source), _pack(source).variants[0], {"x": 1}, 0, "r")


def test_undefined_variable_fails():
    pack = _pack("What is {{ not_a_fact }}?")
    with pytest.raises(UndefinedError, match="not_a_fact"):
        render(pack, {"x": 1}, 0, "r")


def test_unknown_phrase_list_names_known_lists():
    pack = _pack("{{ pick('nope') }}?")
    with pytest.raises(KeyError, match="connector"):
        render(pack, {"x": 1}, 0, "r")


def test_pick_passes_loop_items_to_nested_phrases():
    pack = _pack("Q?", "{% for t in items %}{{ pick('outer', loop.index, t=t) }} {% endfor %}",
                 outer=("[{{ pick('inner') }}]",), inner=("{{ t }}",))
    assert render(pack, {"items": [1, 2]}, 0, "r").answer == "[1] [2]"


def test_render_is_deterministic_and_varied():
    pack = load_packs()["trend_summary"]
    facts = {"sensor": "waist x-axis accelerometer", "unit": "g", "start_s": 0.0, "end_s": 0.4,
             "n_trends": 2, "n_changes": 3,
             "times": [{"dir": "down", "seconds": 0.1}, {"dir": "up", "seconds": 0.3}],
             "overall": "up"}
    first = [render(pack, facts, 7, f"w/{i}") for i in range(60)]
    again = [render(pack, facts, 7, f"w/{i}") for i in range(60)]
    assert first == again
    assert len({r.question for r in first}) >= 15
    assert len({r.answer for r in first}) >= 50
    assert render(pack, facts, 8, "w/0") != render(pack, facts, 7, "w/0") or \
        render(pack, facts, 8, "w/1") != render(pack, facts, 7, "w/1")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """qa_type: {name}
version: {version}
fields: [sensor]
variants:
  - name: only
    question: "What is this {{{{ sensor }}}}?"
    answer: "It is {{{{ sensor }}}} ({{{{ trend.up }}}})."
"""


def test_overlay_adds_a_new_qa_type(tmp_path):
    _write(tmp_path / "my_type.yaml", MINIMAL.format(name="my_type", version=1))
    packs = load_packs(tmp_path)
    assert "my_type" in packs and "trend_summary" in packs
    out = render(packs["my_type"], {"sensor": "gyro"}, 0, "r")
    assert out.question == "What is this gyro?"
    assert out.template_id == "my_type/only" and out.template_version == "1"


def test_overlay_with_higher_version_replaces_builtin(tmp_path):
    _write(tmp_path / "trend_summary.yaml", MINIMAL.format(name="trend_summary", version=99))
    pack = load_packs(tmp_path)["trend_summary"]
    assert pack.version == "99"
    assert render(pack, {"sensor": "gyro"}, 0, "r").answer.startswith("It is gyro")


def test_overlay_without_higher_version_is_refused(tmp_path):
    path = _write(tmp_path / "trend_summary.yaml", MINIMAL.format(name="trend_summary", version=1))
    with pytest.raises(InputError, match="raise version") as err:
        load_packs(tmp_path)
    assert err.value.path == str(path)


def test_overlay_phrases_change_the_words(tmp_path):
    _write(tmp_path / "_phrases.yaml", "phrases:\n  up: [skyward]\n  down: [earthward]\n")
    _write(tmp_path / "my_type.yaml", MINIMAL.format(name="my_type", version=1))
    out = render(load_packs(tmp_path)["my_type"], {"sensor": "gyro"}, 0, "r")
    assert out.answer == "It is gyro (skyward)."


@pytest.mark.parametrize("text, message, line", [
    ("qa_type: bad\nversion: 1\nfields: [a\n", "not valid YAML", 4),
    ("qa_type: other\nversion: 1\nfields: [a]\nvariants: []\n", "must equal the file name", None),
    ("qa_type: bad\nversion: one\nfields: [a]\n", "positive integer", None),
    ("qa_type: bad\nversion: 1\nfields: [a]\nvariants:\n  - name: v\n    question: 'Q?'\n",
     "answer must be a non-empty string", None),
    ("qa_type: bad\nversion: 1\nfields: [a]\nanswer_style: poem\n", "answer_style", None),
    ("qa_type: bad\nversion: 1\nfields: [a]\nextra: 1\n", "unknown keys", None),
])
def test_malformed_pack_names_file_and_place(tmp_path, text, message, line):
    path = _write(tmp_path / "bad.yaml", text)
    with pytest.raises(InputError, match=message) as err:
        load_packs(tmp_path)
    assert err.value.path == str(path)
    assert err.value.line == line


def test_overlay_dir_must_exist(tmp_path):
    with pytest.raises(InputError, match="directory"):
        load_packs(tmp_path / "missing")


def test_compile_is_cached():
    assert compile_template("{{ x }}") is compile_template("{{ x }}")


def test_one_synonym_set_per_row():
    pack = load_packs()["trend_analysis"]
    phrases = pack.phrases
    facts = {"sensor": "gyro", "start_s": 0.0, "end_s": 0.3, "n_trends": 3,
             "segments": [{"t0": 0.0, "t1": 0.1, "dir": "up"}, {"t0": 0.1, "t1": 0.2, "dir": "down"},
                          {"t0": 0.2, "t1": 0.3, "dir": "steady"}],
             "counts": [{"dir": "up", "n": 1}, {"dir": "down", "n": 1}, {"dir": "steady", "n": 1}]}
    sets = [{"up": u, "down": d} for u, d in zip(phrases["up"], phrases["down"])]
    for i in range(40):
        text = render(pack, facts, 1, f"row{i}").answer.lower()
        used = [k for k, s in enumerate(sets) if s["up"] in text and s["down"] in text]
        assert len(used) == 1, text
        others = [w for k, s in enumerate(sets) if k != used[0] for w in s.values()]
        assert not any(f": {w}" in text for w in others), text
        assert sum(f": {w}\n" in text + "\n" for w in phrases["steady"]) == 1, text


@pytest.mark.parametrize("first, second", [
    (0.5, 0.25),           # a fact named like the global `range` shadows it
    (1, 1.0),              # equal in Python, rendered differently
    (0.0, -0.0),
    (1, True),
    ([1, 2], [2, 1]),      # order matters
    ({"a": 1}, {"a": 2}),
])
def test_a_phrasing_renders_every_value_it_reads_as_given(first, second):
    pack = _pack("Q?", "{{ pick('line') }}", line=("range {{ range }}.",))
    out = [render(pack, {"range": v}, 0, "r").answer for v in (first, second)]
    assert out == [f"range {first}.", f"range {second}."]


def test_a_phrasing_picks_its_own_phrasings_per_row():
    pack = _pack("Q?", "{{ pick('outer') }}", outer=("<{{ pick('inner') }}>",),
                 inner=("a", "b", "c"))
    rows = [render(pack, {"x": 1}, 0, f"r{i}").answer for i in range(30)]
    assert set(rows) == {"<a>", "<b>", "<c>"}


@pytest.mark.parametrize("source", [
    "{{ trend.update({'up': 'down'}) }}Q?",
    "{{ x.append(3) }}Q?",
    "{{ x.pop() }}Q?",
    "{{ d.clear() }}Q?",
])
def test_user_templates_cannot_mutate_what_they_are_handed(source):
    """A user pack renders in the immutable sandbox: a mutating call is refused and the
    facts stay as the builder computed them."""
    facts = {"x": [1, 2], "d": {"k": 1}}
    pack = _pack(source)
    assert not pack.trusted
    with pytest.raises(SecurityError):
        render_variant(pack, pack.variants[0], facts, 0, "r")
    assert facts == {"x": [1, 2], "d": {"k": 1}}


def test_builtin_packs_are_trusted_unless_user_phrases_join_them(tmp_path):
    builtin = load_packs()
    assert all(p.trusted for p in builtin.values())
    (tmp_path / "counting.yaml").write_text(
        Path(builtin["counting"].path).read_text().replace("version: ", "version: 1", 1))
    overlay = load_packs(tmp_path)
    assert not overlay["counting"].trusted and overlay["trend_summary"].trusted
    (tmp_path / "_phrases.yaml").write_text("phrases:\n  data: [signal]\n")
    assert not any(p.trusted for p in load_packs(tmp_path).values())


def test_builtin_packs_render_the_same_outside_the_sandbox():
    """Every variant and phrasing of every built-in pack (lint's samples) renders to the
    same text in TRUSTED_ENV as in the sandbox."""
    from generators.qa import facts_for, lint_contexts

    contexts = list(lint_contexts())
    for qa_type, pack in sorted(load_packs().items()):
        samples = [f.values for ctx in contexts for f in facts_for(qa_type, ctx)][:4]
        boxed = dataclasses.replace(pack, trusted=False)
        rounds = max(len(options) for options in pack.phrases.values())
        for k in range(rounds):
            for i, variant in enumerate(pack.variants):
                facts = samples[(k + i) % len(samples)]
                assert render_variant(pack, variant, facts, 1, f"r{k}", forced_phrase=k) == \
                    render_variant(boxed, variant, facts, 1, f"r{k}", forced_phrase=k)


def test_what_a_template_sets_stays_in_it():
    """Templates of a row share one Jinja context; a top-level set reaches no other."""
    pack = _pack("{% set x = 1 %}{{ x }} {{ pick('p') }}?", "{{ x is defined }}",
                 p=("{{ x is defined }}",))
    for trusted in (True, False):
        out = render(dataclasses.replace(pack, trusted=trusted), {"x_": 0}, 0, "r")
        assert (out.question, out.answer) == ("1 False?", "False")


def test_rendering_leaves_no_reference_cycles():
    """A finished row is freed by reference counting: no garbage for the collector."""
    import gc

    from generators.qa import facts_for, lint_contexts

    rows = [(pack, f.values) for qa_type, pack in sorted(load_packs().items())
            for ctx in lint_contexts() for f in facts_for(qa_type, ctx)]
    rows += [(dataclasses.replace(pack, trusted=False), facts) for pack, facts in rows]
    for pack, facts in rows:  # compiling the templates leaves garbage of its own
        render(pack, facts, 0, "warm")
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collector finds, to see whose it is
    try:
        for k, (pack, facts) in enumerate(rows):
            render(pack, facts, 0, f"r{k}")
        gc.collect()
        # other threads of the test process (a flow's background services) may leave
        # garbage of their own meanwhile: only rendering's objects count
        ours = [type(o).__qualname__ for o in gc.garbage
                if type(o).__module__.startswith(("jinja2", "generators"))]
        assert not ours
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
