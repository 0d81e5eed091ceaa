"""Score answers of every QA type: read them along the dataset's template packs with the
semantic checks' template reader (``validation/checks/_read.py``) and compare what they
state with the rows' ``facts``."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from generators.text import TemplatePack, load_packs, load_saved_packs
from validation.checks import Row
from validation.checks._read import (Reader, Stated, Unreadable, alternation, compiler, one,
                                     variant)
from validation.checks._signal import activity_words
from validation.checks.true_false import verdict
from validation.reference_model.data import Rows
from validation.reference_model.metrics import (Timeline, TypeScore, repairing,
                                                timeline_agreement)

SEGMENTS = ("segments", "s.t0", "s.t1", "s.dir")
"""The loop of a trend answer's segment lines and its item fields (``trend_analysis``'s
template fields, as its semantic check reads them)."""

ERROR_METRICS = frozenset({"relative_error"})
"""Metrics where lower is better."""


def dataset_packs(templates_dir: Path | None = None, dataset_dir: Path | None = None
                  ) -> dict[str, TemplatePack]:
    """The template packs a dataset's text was rendered with.

    Args:
        templates_dir: The template overlay the dataset was built with, if any.
        dataset_dir: A dataset whose stored packs (``text.load_saved_packs``) are read
            when no overlay is given.

    Returns:
        QA type → pack.

    Raises:
        InputError: The dataset's stored packs are missing or altered.
    """
    saved = (load_saved_packs(dataset_dir) if dataset_dir is not None and templates_dir is None
             else None)
    return saved or load_packs(templates_dir)


def relative_error(stated: float, fact: float) -> float:
    """``|stated − fact| / |fact|``, at most 1 (a zero fact: 0 when stated exactly, else 1)."""
    if fact == 0:
        return 0.0 if stated == 0 else 1.0
    return min(1.0, abs(stated - fact) / abs(fact))


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return a == b


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _fact(facts: object, path: Sequence[str]) -> object:
    for key in path:
        if not isinstance(facts, Mapping) or key not in facts:
            return None
        facts = facts[key]
    return facts


def _path(key: str, item: bool) -> list[str]:
    # a loop item's fields are named after the loop variable (``s.t0``): drop it
    return key.split(".")[1:] if item else key.split(".")


def _scored(key: str) -> bool:
    return not key.endswith("@unit") and key != "unit"


def compare(ref: Mapping[str, list], gen: Mapping[str, list] | None, facts: Mapping,
            given: Mapping[str, list] | None = None, item: bool = False
            ) -> tuple[list[float], list[float]]:
    """How the values an answer states (``gen``) match those its reference states.

    Every value the reference states is scored, in order (a loop item by item), except
    units and the values it restates from the question (``given``: copying them needs no
    signal). A number written with decimals (``Stated``) scores its ``relative_error``
    against the fact at its path in ``facts`` (a field ``x.y`` is ``facts["x"]["y"]``,
    a loop item's field ``s.t0`` is ``facts[<loop>][k]["t0"]``), or against the
    reference's number where the facts hold none; any other value (a whole number such
    as a count, a direction, a letter, a label) matches when equal to the fact, or the
    reference's value where the facts hold none (words compare without case). A value
    ``gen`` leaves out scores an error of 1 or a miss.

    Args:
        ref: Values the reference answer states (``Compiler.read``).
        gen: Values the scored answer states; ``None``: unreadable (all wrong).
        facts: The row's facts (or one loop item's).
        given: Values the question states.
        item: ``ref`` is one loop item.

    Returns:
        The relative errors of the numbers and the matches (1.0 or 0.0) of the others.
    """
    errors: list[float] = []
    matches: list[float] = []
    for key, values in ref.items():
        if not _scored(key) or (given and key in given and all(
                any(_same(v, q) for q in given[key]) for v in values)):
            continue
        said = (gen or {}).get(key, [])
        truth = _fact(facts, _path(key, item))
        for k, v in enumerate(values):
            g = said[k] if k < len(said) else None
            if isinstance(v, list):  # one run of a loop: its items in order
                items = truth if isinstance(truth, list) else []
                for j, sub in enumerate(v):
                    f = items[j] if j < len(items) and isinstance(items[j], Mapping) else {}
                    gsub = g[j] if isinstance(g, list) and j < len(g) else None
                    e, m = compare(sub, gsub, f, item=True)
                    errors += e
                    matches += m
            elif isinstance(v, Stated):
                fact = truth if _number(truth) else v.value
                errors.append(relative_error(g.value, fact) if isinstance(g, Stated) else 1.0)
            else:
                want = truth if truth is not None and not isinstance(truth, (list, Mapping)) \
                    else v
                matches.append(float(g is not None and _same(g, want)))
    return errors, matches


def substitute(ref: Mapping[str, list], facts: Mapping, item: bool = False) -> dict[str, list]:
    """``ref``'s values with another row's ``facts`` in their place (a value the facts
    lack left out): an answer in the reference's words stating another window's facts,
    whose score against the reference is a chance level."""
    out: dict[str, list] = {}
    for key, values in ref.items():
        truth = _fact(facts, _path(key, item))
        said: list = []
        for v in values:
            if isinstance(v, list):
                items = truth if isinstance(truth, list) else []
                said.append([substitute(sub, f, item=True) for sub, f in zip(v, items)
                             if isinstance(f, Mapping)])
            elif isinstance(v, Stated) and _number(truth):
                said.append(Stated(float(truth), v.decimals))
            elif truth is not None and not isinstance(truth, (list, Mapping, Stated)):
                said.append(truth)
        if said:
            out[key] = said
    return out


def stated_timeline(values: Mapping[str, list] | None) -> Timeline | None:
    """The segment lines an answer states (``SEGMENTS``); ``None`` when it states none or
    states them inconsistently."""
    loop, t0, t1, d = SEGMENTS
    items = [it for run in (values or {}).get(loop, ()) for it in run]
    if not items:
        return None
    try:
        segs = [(one(it, t0), one(it, t1), one(it, d)) for it in items]
    except Unreadable:
        return None
    return Timeline(directions=tuple(str(s[2]) for s in segs),
                    starts=tuple(s[0].value for s in segs), ends=tuple(s[1].value for s in segs))


def _interval(values: Mapping[str, list] | None) -> tuple[float, float] | None:
    try:
        t0, t1 = one(values or {}, "t0"), one(values or {}, "t1")
    except Unreadable:
        return None
    return (t0.value, t1.value) if isinstance(t0, Stated) and isinstance(t1, Stated) else None


def time_iou(truth: tuple[float, float] | None, stated: tuple[float, float] | None) -> float:
    """Intersection over union of two time intervals (0 when either is missing)."""
    if truth is None or stated is None:
        return 0.0
    (a0, a1), (b0, b1) = sorted(truth), sorted(stated)
    union = max(a1, b1) - min(a0, b0)
    if union <= 0:
        return float(a0 == b0)
    return max(0.0, min(a1, b1) - max(a0, b0)) / union


@dataclass(frozen=True)
class Truth:
    """What one test row's answer should state.

    Attributes:
        row: The row as the checks see it (its reference answer).
        values: Values the reference answer states.
        given: Values the question states.
        facts: The row's facts.
    """

    row: Row
    values: Mapping[str, list]
    given: Mapping[str, list]
    facts: Mapping


def _type_metric(qa_type: str, truth: Truth, gen: Mapping[str, list] | None,
                 said_verdict: bool | None) -> dict[str, float]:
    """The QA type's own measure of one answer (``said_verdict``: the true/false verdict
    it opens with, ``None`` when none reads)."""
    if qa_type == "temporal_localization":
        t0, t1 = truth.facts.get("t0"), truth.facts.get("t1")
        want = (t0, t1) if _number(t0) and _number(t1) else _interval(truth.values)
        return {"time_iou": time_iou(want, _interval(gen))}
    if qa_type == "unanswerable":
        return {"refusal_rate": float(gen is not None)}
    if qa_type == "multiple_choice":
        letter = (gen or {}).get("answer_letter", [None])[0]
        want = truth.facts.get("answer_letter") or truth.values.get("answer_letter", [None])[0]
        return {"letter_accuracy": float(letter is not None and _same(letter, want))}
    if qa_type == "true_false":
        want = truth.facts.get("is_true")
        return {"verdict_accuracy": float(said_verdict is not None and said_verdict == want)}
    return {}


class AnswerScorer:
    """Reads and scores answers of test rows along the dataset's template packs.

    Args:
        packs: QA type → pack, as the dataset was built.
        labels: The dataset's class labels, which activity and transition texts name.
    """

    def __init__(self, packs: Mapping[str, TemplatePack], labels: Iterable[str]) -> None:
        self.reader = Reader(packs, map(activity_words, {x for x in labels if x}))

    def row(self, rows: Rows, i: int, answer: str | None = None) -> Row:
        """Row ``i`` with the reader, and ``answer`` in place of its own when given."""
        return rows.check_row(i, answer, self.reader)

    def read(self, row: Row, question: bool = False) -> dict[str, list] | None:
        """Values a row's answer (or question) states, read along its variant; ``None``
        when the text does not follow it."""
        try:
            v = variant(row)
            return compiler(row).read(v.question if question else v.answer,
                                      row.question if question else row.answer)
        except Unreadable:
            return None

    def timelines(self, rows: Rows, answers: Sequence[str] | None = None
                  ) -> list[Timeline | None]:
        """The segment lines each row's answer (or ``answers[i]``) states (``stated_timeline``)."""
        texts = answers if answers is not None else rows.answer
        return [stated_timeline(self.read(self.row(rows, i, a))) for i, a in enumerate(texts)]

    def direction_words(self, qa_type: str) -> dict[str, str]:
        """Every direction synonym of a QA type's pack (lower case) → direction."""
        return dict(self.reader.compiler(qa_type).directions)

    def direction_spans(self, rows: Rows) -> list[list[tuple[int, str]]]:
        """Where each row's answer names the direction of each segment line it states: the
        character offset of the word and the direction, in order.

        The k-th segment's word is the k-th direction word of the answer (segment lines
        come first; a row whose words disagree with its segments gets none).
        """
        out = []
        for i, tl in enumerate(self.timelines(rows)):
            spans: list[tuple[int, str]] = []
            if tl is not None:
                words = self.direction_words(rows.qa_type[i])
                found = _word_finder(tuple(sorted(words))).finditer(rows.answer[i])
                spans = [(m.start(), words[m.group(0).lower()]) for m, _ in
                         zip(found, tl.directions)]
                if [d for _, d in spans] != list(tl.directions):
                    spans = []
            out.append(spans)
        return out

    def truths(self, rows: Rows) -> list[Truth | None]:
        """Each row's ``Truth`` (``None`` where its own answer does not read)."""
        out: list[Truth | None] = []
        for i in range(len(rows)):
            row = self.row(rows, i)
            values = self.read(row)
            out.append(None if values is None else Truth(
                row, values, self.read(row, question=True) or {}, json.loads(rows.facts[i])))
        return out

    def score(self, truth: Truth, answer: str) -> tuple[dict[str, float], bool]:
        """One answer's metrics against a row's truth, and whether the answer was read."""
        row = replace(truth.row, answer=answer)
        gen = self.read(row)
        try:
            said = verdict(row) if truth.row.qa_type == "true_false" else None
        except Unreadable:
            said = None
        return _metrics(truth, gen, said), gen is not None

    @staticmethod
    def chance(truth: Truth, other: Truth) -> dict[str, float]:
        """The metrics of ``truth``'s row answered with ``other``'s facts in its words
        (``substitute``), the segment lines as ``other``'s answer states them."""
        out = _metrics(truth, substitute(truth.values, other.facts), other.facts.get("is_true"))
        ref = stated_timeline(truth.values)
        if ref is not None:
            out["trend_accuracy"] = timeline_agreement(ref, stated_timeline(other.values))
        return out


