"""Read answer text back: regexes compiled from the template phrases and synonym lists."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Mapping

import inflect

from generators.text import DIRECTION_LISTS, TemplatePack, load_packs

NUMBER = r"[-−]?\d+(?:\.\d+)?"
_EXPR = re.compile(r"({{.*?}}|{%.*?%})", re.S)
_PICK = re.compile(r"pick\(\s*'([^']+)'")
_TREND_INDEX = re.compile(r"trend\[\s*([\w.]+)\s*\]")
_TREND_ATTR = re.compile(r"trend\.(\w+)")


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
        """Whether ``true`` rounds to this number (half a last digit, plus ``extra``)."""
        return abs(self.value - true) <= 0.5 * 10.0 ** -self.decimals + extra + 1e-9

    def __str__(self) -> str:
        return f"{self.value:.{self.decimals}f}"


def parse_number(token: str) -> Stated:
    """``"0.24"`` → ``Stated(0.24, 2)``; also accepts a Unicode minus."""
    token = token.replace("−", "-")
    decimals = len(token.split(".", 1)[1]) if "." in token else 0
    return Stated(float(token), decimals)


@functools.lru_cache(maxsize=1)
def number_words() -> Mapping[str, int]:
    """Number words as inflect writes them (``twenty-three``) → value, 0–1000."""
    engine = inflect.engine()
    return {engine.number_to_words(n): n for n in range(1001)}


def _alternation(words) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)) + ")"


@functools.lru_cache(maxsize=1)
def packs() -> Mapping[str, TemplatePack]:
    """The built-in template packs (the structure the text was rendered from)."""
    return load_packs()


def direction_words(phrases: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Synonym (lower case) → direction, from the shared ``up``/``down``/``steady`` lists."""
    return {w.lower(): d for d in DIRECTION_LISTS for w in phrases[d]}


@dataclass(frozen=True)
class Phrase:
    """One template phrase compiled to a regex whose groups are the phrase's slots.

    Attributes:
        source: The Jinja source.
        pattern: Compiled regex (case-insensitive, spaces flexible).
        slots: Group name → (field expression, kind) with kind ``num``, ``words``,
            ``dir`` or ``text``.
    """

    source: str
    pattern: re.Pattern
    slots: Mapping[str, tuple[str, str]]

    def read(self, m: re.Match, directions: Mapping[str, str]) -> dict[str, list]:
        """Values of a match, per field (a field used twice gives two values)."""
        out: dict[str, list] = {}
        for group, (field, kind) in self.slots.items():
            raw = m.group(group)
            if kind == "num":
                value: object = parse_number(raw)
            elif kind == "words":
                value = number_words()[raw.lower()]
            elif kind == "dir":
                value = directions[raw.lower()]
            else:  # unfiltered: an integer prints as digits, anything else as itself
                value = int(raw) if raw.isdigit() else raw
            out.setdefault(field, []).append(value)
        return out


class PhraseCompiler:
    """Compiles the phrases of one pack into regexes.

    Args:
        pack: The QA type's template pack.
    """

    def __init__(self, pack: TemplatePack) -> None:
        self.pack = pack
        self.directions = direction_words(pack.phrases)
        self._words = _alternation(number_words())

    def nested(self, name: str) -> str:
        """A non-capturing alternation of every phrasing of list ``name``."""
        return "(?:" + "|".join(self._body(src, None) for src in self.pack.phrases[name]) + ")"

    def _slot(self, expr: str, slots: dict | None) -> str:
        parts = [p.strip() for p in expr.split("|")]
        head, filters = parts[0], [f.split("(")[0].strip() for f in parts[1:]]
        pick = _PICK.match(head)
        if pick:
            return self.nested(pick.group(1))
        index = _TREND_INDEX.fullmatch(head)
        attr = _TREND_ATTR.fullmatch(head)
        if index or attr:
            words = ([w for d in DIRECTION_LISTS for w in self.pack.phrases[d]] if index
                     else self.pack.phrases[attr.group(1)])
            body, field, kind = _alternation(words), (index or attr).group(1), "dir"
        elif "words" in filters:
            body, field, kind = self._words, head, "words"
        elif {"s", "seconds", "sec", "num", "unit"} & set(filters):
            body, field, kind = NUMBER, head, "num"
        else:
            body, field, kind = r".+?", head, "text"
        if slots is not None:
            group = f"g{len(slots)}"
            slots[group] = (field, kind)
            body = f"(?P<{group}>{body})"
        if "s" in filters:
            body += "s"
        elif "seconds" in filters:
            body += r"\s+seconds"
        elif "unit" in filters:
            body += r"(?:\s+\S+)?"
        if "a" in filters:
            body = r"an?\s+" + body
        return body

    def _body(self, source: str, slots: dict | None) -> str:
        out = []
        for part in _EXPR.split(source):
            if part.startswith("{{"):
                out.append(self._slot(part[2:-2].strip(), slots))
            elif part.startswith("{%"):
                raise ValueError(f"phrase with a Jinja statement cannot be read back: {source!r}")
            elif part:
                out.append(r"\s+".join(re.escape(w) for w in part.split(" ")))
        return "".join(out)

    def compile(self, source: str) -> Phrase:
        """Compile one phrase source with capturing slots."""
        slots: dict[str, tuple[str, str]] = {}
        body = self._body(source, slots)
        return Phrase(source, re.compile(body, re.I), slots)

    def phrases(self, name: str) -> tuple[Phrase, ...]:
        """Every phrasing of list ``name``, compiled with capturing slots."""
        return tuple(self.compile(src) for src in self.pack.phrases[name])


@functools.lru_cache(maxsize=None)
def compiler(qa_type: str) -> PhraseCompiler:
    """The (cached) phrase compiler of a QA type's pack."""
    return PhraseCompiler(packs()[qa_type])


@functools.lru_cache(maxsize=None)
def compiled(qa_type: str, name: str) -> tuple[Phrase, ...]:
    """The (cached) compiled phrasings of list ``name`` of a QA type's pack."""
    return compiler(qa_type).phrases(name)


def match_at(phrases: tuple[Phrase, ...], text: str, pos: int, directions: Mapping[str, str],
             full: bool = False) -> tuple[dict[str, list], int] | None:
    """The first phrasing that matches at ``pos`` (to the end when ``full``).

    Returns:
        (field values, end position), or ``None`` when no phrasing matches.
    """
    for p in phrases:
        m = (p.pattern.fullmatch if full else p.pattern.match)(text, pos)
        if m:
            return p.read(m, directions), m.end()
    return None


def skip_space(text: str, pos: int) -> int:
    """Position of the next non-space character."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos
