"""Template packs (templates/*.yaml) and their sandboxed, deterministic Jinja rendering."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

import inflect
import yaml
from jinja2 import (Environment, StrictUndefined, Template, TemplateAssertionError,
                    TemplateSyntaxError, meta, nodes)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from generators.errors import InputError

PHRASES_FILE = "_phrases.yaml"
"""Shared phrase lists (synonym sets, connectors); underscore files are not QA types."""

DIRECTION_LISTS = ("up", "down", "steady")
"""Phrase lists that form the per-row synonym set: ``up``/``down`` are paired by index."""

_PACK_KEYS = {"qa_type", "version", "fields", "variants", "phrases", "answer", "description",
              "answer_style"}
ANSWER_STYLES = ("sentences", "lines", "label")
"""How lint reads answers: prose sentences, ``label: value`` lines, or a bare label."""
_VARIANT_KEYS = {"name", "question", "answer"}

_INFLECT = inflect.engine()


@dataclass(frozen=True)
class Variant:
    """One named question/answer pair of Jinja sources.

    Attributes:
        name: Unique within its pack; the row's ``template_id`` is ``<qa_type>/<name>``.
        question: Jinja source of the question.
        answer: Jinja source of the answer.
    """

    name: str
    question: str
    answer: str


@dataclass(frozen=True)
class TemplatePack:
    """One QA type's templates, loaded from ``templates/<qa_type>.yaml``.

    Attributes:
        qa_type: The QA type (equals the file stem).
        version: Integer version as a string; raised whenever the output changes.
        fields: Names of the facts the templates may use.
        variants: Named question/answer variants.
        phrases: Phrase lists by name (the pack's own over the shared ``_phrases.yaml``).
        path: The file it came from (``None`` for packs built in memory).
        answer_style: One of ``ANSWER_STYLES`` (lint's sentence rules for answers).
        trusted: Project code (a built-in pack with built-in phrases): renders in
            ``TRUSTED_ENV``; anything else renders in the sandbox ``ENV``.
    """

    qa_type: str
    version: str
    fields: tuple[str, ...]
    variants: tuple[Variant, ...]
    phrases: Mapping[str, tuple[str, ...]]
    path: str | None = None
    answer_style: str = "sentences"
    trusted: bool = False


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


def stable_index(seed: int, row_key: str, purpose: str, n: int) -> int:
    """A choice in ``range(n)`` that depends only on (seed, row key, purpose).

    Uses blake2b rather than ``hash()`` (salted per process) so that every worker and
    every run picks the same variant and synonyms for a row.

    Args:
        seed: Build seed.
        row_key: Stable id of the row.
        purpose: What is being chosen (``variant``, ``phrase:span``…), so choices differ.
        n: Number of options (≥ 1).

    Returns:
        An index in ``range(n)``.
    """
    return _choice(_row_hash(seed, row_key), purpose, n)


def _row_hash(seed: int, row_key: str) -> hashlib.blake2b:
    """The hash state after (seed, row key): a row's many choices each hash a copy of it
    plus their purpose (the same digest as hashing the whole, for less work)."""
    return hashlib.blake2b(f"{seed}\x1f{row_key}\x1f".encode(), digest_size=8)


def _choice(row: hashlib.blake2b, purpose: str, n: int) -> int:
    """``stable_index`` given the row's ``_row_hash``."""
    digest = row.copy()
    digest.update(purpose.encode())
    return int.from_bytes(digest.digest(), "big") % n


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


# ---------------------------------------------------------------- loading

def _as_str_list(path: Path, value: object, field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not value \
            or not all(isinstance(v, str) for v in value):
        raise InputError(path, "expected a non-empty list of strings", field=field)
    return tuple(value)


def _read_yaml(path: Path, text: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(path, f"not valid YAML: {problem}", line=line) from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping at the top level")
    return data


def _parse_phrases(path: Path, data: object, field: str = "phrases") -> dict[str, tuple[str, ...]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of name → list of strings", field=field)
    return {str(k): _as_str_list(path, v, f"{field}.{k}") for k, v in data.items()}


def parse_pack(path: Path, text: str, shared: Mapping[str, tuple[str, ...]],
               trusted: bool = False) -> TemplatePack:
    """Parse one pack file.

    Args:
        path: The file (for messages; its stem must equal ``qa_type``).
        text: Its YAML text.
        shared: Shared phrase lists, overridden by the pack's own.
        trusted: Project code (``TemplatePack.trusted``).

    Returns:
        The pack.

    Raises:
        InputError: Naming the file and field when the layout is wrong.
    """
    data = _read_yaml(path, text)
    unknown = set(data) - _PACK_KEYS
    if unknown:
        raise InputError(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(_PACK_KEYS)}")
    qa_type = data.get("qa_type")
    if qa_type != path.stem:
        raise InputError(path, f"qa_type must equal the file name {path.stem!r}, got {qa_type!r}",
                         field="qa_type")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(path, f"version must be a positive integer, got {version!r}",
                         field="version")
    fields = _as_str_list(path, data.get("fields"), "fields")
    answer_style = data.get("answer_style", "sentences")
    if answer_style not in ANSWER_STYLES:
        raise InputError(path, f"answer_style must be one of {list(ANSWER_STYLES)}, got "
                         f"{answer_style!r}", field="answer_style")
    default_answer = data.get("answer")
    raw_variants = data.get("variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise InputError(path, "expected a non-empty list of variants", field="variants")
    variants = []
    for i, raw in enumerate(raw_variants):
        where = f"variants[{i}]"
        if not isinstance(raw, dict):
            raise InputError(path, "expected a mapping with name, question, answer", field=where)
        if set(raw) - _VARIANT_KEYS:
            raise InputError(path, f"unknown keys {sorted(set(raw) - _VARIANT_KEYS)}", field=where)
        name, question = raw.get("name"), raw.get("question")
        answer = raw.get("answer", default_answer)
        for key, val in (("name", name), ("question", question), ("answer", answer)):
            if not isinstance(val, str) or not val.strip():
                raise InputError(path, f"{key} must be a non-empty string (a variant without "
                                 f"answer uses the pack's `answer`)", field=f"{where}.{key}")
        variants.append(Variant(name, question, answer))
    phrases = dict(shared)
    phrases.update(_parse_phrases(path, data.get("phrases")))
    return TemplatePack(qa_type, str(version), fields, tuple(variants),
                        MappingProxyType(phrases), str(path), answer_style, trusted)


def pack_digest(pack: TemplatePack) -> str:
    """SHA-256 of what a pack renders (type, version, fields, style, variants, phrases),
    whichever file it came from."""
    content = [pack.qa_type, pack.version, list(pack.fields), pack.answer_style,
               [[v.name, v.question, v.answer] for v in pack.variants],
               sorted((k, list(v)) for k, v in pack.phrases.items())]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def _pack_files(root: Iterable) -> list:
    return sorted((f for f in root if f.name.endswith(".yaml")), key=lambda f: f.name)


def _builtin_files() -> list:
    return _pack_files(importlib.resources.files("templates").iterdir())


def load_packs(overlay_dir: Path | None = None) -> dict[str, TemplatePack]:
    """Load the built-in template packs, then overlay a user directory.

    The overlay's ``_phrases.yaml`` lists replace shared lists of the same name; an
    overlay ``<qa_type>.yaml`` adds a new QA type's pack or replaces a built-in one,
    which requires a higher ``version`` so the rows' provenance shows the change.

    Args:
        overlay_dir: Directory of user ``*.yaml`` files, or ``None``.

    Returns:
        QA type → pack.

    Raises:
        InputError: A file is malformed or an overlay does not raise the version.
    """
    shared: dict[str, tuple[str, ...]] = {}
    overlays: list = []
    if overlay_dir is not None:
        overlay_dir = Path(overlay_dir)
        if not overlay_dir.is_dir():
            raise InputError(overlay_dir, "templates overlay must be a directory of *.yaml files")
        overlays = _pack_files(overlay_dir.iterdir())
    builtin_sources = _collect(_builtin_files(), shared)
    overlay_sources = _collect(overlays, shared)
    _check_directions(shared)
    # A built-in pack is project code, unless the user's shared phrases joined it.
    trusted = not any(f.name == PHRASES_FILE for f in overlays)
    packs = {stem: parse_pack(path, text, shared, trusted)
             for stem, (path, text) in builtin_sources.items()}
    for stem, (path, text) in overlay_sources.items():
        pack = parse_pack(path, text, shared)
        base = packs.get(stem)
        if base is not None and int(pack.version) <= int(base.version):
            raise InputError(path, f"an overlay of {stem!r} must raise version above the "
                             f"built-in {base.version}, got {pack.version}", field="version")
        packs[stem] = pack
    return packs


PACKS_DIR = "templates"
"""A dataset's folder of the packs it was built with (``manifest.json`` ``templates``:
file name → SHA-256), so that its rows can be read back without the user's folder."""


def save_packs(packs: Mapping[str, TemplatePack], shared: Mapping[str, tuple[str, ...]],
               directory: Path) -> dict[str, str]:
    """Write packs as a template folder that :func:`load_saved_packs` reads back equal:
    ``_phrases.yaml`` with the shared lists, and one file per pack with its variants and
    the phrase lists that differ from the shared ones.

    Args:
        packs: QA type → pack, as a build used them (built-in and overlay).
        shared: The shared phrase lists they were loaded with (:func:`shared_phrases`).
        directory: Where to write (created).

    Returns:
        File name → SHA-256 of its bytes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    docs = {PHRASES_FILE: {"phrases": {k: list(v) for k, v in shared.items()}}}
    for name, pack in sorted(packs.items()):
        docs[f"{name}.yaml"] = {
            "qa_type": pack.qa_type, "version": int(pack.version), "fields": list(pack.fields),
            "answer_style": pack.answer_style,
            "variants": [{"name": v.name, "question": v.question, "answer": v.answer}
                         for v in pack.variants],
            "phrases": {k: list(v) for k, v in pack.phrases.items() if shared.get(k) != v}}
    digests = {}
    for file, doc in docs.items():
        data = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1 << 30).encode()
        (directory / file).write_bytes(data)
        digests[file] = hashlib.sha256(data).hexdigest()
    return digests


def load_saved_packs(dataset_dir: Path) -> dict[str, TemplatePack] | None:
    """The packs a dataset was built with, checked against its ``manifest.json``.

    Returns:
        QA type → pack; ``None`` when the manifest lists none (no manifest, or a dataset
        built before datasets carried their packs: read it along the built-in packs).

    Raises:
        InputError: A listed file is missing, differs from its SHA-256, or is malformed.
    """
    try:
        manifest = json.loads((Path(dataset_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    listed = manifest.get("templates") if isinstance(manifest, dict) else None
    if not listed:
        return None
    folder = Path(dataset_dir) / PACKS_DIR
    for name, digest in sorted(listed.items()):
        path = folder / name
        if Path(name).name != name or not name.endswith(".yaml"):
            raise InputError(Path(dataset_dir) / "manifest.json", f"template pack {name!r} is "
                             f"not a *.yaml file name", field="templates")
        if not path.is_file():
            raise InputError(path, "missing: manifest.json lists it among the template packs "
                             "this dataset was built with")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise InputError(path, "corrupt: its SHA-256 differs from the one manifest.json "
                             "lists for it")
    shared: dict[str, tuple[str, ...]] = {}
    sources = _collect([folder / name for name in sorted(listed)], shared)
    _check_directions(shared)
    return {stem: parse_pack(path, text, shared) for stem, (path, text) in sources.items()}


def _collect(files: list, shared: dict[str, tuple[str, ...]]) -> dict[str, tuple[Path, str]]:
    """Pack sources by stem; ``_phrases.yaml`` lists are merged into ``shared`` in place."""
    sources = {}
    for f in files:
        path, text = Path(str(f)), f.read_text(encoding="utf-8")
        if f.name == PHRASES_FILE:
            shared.update(_parse_phrases(path, _read_yaml(path, text).get("phrases")))
        elif not f.name.startswith("_"):
            sources[path.stem] = (path, text)
    return sources


def shared_phrases(overlay_dir: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The shared phrase lists (built-in ``_phrases.yaml``, then the overlay's)."""
    shared: dict[str, tuple[str, ...]] = {}
    files = _builtin_files() + (_pack_files(Path(overlay_dir).iterdir()) if overlay_dir else [])
    _collect([f for f in files if f.name == PHRASES_FILE], shared)
    return shared


def _check_directions(shared: Mapping[str, tuple[str, ...]]) -> None:
    missing = [k for k in DIRECTION_LISTS if k not in shared]
    if missing:
        raise InputError(PHRASES_FILE, f"shared phrases must define {list(DIRECTION_LISTS)}; "
                         f"missing {missing}")
    if len(shared["up"]) != len(shared["down"]):
        raise InputError(PHRASES_FILE, "phrases.up and phrases.down pair by position and must "
                         f"have equal lengths ({len(shared['up'])} ≠ {len(shared['down'])})")


# ---------------------------------------------------------------- rendering

def synonym_set(phrases: Mapping[str, tuple[str, ...]], seed: int, row_key: str) -> dict[str, str]:
    """The row's words for ``up``/``down``/``steady`` (one set for the whole row)."""
    return _synonyms(phrases, _row_hash(seed, row_key))


def _synonyms(phrases: Mapping[str, tuple[str, ...]], row: hashlib.blake2b) -> dict[str, str]:
    pair = _choice(row, "directions", len(phrases["up"]))
    steady = phrases["steady"]
    return {"up": phrases["up"][pair], "down": phrases["down"][pair],
            "steady": steady[_choice(row, "steady", len(steady))]}


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
    return _render_row(pack, variant, facts, _row_hash(seed, row_key), forced_phrase)


def _render_row(pack: TemplatePack, variant: Variant, facts: Mapping[str, object],
                row: hashlib.blake2b, forced_phrase: int | None) -> Rendered:
    """``render_variant`` given the row's ``_row_hash``."""
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
        row: The row's ``_row_hash``.
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
        k = _choice(self.row, purpose, len(options)) if self.forced_phrase is None \
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
    row = _row_hash(seed, row_key)
    variant = pack.variants[_choice(row, "variant", len(pack.variants))]
    return _render_row(pack, variant, facts, row, None)


# ---------------------------------------------------------------- lint

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
