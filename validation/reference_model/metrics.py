"""Scores: the per-QA-type result structure, structural trend metrics, classification metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from generators.types import DIRECTIONS


@dataclass(frozen=True)
class TypeScore:
    """One metric of one QA type: the aligned model, the shuffled control, and chance.

    ``harqa verify`` scores every QA type the dataset has; its JSON carries a list of these
    under ``qa_types`` (``TypeScore.to_json`` each, ordered by stage, QA type, metric),
    and its reports print one table row per entry.

    Attributes:
        qa_type: The QA type (``activity``: the stage-2 classifier).
        stage: 1 or 2.
        metric: ``exact_match`` (share of the discrete values the reference states, such as
            counts, directions, letters, labels, stated alike), ``relative_error`` (mean of
            ``min(1, |stated − fact| / |fact|)`` over the numbers the reference states;
            lower is better), ``time_iou`` (the stated interval against the fact's),
            ``refusal_rate`` (answers read as a refusal), ``letter_accuracy``,
            ``verdict_accuracy`` (true/false), ``trend_accuracy`` (time-weighted segment
            directions, ``timeline_agreement``) or ``accuracy`` (the classifier). An answer
            the template reader cannot read scores 0 (1 for ``relative_error``).
        higher_is_better: ``False`` for errors.
        aligned: Score of the model trained on the real pairs (``None``: nothing scored).
        shuffled: Score of the model trained on shuffled pairs.
        chance: Chance level (see ``chance_kind``).
        chance_kind: How ``chance`` was computed: ``re-paired facts`` (each test row
            answered in its reference's words with the facts of another test row of its
            type, paired at random, seeded; ``trend_accuracy``: that row's reference
            segment lines) or ``majority class`` (the classifier's commonest training
            class).
        rows: Test rows scored.
        unparsed: Generated answers the template reader could not read, per model
            (``aligned``, ``shuffled``); they count as wrong.
    """

    qa_type: str
    stage: int
    metric: str
    higher_is_better: bool
    aligned: float | None
    shuffled: float | None
    chance: float | None
    chance_kind: str
    rows: int
    unparsed: Mapping[str, int]

    @property
    def gap(self) -> float | None:
        """Aligned minus shuffled, signed so that positive means the aligned model is better."""
        if self.aligned is None or self.shuffled is None:
            return None
        diff = self.aligned - self.shuffled
        return diff if self.higher_is_better else -diff

    def to_json(self) -> dict:
        """JSON-ready dict: the attributes and ``gap``."""
        return {**asdict(self), "unparsed": dict(self.unparsed), "gap": self.gap}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass(frozen=True)
class Timeline:
    """The trend segments an answer states (or a model reads), in order.

    Attributes:
        directions: Direction of each segment (one of ``DIRECTIONS``).
        starts: Start time of each segment, seconds.
        ends: End time of each segment, seconds.
    """

    directions: tuple[str, ...] = ()
    starts: tuple[float, ...] = ()
    ends: tuple[float, ...] = ()


TIMELINE_STEP_S = 0.01
"""Spacing of the time grid on which stated directions are compared."""


def direction_at(st: Timeline, times: np.ndarray) -> np.ndarray:
    """The direction a timeline states at each time, as its index in ``DIRECTIONS``; −1
    outside its segments."""
    if not st.ends:
        return np.full(times.shape, -1, dtype=np.int64)
    ends = np.asarray(st.ends)
    idx = np.searchsorted(ends, times, side="left")  # first segment ending at or after t
    codes = np.array([*(DIRECTIONS.index(d) if d in DIRECTIONS else -1
                        for d in st.directions), -1], dtype=np.int64)
    inside = (idx < ends.size) & (times >= st.starts[0])
    return np.where(inside, codes[np.minimum(idx, ends.size)], -1)


def timeline_agreement(ref: Timeline, gen: Timeline | None) -> float:
    """Share of the reference's time span where the generated answer states its direction.

    Robust to a missed or extra short segment, which would shift every later segment
    in a position-by-position comparison. Times the generated answer leaves out count
    as wrong, and so does all of it when it states no timeline (``None``).
    """
    if gen is None:
        return 0.0
    start, stop = ref.starts[0], ref.ends[-1]
    if stop <= start:
        return float(ref.directions[:1] == gen.directions[:1])
    times = np.arange(start, stop, TIMELINE_STEP_S) + TIMELINE_STEP_S / 2
    want, got = direction_at(ref, times), direction_at(gen, times)
    known = want >= 0
    return float(np.mean(want[known] == got[known])) if known.any() else 0.0


def timeline(labels: Sequence[int], seconds_per_label: float) -> Timeline:
    """The segments of a per-sample direction labelling (indices in ``DIRECTIONS``), each
    label covering ``seconds_per_label`` from its sample on."""
    lab = np.asarray(labels)
    if not lab.size:
        return Timeline()
    cut = np.flatnonzero(np.diff(lab)) + 1
    starts, ends = np.concatenate([[0], cut]), np.concatenate([cut, [lab.size]])
    return Timeline(directions=tuple(DIRECTIONS[int(lab[a])] for a in starts),
                    starts=tuple(float(a) * seconds_per_label for a in starts),
                    ends=tuple(float(b) * seconds_per_label for b in ends))


def boundary_errors(ref: Timeline, gen: Timeline | None) -> list[float]:
    """For each inner boundary of the reference, the distance to the nearest stated boundary."""
    inner = np.asarray(ref.ends[:-1])
    stated = np.asarray([*gen.starts, *gen.ends]) if gen is not None else np.zeros(0)
    if not inner.size or not stated.size:
        return []
    return np.abs(inner[:, None] - stated[None, :]).min(axis=1).tolist()


def trend_metrics(refs: Sequence[Timeline | None], gens: Sequence[Timeline | None]
                  ) -> dict[str, float | None]:
    """The generated answers' trend segments against those of the references.

    Only rows whose reference states segments are scored; a generated answer that
    states none (``None``: unreadable, or no segments) counts as wrong.

    * ``trend_accuracy``: per row, the share of time where the stated segment direction
      matches the reference (``timeline_agreement``), averaged over rows.
    * ``trend_sequence_exact``: share of rows with exactly the reference direction list.
    * ``segment_count_exact``: share of rows with as many segments as the reference.
    * ``boundary_error_s``: mean distance from each inner reference boundary to the
      nearest stated boundary, in seconds (rows with stated segments only).

    Args:
        refs: The references' timelines (``None``: the row states no segments).
        gens: The generated answers' timelines, in the same order.

    Returns:
        Metric → value (``None`` when no reference states segments).
    """
    acc, exact, n_seg, bound = [], [], [], []
    for ref, gen in zip(refs, gens):
        if ref is None or not ref.directions:
            continue
        acc.append(timeline_agreement(ref, gen))
        said = gen.directions if gen is not None else None
        exact.append(float(ref.directions == said))
        n_seg.append(float(said is not None and len(ref.directions) == len(said)))
        bound += boundary_errors(ref, gen)
    return {"trend_accuracy": _mean(acc), "trend_sequence_exact": _mean(exact),
            "segment_count_exact": _mean(n_seg), "boundary_error_s": _mean(bound)}


def repairing(qa_types: Sequence[str], seed: int) -> np.ndarray:
    """For each row, another row of the same QA type, paired at random (seeded): the
    reference answer of row ``repairing(...)[i]`` stands for an answer to row ``i`` that
    ignores its signal (the chance levels)."""
    rng = np.random.default_rng([seed, 0xC4A7CE])
    types = np.asarray(qa_types, dtype=object)
    other = np.arange(len(types))
    for t in sorted(set(qa_types)):
        idx = np.flatnonzero(types == t)
        other[idx] = idx[rng.permutation(idx.size)]
    return other


def confusion(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion counts, rows = true class, columns = predicted class."""
    return np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes)


