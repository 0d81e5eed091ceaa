"""Lint of template packs: what a template may use, that it only phrases (never
computes), and the sentence form of what it renders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from jinja2 import TemplateAssertionError, TemplateSyntaxError, meta, nodes

from generators.text.packs import TemplatePack
from generators.text.render import ENV, render_variant

BUILTIN_NAMES = frozenset({"trend", "pick"}) | frozenset(ENV.globals)
"""Names every template may use besides its declared fields."""

_LEFTOVER = ("{{", "}}", "{%", "%}", "{#", "#}")
_LOWER_AFTER_STOP = re.compile(r"[.?!] +[a-z]")
_OPTION_LINE = re.compile(r"^[A-H][).:] ")
_SENTENCE_BREAK = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9])")
_ASKING_WORDS = frozenset({"Can", "Could", "Do", "Does", "Did", "Is", "Are", "Was", "Were", "Will",
                           "Would", "Should", "Has", "Have", "What", "Which", "Who", "Why", "How"})
"""Words that open a question (never a statement) when they start a sentence."""


@dataclass(frozen=True)
class LintIssue:
    """One problem found in a template pack.

    Attributes:
        path: The pack's file.
        variant: The variant (or ``phrases.<list>[i]``) concerned, if any.
        message: What is wrong.
        style: A sentence-form issue (capitals, punctuation): the text still renders and
            states the facts, so a build goes on; every other issue stops it.
    """

    path: str
    variant: str | None
    message: str
    style: bool = False

    def __str__(self) -> str:
        where = self.path + (f" [{self.variant}]" if self.variant else "")
        return f"{where}: {self.message}"


def _pick_targets(pack: TemplatePack, ast: nodes.Template) -> tuple[set[str], set[str], list[str]]:
    """Phrase lists a template picks, the names it hands them, and unknown constant names.

    A computed name like ``pick('fact_' ~ kind)`` reaches every list starting ``fact_``;
    a name that is not even partly constant reaches every list.
    """
    lists: set[str] = set()
    extras: set[str] = set()
    unknown: list[str] = []
    for call in ast.find_all(nodes.Call):
        if not (isinstance(call.node, nodes.Name) and call.node.name == "pick") or not call.args:
            continue
        extras.update(kw.key for kw in call.kwargs)
        first = call.args[0]
        if isinstance(first, nodes.Const):
            if first.value in pack.phrases:
                lists.add(first.value)
            else:
                unknown.append(first.value)
            continue
        head = first.nodes[0] if isinstance(first, nodes.Concat) else first.left \
            if isinstance(first, nodes.Add) else None
        prefix = head.value if isinstance(head, nodes.Const) else ""
        lists.update(n for n in pack.phrases if n.startswith(prefix))
    return lists, extras, unknown


COMPUTING_FILTERS = frozenset({"abs", "count", "filesizeformat", "float", "format", "int",
                               "length", "max", "min", "round", "sum", "wordcount"})
"""Jinja filters that compute a number: the builder computes it (rounded as the text shows
it) and passes it as a fact, so that every number a sentence states comes from Python."""

_OPERATORS = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/",
              nodes.FloorDiv: "//", nodes.Mod: "%", nodes.Pow: "**", nodes.Neg: "unary -",
              nodes.Pos: "unary +"}


def computations(ast: nodes.Template) -> list[str]:
    """Where a template computes instead of phrasing: arithmetic, computing filters and
    filters or tests this environment does not have.

    ``+`` with a string constant on one side joins text (``pick('fact_' + kind)``) and
    is allowed, as is ``~``.

    Args:
        ast: The parsed template (``ENV.parse``).

    Returns:
        One message per problem, in template order.
    """
    problems = []
    for node in ast.find_all((nodes.BinExpr, nodes.UnaryExpr, nodes.Filter, nodes.Test)):
        if isinstance(node, nodes.Filter):
            if node.name not in ENV.filters:
                hint = " (it is unseeded: use pick() for seeded variety)" \
                    if node.name == "random" else ""
                problems.append(f"unknown filter {node.name!r}{hint}; known: "
                                f"{sorted(set(ENV.filters) - COMPUTING_FILTERS)}")
            elif node.name in COMPUTING_FILTERS:
                problems.append(f"filter {node.name!r} computes a value; compute it in the "
                                f"builder and pass it as a fact (templates only phrase)")
        elif isinstance(node, nodes.Test):
            if node.name not in ENV.tests:
                problems.append(f"unknown test {node.name!r}; known: {sorted(ENV.tests)}")
        elif type(node) in _OPERATORS and not (
                isinstance(node, nodes.Add) and any(isinstance(side, nodes.Const)
                                                    and isinstance(side.value, str)
                                                    for side in (node.left, node.right))):
            problems.append(f"arithmetic ({_OPERATORS[type(node)]}) in a template; compute "
                            f"the value in the builder and pass it as a fact (join text "
                            f"with ~)")
    return problems


def _static_issues(pack: TemplatePack) -> list[LintIssue]:
    """Syntax, computation, unknown phrase lists and undeclared variables, found without
    rendering.

    Only phrase lists the variants reach (directly or through other phrasings) are
    checked, so shared lists written for other packs' fields do not count against this one.
    """
    path = pack.path or pack.qa_type
    issues: list[LintIssue] = []
    parsed: list[tuple[str, nodes.Template]] = []

    def parse(where: str, source: str) -> nodes.Template | None:
        try:
            return ENV.parse(source)
        except TemplateSyntaxError as exc:
            issues.append(LintIssue(path, where, f"Jinja syntax error: {exc.message} "
                                    f"(line {exc.lineno} of the template)"))
            return None

    todo: list[tuple[str, str]] = []
    for v in pack.variants:
        todo += [(f"variant {v.name}", v.question), (f"variant {v.name}", v.answer)]
    seen: set[str] = set()
    extras: set[str] = set()
    while todo:
        where, source = todo.pop(0)
        ast = parse(where, source)
        if ast is None:
            continue
        parsed.append((where, ast))
        issues += [LintIssue(path, where, message) for message in computations(ast)]
        lists, names, unknown = _pick_targets(pack, ast)
        extras |= names
        issues += [LintIssue(path, where, f"pick({u!r}): no such phrase list; known: "
                             f"{sorted(pack.phrases)}") for u in unknown]
        for name in sorted(lists - seen):
            seen.add(name)
            todo += [(f"phrases.{name}[{i}]", src) for i, src in enumerate(pack.phrases[name])]
    allowed = set(pack.fields) | BUILTIN_NAMES | extras
    for where, ast in parsed:
        try:
            undeclared = meta.find_undeclared_variables(ast)
        except TemplateAssertionError:  # an unknown filter or test, reported above
            continue
        for name in sorted(undeclared - allowed):
            issues.append(LintIssue(path, where, f"uses undeclared variable {name!r}; declared "
                                    f"fields: {list(pack.fields)}"))
    return issues


def sentence_problems(text: str, style: str) -> list[str]:
    """Capitalization and punctuation problems of rendered text.

    Args:
        text: Rendered question or answer.
        style: ``question`` or an answer style from ``ANSWER_STYLES``.

    Returns:
        Messages, empty when the text is fine.
    """
    lines = text.splitlines()
    if not lines:
        return ["renders to empty text"]
    if style == "label":
        return [] if len(lines) == 1 else ["a label answer must be one line"]
    problems = []
    for k, line in enumerate(lines):
        last = k == len(lines) - 1
        if not (line[0].isupper() or line[0].isdigit() or line[0] in "[("):
            problems.append(f"line does not start with a capital letter: {line!r}")
        if _LOWER_AFTER_STOP.search(line):
            problems.append(f"sentence inside the line starts lowercase: {line!r}")
        ends_ok = line.endswith((".", "?"))
        if style == "question":
            ends_ok = ends_ok or (not last and (
                line.endswith(":") or _OPTION_LINE.match(line) is not None))
        elif style == "lines":
            ends_ok = ends_ok or re.search(r"\S: \S", line) is not None
        if not ends_ok:
            problems.append(f"line does not end with a period or question mark: {line!r}")
        if style == "question":
            problems += [f"a question ends with a period: {sentence!r}"
                         for sentence in _SENTENCE_BREAK.split(line)
                         if sentence.endswith(".") and sentence.split(" ", 1)[0] in _ASKING_WORDS]
    return problems


def lint_pack(pack: TemplatePack, samples: list[Mapping[str, object]],
              seed: int = 0) -> list[LintIssue]:
    """Check one pack: variables, fields, rendering and sentence form.

    Args:
        pack: The pack.
        samples: Facts the pack's builder produced on synthetic windows (may be empty
            when the QA type has no builder; rendering checks are then skipped).
        seed: Seed for the synonym sets.

    Returns:
        Issues, each naming the file and the variant or phrasing.
    """
    path = pack.path or pack.qa_type
    issues = []
    names = [v.name for v in pack.variants]
    for name in sorted({n for n in names if names.count(n) > 1}):
        issues.append(LintIssue(path, f"variant {name}", "variant name is not unique"))
    issues += _static_issues(pack)
    if issues or not samples:
        return issues
    keys = set().union(*(s.keys() for s in samples))
    for name in pack.fields:
        if name not in keys:
            issues.append(LintIssue(path, None, f"declared field {name!r} is not in the "
                                    f"builder's facts; they have {sorted(keys)}"))
    rounds = max(len(options) for options in pack.phrases.values())
    for k in range(rounds):
        for i, variant in enumerate(pack.variants):
            facts = samples[(k + i) % len(samples)]
            try:
                out = render_variant(pack, variant, facts, seed, f"lint/{k}", forced_phrase=k)
            except Exception as exc:  # report any template failure, with where it happened
                issues.append(LintIssue(path, f"variant {variant.name}",
                                        f"does not render: {type(exc).__name__}: {exc}"))
                continue
            for part, text, style in (("question", out.question, "question"),
                                      ("answer", out.answer, pack.answer_style)):
                if any(mark in text for mark in _LEFTOVER):
                    issues.append(LintIssue(path, f"variant {variant.name}",
                                            f"{part} has leftover template braces: {text!r}"))
                issues += [LintIssue(path, f"variant {variant.name}", f"{part}: {p}", style=True)
                           for p in sentence_problems(text, style)]
    return list(dict.fromkeys(issues))
