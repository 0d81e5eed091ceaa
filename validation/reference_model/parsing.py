"""Read trend structure back out of answer texts (generated or reference) with regexes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from generators.types import DIRECTIONS

_TIME = r"(\d+(?:\.\d+)?)"
_UNIT = r"(?:\s*(?:seconds|sec|s)\b)?"
SEGMENT_RE = re.compile(
    rf"{_TIME}{_UNIT}\s*(?:to|until|and|-|,)\s*{_TIME}{_UNIT}\s*\]?\s*:\s*([A-Za-z]+)")
"""One ``t0 … t1: word`` segment line in any of the templates' time formats."""

COUNT_LINE_RE = re.compile(r"^(?P<text>[^:\n]*?)\s*:\s*(?P<n>\d+)\s*$", re.MULTILINE)
"""A ``<words naming a direction>: N`` count line."""

OVERALL_RE = re.compile(r"\b(?:overall|as a whole|net trend|all in all|general tendency|"
                        r"on balance)\b", re.IGNORECASE)
"""Words that mark the sentence stating the window's overall trend."""

NO_NET_RE = re.compile(r"\bno net\b|\bcancel|\bbalance out|\bneither (?:rises?|up)\b|"
                       r"\bno overall upward or downward\b", re.IGNORECASE)
"""Words of a sentence saying the rises and falls cancel out: an overall trend of steady."""


@dataclass(frozen=True)
class Structure:
    """The trend facts an answer states (``None`` where it states none).

    Attributes:
        directions: Direction of each listed segment, in order (``None``: unknown word).
        starts: Start time (seconds) of each listed segment.
        ends: End time (seconds) of each listed segment.
        counts: Number of segments per direction.
        n_trends: Number of distinct trends.
        n_segments: Number of segments.
        overall: Overall direction.
    """

    directions: tuple[str | None, ...] = ()
    starts: tuple[float, ...] = ()
    ends: tuple[float, ...] = ()
    counts: Mapping[str, int] | None = None
    n_trends: int | None = None
    n_segments: int | None = None
    overall: str | None = None


def direction_words(templates_dir: Path | None = None,
                    dataset_dir: Path | None = None) -> dict[str, str]:
    """Every synonym of ``up``/``down``/``steady`` in the template phrase lists → direction.

    Args:
        templates_dir: The template overlay the dataset was built with, if any.
        dataset_dir: A dataset whose stored packs (``text.load_saved_packs``) are read
            when no overlay is given.

    Returns:
        Lower-case word → direction.

    Raises:
        InputError: The dataset's stored packs are missing or altered.
    """
    from generators.text import load_packs, load_saved_packs

    packs = (load_saved_packs(dataset_dir) if dataset_dir is not None and templates_dir is None
             else None) or load_packs(templates_dir)
    phrases = next(iter(packs.values())).phrases  # the shared lists are in every pack
    return {w.lower(): d for d in DIRECTIONS for w in phrases[d]}


def _number_words() -> dict[str, int]:
    import inflect

    engine = inflect.engine()
    words = {engine.number_to_words(i): i for i in range(200)}
    words.update({"a single": 1, "single": 1, "just one": 1})
    return words


class AnswerParser:
    """Parses the structure of trend answers phrased by the templates.

    Args:
        words: Direction synonym → direction (see ``direction_words``).
    """

    def __init__(self, words: Mapping[str, str]) -> None:
        self.words = {k.lower(): v for k, v in words.items()}
        numbers = _number_words()
        self.numbers = numbers
        alternatives = "|".join(sorted(map(re.escape, numbers), key=len, reverse=True))
        num = rf"(\d+|{alternatives})"
        self.trends_re = re.compile(
            rf"\b{num}\s+(?:distinct\s+|different\s+)?(?:trends?\b|trend types|kinds of trend)",
            re.IGNORECASE)
        self.segments_re = re.compile(rf"\b{num}\s+(?:unbroken\s+)?segments?\b", re.IGNORECASE)
        self.word_re = re.compile(r"[A-Za-z]+")

    def _number(self, text: str) -> int:
        return int(text) if text.isdigit() else self.numbers[text.lower()]

    def _direction_in(self, text: str) -> str | None:
        for w in self.word_re.findall(text):
            if w.lower() in self.words:
                return self.words[w.lower()]
        return None

    def parse(self, answer: str) -> Structure:
        """The trend facts stated by one answer.

        Segment lines give directions and end times; ``word: N`` lines naming a direction
        give counts; "N distinct trends" / "N segments" phrases give the summary counts
        (a single trend stated without a segment count means one segment); the last
        sentence, when it speaks of the overall trend, gives the overall direction (steady
        when it says the rises and falls cancel out).

        Args:
            answer: Answer text.

        Returns:
            The parsed structure.
        """
        segs = SEGMENT_RE.findall(answer)  # [(t0, t1, word), …]
        directions = tuple(self.words.get(w.lower()) for _, _, w in segs)
        starts = tuple(float(t0) for t0, _, _ in segs)
        ends = tuple(float(t1) for _, t1, _ in segs)
        counts: dict[str, int] = {}
        for m in COUNT_LINE_RE.finditer(SEGMENT_RE.sub("", answer)):
            d = self._direction_in(m.group("text"))
            if d is not None:
                counts[d] = int(m.group("n"))
        trends = self.trends_re.search(answer)
        segments = self.segments_re.search(answer)
        n_trends = self._number(trends.group(1)) if trends else None
        n_segments = self._number(segments.group(1)) if segments else None
        if n_trends == 1 and n_segments is None:
            n_segments = 1
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", answer.strip()) if s]
        overall = None
        if sentences and NO_NET_RE.search(sentences[-1]):
            overall = "steady"
        elif sentences and OVERALL_RE.search(sentences[-1]):
            overall = self._direction_in(sentences[-1])
        return Structure(directions, starts, ends, counts or None, n_trends, n_segments, overall)
