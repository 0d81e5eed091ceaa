"""Read rendered text back: regexes compiled from the template structure and synonym lists.

A template (or phrase) is parsed into literal text, ``{{ expressions }}``, ``if`` and
``for`` blocks, and compiled to a regex whose groups are its slots. ``pick('list')`` and
``for`` loops are captured whole and read again with their own capturing regexes, so a
row's text yields the stated values of every field, nested like the facts were.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

import inflect

from generators.text import DIRECTION_LISTS, TemplatePack, Variant, load_packs, pack_digest

if TYPE_CHECKING:
    from validation.checks import Row

NUMBER = r"[-−]?\d+(?:\.\d+)?"
TEXT = r"[^\n.;()]+?"  # names and words: never across a sentence, clause or bracket
CLASS_FIELDS = frozenset({"activity", "first", "second"})
"""Facts that name one of the dataset's classes: read as one of its class names (any
punctuation or script, longest first), never as free ``TEXT``."""
_TAG = re.compile(r"({{.*?}}|{%.*?%})", re.S)
_PICK = re.compile(r"pick\(\s*'([^']+)'")
_TREND_INDEX = re.compile(r"trend\[\s*([\w.]+)\s*\]")
_TREND_ATTR = re.compile(r"trend\.(\w+)")
_FOR = re.compile(r"(\w+)\s+in\s+(.+)")
_INFLECT = inflect.engine()
_LOOP_TEST = re.compile(r"(not\s+)?loop\.(first|last)")
_EQUALS = re.compile(r"([\w.]+)\s*==\s*'([^']*)'")

VALUE_DECIMALS = 3
"""Decimals of signal values and statistics in text (templates/README.md)."""

SLACK = 1e-9
"""Relative float slack of a comparison. The generator computed from the same float32
samples that a row stores, in float64, so only summation order differs (~1e-15); a
float32 epsilon (1.2e-7) would accept a last digit off by one at rounding boundaries."""

LOOP_PLACES = ("first", "middle", "last", "only")
"""Iterations a loop body is compiled for: its ``loop.first``/``loop.last`` values differ."""


def _decide(condition: str, place: str | None) -> bool | None:
    """The value of ``[not] loop.first|last`` at a loop place; ``None`` when not decidable."""
    m = _LOOP_TEST.fullmatch(condition.strip())
    if m is None or place is None:
        return None
    value = place in ("only", m.group(2))
    return not value if m.group(1) else value


class Unreadable(ValueError):
    """The text does not follow any structure the template allows."""


@dataclass(frozen=True)
class Stated:
    """A number as the text states it.

    Attributes:
        value: Its value.
        decimals: Digits after the decimal point (the rounding the text used).
    """

    value: float
    decimals: int

    def agrees(self, true: float, extra: float = 0.0) -> bool:
        """Whether ``true`` rounds to this number: within half a last digit, plus
        ``extra``, plus ``SLACK`` of ``true``."""
        slack = SLACK * max(1.0, abs(true))
        return abs(self.value - true) <= 0.5 * 10.0 ** -self.decimals + extra + slack

    def __str__(self) -> str:
        return f"{self.value:.{self.decimals}f}"


def value(stated: Stated, decimals: int = VALUE_DECIMALS) -> Stated:
    """A number as rounded before printing: values and statistics to three decimals,
    correlations to two (``decimals``); the text drops trailing zeros, so ``0.7`` stands
    for 0.700."""
    return Stated(stated.value, max(stated.decimals, decimals))


def parse_number(token: str) -> Stated:
    """``"0.24"`` → ``Stated(0.24, 2)``; also accepts a Unicode minus."""
    token = token.replace("−", "-")
    decimals = len(token.split(".", 1)[1]) if "." in token else 0
    return Stated(float(token), decimals)


@functools.lru_cache(maxsize=1)
def number_words() -> Mapping[str, int]:
    """Number words as inflect writes them (``twenty-three``) → value, 0–1000."""
    return {_INFLECT.number_to_words(n): n for n in range(1001)}


def alternation(words) -> str:
    """A non-capturing regex matching any of ``words`` literally (longest first)."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)) + ")"


# ---------------------------------------------------------------- template syntax tree

@dataclass(eq=False)  # hashed by identity: parsed once per source, cached
class Block:
    """An ``if`` (branches of (condition, body), optional ``else``) or ``for`` block."""

    kind: str
    header: str
    branches: list = field(default_factory=list)
    orelse: list | None = None