def _metrics(truth: Truth, gen: Mapping[str, list] | None, said_verdict: bool | None
             ) -> dict[str, float]:
    errors, matches = compare(truth.values, gen, truth.facts, truth.given)
    out = _type_metric(truth.row.qa_type, truth, gen, said_verdict)
    ref = stated_timeline(truth.values)
    if ref is not None:
        out["trend_accuracy"] = timeline_agreement(ref, stated_timeline(gen))
    if matches:
        out["exact_match"] = float(np.mean(matches))
    if errors:
        out["relative_error"] = float(np.mean(errors))
    return out


@functools.cache
def _word_finder(words: tuple[str, ...]) -> re.Pattern:
    """A case-insensitive regex finding any of ``words`` as whole words."""
    return re.compile(rf"(?<!\w){alternation(words)}(?!\w)", re.I)


def mean_scores(per_row: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each metric's mean over the rows that have it."""
    names = sorted({k for m in per_row for k in m})
    return {k: float(np.mean([m[k] for m in per_row if k in m])) for k in names}


CHANCE_KIND = "re-paired facts"
"""How ``type_scores`` computes chance (``metrics.TypeScore.chance_kind``)."""


def type_scores(rows: Rows, truths: Sequence[Truth | None],
                scored: Mapping[str, Sequence[tuple[Mapping[str, float], bool]]],
                stage_of: Mapping[str, int], seed: int) -> list[TypeScore]:
    """Every QA type's metrics, per model and at chance.

    Args:
        rows: The scored test rows.
        truths: Each row's ``Truth`` (``None``: its own answer does not read; left out).
        scored: Per model (``aligned``, ``shuffled``), each row's metrics and whether its
            generated answer was read (``AnswerScorer.score``).
        stage_of: QA type → stage.
        seed: Seed of the chance pairing (``metrics.repairing``).

    Returns:
        One ``TypeScore`` per QA type and metric, by stage and QA type.
    """
    other = repairing(rows.qa_type, seed)
    chance = [AnswerScorer.chance(t, truths[o]) if t and truths[o] else {}
              for t, o in zip(truths, other)]
    out = []
    for qa_type in sorted(set(rows.qa_type), key=lambda t: (stage_of[t], t)):
        idx = [i for i, t in enumerate(rows.qa_type) if t == qa_type and truths[i] is not None]
        unparsed = {kind: sum(not got[i][1] for i in idx) for kind, got in scored.items()}
        per_model = {kind: mean_scores([got[i][0] for i in idx]) for kind, got in scored.items()}
        at_chance = mean_scores([chance[i] for i in idx])
        for name in sorted(set(at_chance).union(*per_model.values())):
            out.append(TypeScore(qa_type, stage_of[qa_type], name, name not in ERROR_METRICS,
                                 per_model.get("aligned", {}).get(name),
                                 per_model.get("shuffled", {}).get(name), at_chance.get(name),
                                 CHANCE_KIND, len(idx), unparsed))
    return out