def classification_metrics(true: np.ndarray, pred: np.ndarray, classes: Sequence[str]
                           ) -> dict[str, object]:
    """Accuracy, macro-F1 (over classes present in truth or prediction) and the confusion.

    Args:
        true: True class indices.
        pred: Predicted class indices.
        classes: Class names by index.

    Returns:
        ``accuracy``, ``macro_f1``, ``per_class_f1`` and ``confusion`` (nested lists).
    """
    cm = confusion(true, pred, len(classes))
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(1), cm.sum(0)
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = denom > 0
    return {"accuracy": float(tp.sum() / max(cm.sum(), 1)),
            "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
            "per_class_f1": {c: float(v) for c, v, p in zip(classes, f1, present) if p},
            "confusion": cm.tolist()}


def window_features(series: Sequence[np.ndarray]) -> np.ndarray:
    """Mean and std of every channel of each window (rows × 2·channels)."""
    return np.stack([np.concatenate([s.mean(1), s.std(1)]) for s in series]).astype(np.float64)


def nearest_centroid(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                     n_classes: int) -> np.ndarray:
    """Nearest class centroid on features standardized by the training set.

    Args:
        train_x: Training features.
        train_y: Training class indices.
        test_x: Test features.
        n_classes: Number of classes.

    Returns:
        Predicted class index per test row (a class absent from training is never chosen).
    """
    mu, sd = train_x.mean(0), train_x.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    a, b = (train_x - mu) / sd, (test_x - mu) / sd
    counts = np.bincount(train_y, minlength=n_classes)
    sums = np.zeros((n_classes, a.shape[1]))
    np.add.at(sums, train_y, a)
    centroids = sums / np.maximum(counts, 1)[:, None]
    dist = ((b[:, None, :] - centroids[None]) ** 2).sum(-1)
    dist[:, counts == 0] = np.inf
    return dist.argmin(1)


def majority(train_y: np.ndarray, n_test: int, n_classes: int) -> np.ndarray:
    """The most frequent training class, for every test row."""
    return np.full(n_test, int(np.bincount(train_y, minlength=n_classes).argmax()))


def gaps(aligned: Mapping[str, float | None], shuffled: Mapping[str, float | None]
         ) -> dict[str, float | None]:
    """Aligned minus shuffled for every metric both runs have."""
    return {k: (aligned[k] - shuffled[k] if aligned[k] is not None
                and shuffled.get(k) is not None else None) for k in aligned}