def parse_template(source: str) -> list:
    """Literal strings, ``("expr", text)`` tuples and ``Block`` nodes of a Jinja source."""
    root: list = []
    stack: list[tuple[Block | None, list]] = [(None, root)]
    for part in _TAG.split(source):
        if not part:
            continue
        if part.startswith("{{"):
            stack[-1][1].append(("expr", part[2:-2].strip(" -")))
            continue
        if not part.startswith("{%"):
            stack[-1][1].append(part)
            continue
        stmt = part[2:-2].strip(" -")
        word = stmt.split(None, 1)[0]
        if word in ("if", "for"):
            block = Block(word, stmt.split(None, 1)[1])
            body: list = []
            block.branches.append((block.header, body))
            stack[-1][1].append(block)
            stack.append((block, body))
        elif word in ("elif", "else"):
            block = stack.pop()[0]
            body = []
            if word == "elif":
                block.branches.append((stmt.split(None, 1)[1], body))
            else:
                block.orelse = body
            stack.append((block, body))
        elif word in ("endif", "endfor"):
            stack.pop()
        else:
            raise ValueError(f"unsupported Jinja statement {stmt!r} in {source!r}")
    return root


# ---------------------------------------------------------------- compiling

@dataclass(frozen=True)
class Slot:
    """One regex group: a stated value, or a sub-structure read again on its own.

    Attributes:
        kind: ``num``, ``words``, ``dir``, ``unit``, ``text``, ``pick``, ``for`` or ``is``
            (an ``if field == 'word'`` branch, which states that value without printing it).
        name: Field expression (``t.seconds``), phrase list (for ``pick``) or the loop's
            iterable (for ``for``).
        body: The loop body (``for``), or the compared word (``is``).
    """

    kind: str
    name: str
    body: tuple = ()


