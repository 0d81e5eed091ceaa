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
from jinja2.runtime import Context
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


class _TrustedContext(Context):
    """A ``Context`` that calls ``pick`` directly: Jinja's ``call`` asks every callable
    whether it wants the context passed (``pass_context`` and kin), which ``pick`` never
    does; any other callable goes through those checks as usual."""

    def call(__self, __obj: Callable[..., object], *args: object, **kwargs: object) -> object:
        if type(__obj) is _Scope:
            return __obj(*args, **kwargs)
        return super().call(__obj, *args, **kwargs)


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _TrustedEnvironment(Environment):
    """``Environment`` whose ``a.b`` on a plain dict reads the item ``b`` at once when
    ``dict`` has no attribute ``b`` (what Jinja finds too, after a failed ``getattr``: the
    facts are dicts, so this is most attribute reads)."""

    context_class = _TrustedContext

    def getattr(self, obj: object, attribute: str) -> object:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


ENV = _make_env(ImmutableSandboxedEnvironment)
"""The sandbox user packs (``--templates``, a dataset's stored packs) render in: no Python
internals, and no mutating the facts they are handed (``list.append``, ``dict.update``)."""

TRUSTED_ENV = _make_env(_TrustedEnvironment)
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
    if "  " in text or "\t" in text:  # what _SPACES matches; most texts have none
        text = _SPACES.sub(" ", text)
    return "\n".join(filter(None, map(str.strip, text.splitlines())))


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
    env = TRUSTED_ENV if pack.trusted else ENV
    scope = _Scope(pack, row, forced_phrase, env.context_class(env, values, None, {}), {})
    question = _tidy(scope._render(variant.question))
    answer = _tidy(scope._render(variant.answer))
    return Rendered(question, answer, f"{pack.qa_type}/{variant.name}", pack.version)


class _Scope:
    """Names a row's templates render with beyond its values (``pick``: this scope, and
    the loop items a phrasing was picked with), and what its phrasings rendered; called
    by templates as ``pick``.

    All templates of a row render in one Jinja ``Context`` over the row's values (made
    once: ``Template.render`` would copy the globals and make a context per call, and a
    row renders ~8 small templates). During a render the context's ``vars`` are a fresh
    dict of the scope's names and ``pick``, put back after it: what a template sets at its
    top level stays in it, as in a fresh context. Nothing the scope holds refers back to
    it, so a finished row leaves no reference cycle for the garbage collector to find. A template with blocks gets a context of its own.
    Every name but ``__call__`` starts with ``_``, which the sandbox hides from templates.

    Args:
        pack: The pack.
        row: The row's ``row_hash``.
        forced_phrase: Lint's override (``render_variant``).
        context: The row's context (its parent: the row's values).
        names: The enclosing scope's names and the loop items, but ``pick``.
    """

    __slots__ = ("_pack", "_row", "_forced", "_context", "_names", "_picked")

    def __init__(self, pack: TemplatePack, row: hashlib.blake2b, forced_phrase: int | None,
                 context: Context, names: dict[str, object]) -> None:
        self._pack, self._row, self._forced, self._context = pack, row, forced_phrase, context
        self._names = names
        self._picked: dict[str, str] = {}  # a phrasing's output by purpose, in this scope

    def _render(self, source: str) -> str:
        """Render one template source in this scope."""
        template = compile_template(source, self._pack.trusted)
        env, context = template.environment, self._context
        if template.blocks:
            own = env.context_class(env, {**context.parent, **self._names, "pick": self}, None,
                                    template.blocks)
            return env.concat(template.root_render_func(own))
        outer = context.vars
        context.vars = {**self._names, "pick": self}
        try:
            return env.concat(template.root_render_func(context))
        finally:
            context.vars = outer
            context.exported_vars.clear()

    def __call__(self, name: str, *keys: object, _loop_vars: object = None,
                 _block_vars: object = None, **extra: object) -> str:
        """``pick``: render one phrasing of list ``name`` chosen by (seed, row, name, keys).

        ``extra`` names (loop items) join the context of this phrasing and of the
        phrasings it picks in turn. (``_loop_vars`` and ``_block_vars`` are Jinja's, which
        ``Context.call`` drops before calling and ``_TrustedContext.call`` passes on.)
        """
        phrases = self._pack.phrases
        try:
            options = phrases[name]
        except KeyError:
            raise KeyError(f"no phrase list {name!r}; known: {sorted(phrases)}") from None
        purpose = "phrase:" + ("/".join([name, *map(str, keys)]) if keys else name)
        if not extra:
            out = self._picked.get(purpose)
            if out is not None:
                return out
        k = row_choice(self._row, purpose, len(options)) if self._forced is None \
            else self._forced % len(options)
        if extra:
            return _Scope(self._pack, self._row, self._forced, self._context,
                          {**self._names, **extra})._render(options[k])
        out = self._picked[purpose] = self._render(options[k])
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

