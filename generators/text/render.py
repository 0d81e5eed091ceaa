"""Rendering a row's text: the Jinja environments (sandboxed for user packs, trusted for
built-in ones), the formatting filters, and the seeded choice of variant and phrasings."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import inflect
from jinja2 import Environment, StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from generators.seeding import row_choice, row_hash
from generators.text.packs import TemplatePack, Variant

_INFLECT = inflect.engine()


@dataclass(frozen=True)
class Rendered:
    """The text of one row and where it came from.

    Attributes:
        question: Rendered question.
        answer: Rendered answer.
        template_id: ``<qa_type>/<variant name>``.
        template_version: The pack's version.
    """

    question: str
    answer: str
    template_id: str
    template_version: str


# ---------------------------------------------------------------- filters

def fmt_number(value: float | int, decimals: int | None = None) -> str:
    """A number as the text shows it (Python already rounded it); never ``-0.0``.

    Args:
        value: The number.
        decimals: Fixed number of decimals, or ``None`` for the shortest exact form.
    """
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, int) and decimals is None:
        return str(value)
    value = float(value) + 0.0  # -0.0 + 0.0 == 0.0
    if decimals is not None:
        text = f"{value:.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value)


def _seconds(value: float) -> str:
    return f"{float(value):.2f}"


def _words(value: int) -> str:
    if isinstance(value, float) and not value.is_integer():
        raise TypeError(f"number words need an integer, got {value!r}")
    return _inflect_words(int(value))


# inflect is slow (runtime type checks on every call) and its answers never change:
# cache them, since the same few words and counts recur in every row.
@functools.lru_cache(maxsize=4096)
def _inflect_words(value: int) -> str:
    return _INFLECT.number_to_words(value)


@functools.lru_cache(maxsize=4096)
def _plural(word: str, count: int) -> str:
    return _INFLECT.plural(word, count)


@functools.lru_cache(maxsize=4096)
def _article(word: str) -> str:
    return _INFLECT.a(word)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


FILTERS: Mapping[str, Callable[..., str]] = MappingProxyType({
    "words": _words,                                      # 3 → "three"
    "a": lambda word: _article(str(word)),                # "accelerometer" → "an accelerometer"
    "plural": _plural,                                    # "segment" | plural(2) → "segments"
    "s": lambda t: _seconds(t) + "s",                     # 0.24 → "0.24s"
    "seconds": lambda t: _seconds(t) + " seconds",        # 0.24 → "0.24 seconds"
    "sec": _seconds,                                      # 0.24 → "0.24"
    "num": fmt_number,                                    # 0.1 → "0.1"; num(2) → "0.10"
    "unit": lambda v, u: f"{fmt_number(v)} {u}".rstrip(),  # 0.1, "g" → "0.1 g"
    "cap": _cap,                                          # first letter upper, rest kept
    "join_and": lambda items, conj="and": _INFLECT.join(list(items), conj=conj),
})


def _make_env(kind: type[Environment]) -> Environment:
    env = kind(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
               lstrip_blocks=True, keep_trailing_newline=False)
    env.filters.update(FILTERS)
    # Both draw from Python's unseeded random module, so a template using them would
    # write a different dataset on every run; templates vary wording with pick(), which
    # is seeded per row.
    del env.filters["random"], env.globals["lipsum"]
    return env


ENV = _make_env(ImmutableSandboxedEnvironment)
"""The sandbox user packs (``--templates``, a dataset's stored packs) render in: no Python
internals, and no mutating the facts they are handed (``list.append``, ``dict.update``)."""

TRUSTED_ENV = _make_env(Environment)
"""Where built-in packs (project code) render, without the sandbox's checks on every
attribute and call; the same filters, globals and output."""

_COMPILED: dict[tuple[str, bool], Template] = {}


def compile_template(source: str, trusted: bool = False) -> Template:
    """One Jinja source compiled in the sandbox (or, ``trusted``, ``TRUSTED_ENV``), once
    per process: a process renders finitely many sources, so the cache is unbounded."""
    found = _COMPILED.get((source, trusted))
    if found is None:
        found = _COMPILED[(source, trusted)] = \
            (TRUSTED_ENV if trusted else ENV).from_string(source)
    return found


def _render(template: Template, context: dict[str, object]) -> str:
    """Render with ``context`` as the parent scope, uncopied.

    ``Template.render`` copies the environment globals (a slow ChainMap) into a new dict
    on every call, and ``Template.new_context`` makes a set of them; rows render ~15 small
    templates each, so the context is built once per row with the globals in it
    (``_base_context``) and shared by every render, and the ``Context`` is made directly.
    """
    env = template.environment
    ctx = env.context_class(env, context, template.name, template.blocks)
    return env.concat(template.root_render_func(ctx))


def _base_context(facts: Mapping[str, object]) -> dict[str, object]:
    context: dict[str, object] = dict(ENV.globals)
    context.update(facts)
    return context


# ---------------------------------------------------------------- rendering

def synonym_set(phrases: Mapping[str, tuple[str, ...]], seed: int, row_key: str) -> dict[str, str]:
    """The row's words for ``up``/``down``/``steady`` (one set for the whole row)."""
    return _synonyms(phrases, row_hash(seed, row_key))


def _synonyms(phrases: Mapping[str, tuple[str, ...]], row: hashlib.blake2b) -> dict[str, str]:
    pair = row_choice(row, "directions", len(phrases["up"]))
    steady = phrases["steady"]
    return {"up": phrases["up"][pair], "down": phrases["down"][pair],
            "steady": steady[row_choice(row, "steady", len(steady))]}


_SPACES = re.compile(r"[ \t]{2,}|\t")  # single spaces stay: most are, and rewriting them is slow


def _tidy(text: str) -> str:
    """Collapse runs of spaces, strip lines, drop blank lines (templates may wrap freely)."""
    return "\n".join(filter(None, map(str.strip, _SPACES.sub(" ", text).splitlines())))


def render_variant(pack: TemplatePack, variant: Variant, facts: Mapping[str, object],
                   seed: int, row_key: str, forced_phrase: int | None = None) -> Rendered:
    """Render one given variant (used by lint and golden tests; ``render`` picks one).

    Args:
        pack: The pack.
        variant: One of its variants.
        facts: The row's facts (JSON-like values).
        seed: Build seed.
        row_key: Stable row id.
        forced_phrase: Lint's override: take phrasing ``forced_phrase % len(list)`` of
            every list instead of hashing, so that each phrasing can be exercised.

    Returns:
        The rendered question and answer.
    """
    return _render_row(pack, variant, facts, row_hash(seed, row_key), forced_phrase)


def _render_row(pack: TemplatePack, variant: Variant, facts: Mapping[str, object],
                row: hashlib.blake2b, forced_phrase: int | None) -> Rendered:
    """``render_variant`` given the row's ``row_hash``."""
    values = _base_context(facts)
    values["trend"] = _synonyms(pack.phrases, row)
    scope = _Scope(pack, row, forced_phrase, values)
    question = _tidy(scope.render(variant.question))
    answer = _tidy(scope.render(variant.answer))
    return Rendered(question, answer, f"{pack.qa_type}/{variant.name}", pack.version)


class _Scope:
    """One context a row renders in: its values, and what its phrasings rendered.

    No render context holds its own ``pick`` (each render gets a fresh dict with it), so
    a finished row leaves no reference cycle for the garbage collector to find.

    Args:
        pack: The pack.
        row: The row's ``row_hash``.
        forced_phrase: Lint's override (``render_variant``).
        values: Names the templates render with, but ``pick``.
    """

    __slots__ = ("pack", "row", "forced_phrase", "values", "picked")

    def __init__(self, pack: TemplatePack, row: hashlib.blake2b, forced_phrase: int | None,
                 values: dict[str, object]) -> None:
        self.pack, self.row, self.forced_phrase, self.values = pack, row, forced_phrase, values
        self.picked: dict[str, str] = {}  # a phrasing's output by purpose, in this context

    def render(self, source: str) -> str:
        """Render one template source in this context."""
        return _render(compile_template(source, self.pack.trusted),
                       {**self.values, "pick": self.pick})

    def pick(self, name: str, *keys: object, **extra: object) -> str:
        """Render one phrasing of list ``name`` chosen by (seed, row, name, keys).

        ``extra`` names (loop items) join the context of this phrasing and of the
        phrasings it picks in turn.
        """
        phrases = self.pack.phrases
        try:
            options = phrases[name]
        except KeyError:
            raise KeyError(f"no phrase list {name!r}; known: {sorted(phrases)}") from None
        purpose = "phrase:" + "/".join([name, *map(str, keys)])
        if not extra:
            out = self.picked.get(purpose)
            if out is not None:
                return out
        k = row_choice(self.row, purpose, len(options)) if self.forced_phrase is None \
            else self.forced_phrase % len(options)
        if extra:
            return _Scope(self.pack, self.row, self.forced_phrase,
                          {**self.values, **extra}).render(options[k])
        out = self.picked[purpose] = self.render(options[k])
        return out


def render(pack: TemplatePack, facts: Mapping[str, object], seed: int, row_key: str) -> Rendered:
    """Render one row: variant and synonyms are chosen from (seed, row key).

    Args:
        pack: The QA type's pack.
        facts: The row's facts (``Facts.values``).
        seed: Build seed.
        row_key: Stable row id (the same on every worker).

    Returns:
        The rendered question and answer with the template id and version.
    """
    row = row_hash(seed, row_key)
    variant = pack.variants[row_choice(row, "variant", len(pack.variants))]
    return _render_row(pack, variant, facts, row, None)