class Compiler:
    """Compiles one pack's templates and phrases to regexes, each once per compiler
    (unbounded caches: a pack has finitely many sources, so nothing is evicted).

    Args:
        pack: The QA type's template pack.
        classes: Class names a ``CLASS_FIELDS`` slot may state (as the text words them);
            empty: such a slot reads as free text.
    """

    def __init__(self, pack: TemplatePack, classes: tuple[str, ...] = ()) -> None:
        self.pack = pack
        self.variants = {v.name: v for v in pack.variants}
        self.directions = {w.lower(): d for d in DIRECTION_LISTS for w in pack.phrases[d]}
        self._dir_words = alternation(self.directions)
        self._classes = alternation(classes) if classes else None
        atoms = alternation({w for words in number_words() for w in re.split(r"[ -]", words)})
        self._words = rf"{atoms}(?:(?:\s+|-){atoms})*"

    def nodes(self, nodes, slots: dict | None, place: str | None = None,
              top: bool = False) -> str:
        """Regex of a node list; with ``slots``, named groups are added and recorded.

        ``place`` is the loop iteration being compiled (one of ``LOOP_PLACES``), so that
        ``loop.first``/``loop.last`` conditions are decided rather than made optional.
        ``top`` says the list is a whole template, whose ends are line ends.
        """
        edge = "\n" if top else ""
        out = []
        for i, n in enumerate(nodes):
            if isinstance(n, tuple):
                before = nodes[i - 1] if i else edge
                after = nodes[i + 1] if i + 1 < len(nodes) else edge
                alone = (isinstance(before, str) and before.rstrip(" \t").endswith("\n")
                         and isinstance(after, str) and after.lstrip(" \t").startswith("\n"))
                out.append(self._expr(n[1], slots, alone))
            else:
                out.append(self._node(n, slots, place))
        return "".join(out)

    def _group(self, body: str, slot: Slot, slots: dict | None) -> str:
        if slots is None:
            return f"(?:{body})"
        name = f"g{len(slots)}"
        slots[name] = slot
        return f"(?P<{name}>{body})"

    def _node(self, node, slots: dict | None, place: str | None) -> str:
        if isinstance(node, str):
            words = node.split()
            if not words:
                return r"\s*"
            lead = r"\s*" if node[:1].isspace() else ""
            trail = r"\s*" if node[-1:].isspace() else ""
            return lead + r"\s+".join(re.escape(w) for w in words) + trail
        if node.kind == "for":
            body = tuple(node.branches[0][1])
            v = {p: self.nodes(body, None, p) for p in LOOP_PLACES}
            iterable = _FOR.match(node.header).group(2).strip()
            # Atomic: once a loop has matched, it is never re-split (no exponential
            # backtracking over long multi-line texts); phrasings may still be retried.
            return self._group(f"(?>{v['first']}(?:{v['middle']})*{v['last']}|{v['only']})",
                               Slot("for", iterable, body), slots)
        options = []
        for cond, body in node.branches:
            known = _decide(cond, place)
            if known is True:
                return "(?:" + "|".join(options + [self.nodes(body, slots, place)]) + ")"
            if known is None:
                options.append(self._branch(cond, body, slots, place))
        options.append(self.nodes(node.orelse, slots, place) if node.orelse is not None else "")
        return "(?:" + "|".join(options) + ")"

    def _branch(self, cond: str, body: list, slots: dict | None, place: str | None) -> str:
        """Regex of an ``if`` branch; a taken ``field == 'word'`` branch states that value
        (e.g. an overall trend of ``steady`` phrased as "no net rise or fall")."""
        regex = self.nodes(body, slots, place)
        m = _EQUALS.fullmatch(cond.strip())
        return self._group(regex, Slot("is", m.group(1), (m.group(2),)), slots) if m else regex

    def _expr(self, expr: str, slots: dict | None, alone: bool = False) -> str:
        parts = [p.strip() for p in expr.split("|")]
        head, filters = parts[0], [f.split("(")[0].strip() for f in parts[1:]]
        pick = _PICK.match(head)
        literal = re.fullmatch(r"'([^']*)'", head)
        index, attr = _TREND_INDEX.fullmatch(head), _TREND_ATTR.fullmatch(head)
        guard = True
        if pick:
            name = pick.group(1)
            if re.match(r"pick\(\s*'[^']+'\s*~", head):  # pick('why_' ~ kind): any such list
                name += "*"
            if name not in self.pack.phrases and not name.endswith("*"):
                raise ValueError(f"no phrase list {name!r} in pack {self.pack.qa_type!r}")
            body = "|".join(self.nodes(parse_template(src), None, top=True)
                            for src in self._sources(name))
            if alone:  # a whole line: the first phrasing that fills it is the one
                body = rf"(?>(?:{body})(?:(?<=\n)|(?=[ \t]*(?:\n|$))))"
            return self._group(body, Slot("pick", name), slots)
        if literal:
            word = literal.group(1)
            forms = {word, _INFLECT.plural(word)} if "plural" in filters else {word}
            body = alternation(forms)
        elif index or attr:
            words = self._dir_words if index else alternation(self.pack.phrases[attr.group(1)])
            body = self._group(words, Slot("dir", (index or attr).group(1)), slots)
        elif "words" in filters:
            body = self._group(self._words, Slot("words", head), slots)
        elif "unit" in filters:
            guard = False
            body = (self._group(NUMBER, Slot("num", head), slots) + r"(?:\s+"
                    + self._group(r"\S+?", Slot("unit", head), slots) + ")?")
        elif {"s", "seconds", "sec", "num"} & set(filters):
            body = self._group(NUMBER, Slot("num", head), slots)
            guard = False
        elif head in CLASS_FIELDS and self._classes:
            body = self._group(self._classes, Slot("text", head), slots)
        else:
            body = self._group(TEXT, Slot("text", head), slots)
        if "s" in filters:
            body += "s"
        elif "seconds" in filters:
            body += r"\s+seconds"
        if "a" in filters:
            body = r"an?\s+" + body
        if not guard:  # a number never starts or ends inside another number…
            # …and a number with an optional unit never stops before a letter: "0.02s" is
            # a time, not "0.02" without a unit, and "rad/s" is not cut to "rad".
            after = r"[\w/^°]" if "unit" in filters else r"\d"
            return rf"(?<![\d.]){body}(?!{after}|\.\d)"
        # A word slot never starts or ends inside a word, so lazy text cannot split "waist".
        return rf"(?<!\w){body}(?!\w)"

    @functools.cache
    def pattern(self, source: str) -> tuple[re.Pattern, Mapping[str, Slot]]:
        """The capturing regex of a template source and its slots."""
        return self.pattern_of(tuple(parse_template(source)))

    @functools.cache
    def pattern_of(self, nodes: tuple, place: str | None = None
                   ) -> tuple[re.Pattern, Mapping[str, Slot]]:
        """The capturing regex of a node list (at a loop ``place``) and its slots."""
        slots: dict[str, Slot] = {}
        return re.compile(self.nodes(nodes, slots, place, top=place is None), re.I), slots

    @functools.cache
    def any_of(self, name: str) -> re.Pattern:
        """A regex finding any phrasing of list ``name`` as whole words (compiled once)."""
        return re.compile(rf"(?<!\w){alternation(self.pack.phrases[name])}(?!\w)", re.I)

    # ------------------------------------------------------------ reading

    def _values(self, m: re.Match, slots: Mapping[str, Slot]) -> dict[str, list]:
        out: dict[str, list] = {}
        if not slots:
            return out
        # All groups in one call (a tuple when there are several).
        raws = m.group(*slots) if len(slots) > 1 else (m.group(next(iter(slots))),)
        for raw, slot in zip(raws, slots.values()):
            if raw is None:  # an if-branch that was not taken
                continue
            kind = slot.kind
            if kind == "pick":
                for k, v in self.read_list(slot.name, raw).items():
                    out.setdefault(k, []).extend(v)
                continue
            if kind == "num":
                value: object = parse_number(raw)
            elif kind == "text":  # unfiltered: an integer prints as digits
                value = int(raw) if raw.isdigit() else raw
            elif kind == "dir":
                value = self.directions[raw.lower()]
            elif kind == "is":
                value = slot.body[0]
            elif kind == "for":
                value = self.read_loop(slot.body, raw)
            elif kind == "words":
                value = number_words().get(" ".join(raw.lower().split()))
                if value is None:
                    raise Unreadable(f"{raw!r} is not a number in words")
            else:
                value = raw
            out.setdefault(f"{slot.name}@unit" if kind == "unit" else slot.name,
                           []).append(value)
        return out

    def read(self, source: str, text: str) -> dict[str, list]:
        """Values stated in ``text`` read along template ``source`` (whole text must match).

        Raises:
            Unreadable: The text does not follow the template.
        """
        pattern, slots = self.pattern(source)
        m = pattern.fullmatch(text.strip())
        if m is None:
            raise Unreadable(f"text does not follow template {source[:50]!r}…")
        return self._values(m, slots)

    @functools.cache
    def _sources(self, name: str) -> tuple[str, ...]:
        """Phrasings of list ``name``; ``prefix*`` means every list whose name starts so."""
        if name.endswith("*"):
            return tuple(src for key, srcs in self.pack.phrases.items()
                         if key.startswith(name[:-1]) for src in srcs)
        return tuple(self.pack.phrases[name])

    @functools.cache
    def list_pattern(self, name: str) -> tuple[re.Pattern, Mapping[str, Mapping[str, Slot]]]:
        """One capturing regex of every phrasing of list ``name``, as alternatives in list
        order (each a group ``p<i>``), and the slots of each alternative.

        A full match takes the first phrasing that matches the whole text, as trying them
        one by one would, in one call; ``Match.lastgroup`` names it (its group is the
        outermost, so it closes last).
        """
        slots: dict[str, Slot] = {}
        parts, owned = [], {}
        for i, src in enumerate(self._sources(name)):
            first = len(slots)
            parts.append(f"(?P<p{i}>{self.nodes(tuple(parse_template(src)), slots, top=True)})")
            owned[f"p{i}"] = dict(list(slots.items())[first:])
        return re.compile("|".join(parts), re.I), owned

    def read_list(self, name: str, text: str) -> dict[str, list]:
        """Values of ``text`` read as the first phrasing of list ``name`` that matches it
        whole."""
        if self._plain(name):  # states nothing: only whether it reads is in question
            m = self._plain_match(name, text.strip())
        else:
            m = self.list_pattern(name)[0].fullmatch(text.strip())
        if m is None:
            raise Unreadable(f"{text[:60]!r} matches no phrasing of {name!r}")
        return self._values(m, self.list_pattern(name)[1][m.lastgroup])

    @functools.cache
    def _plain(self, name: str) -> bool:
        """Whether no phrasing of list ``name`` has a slot."""
        return not any(self.list_pattern(name)[1].values())

    @functools.lru_cache(maxsize=4096)
    def _plain_match(self, name: str, text: str) -> re.Match | None:
        """The full match of ``text`` by the reader of slot-free list ``name``, cached
        (bounded): such a list has few phrasings, read again and again."""
        return self.list_pattern(name)[0].fullmatch(text)

    def read_loop(self, body: tuple, text: str) -> list[dict[str, list]]:
        """One dict of values per iteration of a loop body over ``text``."""
        text = text.strip()
        try:
            return self._read_items(body, text)
        except Unreadable:
            only, slots = self.pattern_of(body, "only")
            m = only.fullmatch(text)
            if m is None:
                raise
            return [self._values(m, slots)]

    @functools.cache
    def item_pattern(self, body: tuple, place: str) -> tuple[re.Pattern, Mapping[str, Slot]]:
        """The capturing regex of a first or middle loop item, which must end where a
        further item can start (so ``0.02s`` is not read as ``0.02`` before an optional
        unit or suffix, leaving ``s`` behind)."""
        slots: dict[str, Slot] = {}
        item = self.nodes(body, slots, place)
        nxt = f"(?:{self.nodes(body, None, 'middle')}|(?:{self.nodes(body, None, 'last')})\\Z)"
        return re.compile(f"(?:{item})(?={nxt})", re.I), slots

    def _read_items(self, body: tuple, text: str) -> list[dict[str, list]]:
        """Read two or more loop items: the first, middle ones, then the last to the end."""
        out, pos = [], 0
        for place in ("first", "middle"):
            pattern, slots = self.item_pattern(body, place)
            last, last_slots = self.pattern_of(body, "last")
            while True:
                m = last.fullmatch(text, pos) if place == "middle" else None
                if m:
                    out.append(self._values(m, last_slots))
                    return out
                m = pattern.match(text, pos)
                if m is None or m.end() == pos:
                    raise Unreadable(f"loop item unreadable at {text[pos:pos + 40]!r}")
                out.append(self._values(m, slots))
                pos = m.end()
                while pos < len(text) and text[pos].isspace():
                    pos += 1
                if place == "first":
                    break
        return out


@functools.lru_cache(maxsize=1)
def packs() -> Mapping[str, TemplatePack]:
    """The built-in template packs."""
    return load_packs()


_COMPILERS: dict[tuple[str, tuple[str, ...]], Compiler] = {}
"""Compilers by (pack digest, class names): one per pack content and class set read along
in this process, whichever ``Reader`` asks (a build loads its packs once per shard)."""


class Reader:
    """Reads rows back along the template packs they were rendered with.

    Args:
        packs: QA type → pack, as the build used them (built-in and its overlay).
        classes: The dataset's class names as the text words them.
    """

    def __init__(self, packs: Mapping[str, TemplatePack], classes: Iterable[str] = ()) -> None:
        self.packs = packs
        self.classes = tuple(sorted(set(classes)))
        self._compilers: dict[str, Compiler] = {}

    def compiler(self, qa_type: str) -> Compiler:
        """The compiler of a QA type's pack.

        Raises:
            Unreadable: No pack for the QA type.
        """
        found = self._compilers.get(qa_type)
        if found is None:
            pack = self.packs.get(qa_type)
            if pack is None:
                raise Unreadable(f"no template pack for QA type {qa_type!r}")
            classes = self.classes if CLASS_FIELDS & set(pack.fields) else ()
            key = (pack_digest(pack), classes)
            found = _COMPILERS.get(key)
            if found is None:
                found = _COMPILERS[key] = Compiler(pack, classes)
            self._compilers[qa_type] = found
        return found


@functools.lru_cache(maxsize=1)
def _builtin_reader() -> Reader:
    return Reader(packs())


def compiler(row: Row) -> Compiler:
    """The compiler of a row's pack (the built-in one for a row made without a ``reader``)."""
    return (row.reader or _builtin_reader()).compiler(row.qa_type)


def variant(row: Row) -> Variant:
    """The variant a row names in ``template_id``.

    Raises:
        Unreadable: No such variant in the row's pack.
    """
    found = compiler(row).variants.get(row.template_id.split("/", 1)[-1])
    if found is None:
        raise Unreadable(f"unknown template variant {row.template_id!r}")
    return found


def read_row(row: Row) -> tuple[dict[str, list], dict[str, list]]:
    """Stated values of a row's question and answer, read along its variant.

    Raises:
        Unreadable: Unknown variant, or text that does not follow it.
    """
    c, v = compiler(row), variant(row)
    return c.read(v.question, row.question), c.read(v.answer, row.answer)


def _same(a: object, b: object) -> bool:
    # Words compare without case: the renderer capitalizes every sentence's first letter,
    # so an activity that opens a sentence reads "Sitting" and "sitting" elsewhere.
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return a == b


def one(values: Mapping[str, list], name: str, default: object = None) -> object:
    """The single value of a field (stated several times, all must agree)."""
    found = values.get(name)
    if not found:
        if default is not None:
            return default
        raise Unreadable(f"{name} is not stated")
    if len(found) > 1 and any(not _same(v, found[0]) for v in found[1:]):
        raise Unreadable(f"{name} stated inconsistently: {[str(v) for v in found]}")
    return found[0]


def unit_failures(prefix: str, row, values: Mapping[str, list]) -> list:
    """Units stated after values of a one-channel row (``x | unit(unit)``, or a bare
    ``{{ unit }}``) must be the channel's unit."""
    from validation.checks import Failure

    unit = row.channel_units[0] if row.channel_units else ""
    return [Failure(f"{prefix}.unit", f"{key.split('@')[0]} in {u!r}, the channel is in "
                                      f"{unit!r}")
            for key, found in values.items() if key.endswith("@unit") or key == "unit"
            for u in found if u != unit]
