"""Cut recordings into windows: single-activity runs, seeded stage-1, strided stage-2."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from generators.seeding import stable_rng
from generators.types import UNLABELLED, Recording, Window


def activity_runs(labels: np.ndarray,
                  keep: Iterable[int] | None = None) -> list[tuple[int, int, int]]:
    """Contiguous runs of one label.

    Args:
        labels: Per-sample label ids (−1 = unlabelled).
        keep: Label ids to keep; ``None`` keeps every labelled run.

    Returns:
        ``(start, end, label)`` triples, end exclusive, in order; unlabelled runs and runs
        of labels outside ``keep`` are left out.
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return []
    edges = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [labels.size]))
    kept = None if keep is None else set(keep)
    return [
        (int(s), int(e), int(labels[s]))
        for s, e in zip(starts, ends)
        if labels[s] != UNLABELLED and (kept is None or int(labels[s]) in kept)
    ]


def random_lengths(total: int, min_len: int, max_len: int,
                   rng: np.random.Generator) -> list[int]:
    """Split ``total`` samples into random lengths in ``[min_len, max_len]`` (SensorLLM's scheme).

    Each length is drawn uniformly from ``[min_len, min(max_len, remaining)]``; when fewer
    than ``min_len`` samples remain, the previous length is taken back and drawn again, so
    the lengths tile ``total`` exactly.

    Args:
        total: Samples to cover (at least ``min_len``).
        min_len: Shortest window.
        max_len: Longest window.
        rng: Random generator.

    Returns:
        Lengths summing to ``total``.
    """
    if total < min_len:
        raise ValueError(f"cannot tile {total} samples with windows of at least {min_len}")
    lengths: list[int] = []
    remaining = total
    while remaining > 0:
        if remaining < min_len:
            remaining += lengths.pop()
            continue
        n = int(rng.integers(min_len, min(max_len, remaining) + 1))
        lengths.append(n)
        remaining -= n
    return lengths


def _window(rec: Recording, start: int, end: int, label: int, split: str, stage: int,
            **extra: object) -> Window:
    """A window of ``rec`` with ``label`` (``UNLABELLED``: no activity, both fields ``None``)."""
    unlabelled = label == UNLABELLED
    return Window(
        window_id=f"{rec.dataset}/{rec.recording_id}/s{stage}/{start}-{end}",
        recording_id=rec.recording_id, subject=rec.subject, start=start, end=end,
        activity=None if unlabelled else rec.label_names[label],
        activity_id=None if unlabelled else label, split=split, stage=stage, **extra,
    )


def _starts_in(span: tuple[int, int] | None, pos: int) -> bool:
    return span is None or span[0] <= pos < span[1]


def stage1_windows(rec: Recording, split: str, seed: int, length_range: tuple[int, int],
                   repeats: int, keep: Iterable[int] | None = None,
                   span: tuple[int, int] | None = None) -> list[Window]:
    """Random variable-length windows tiling each activity run, ``repeats`` times.

    A recording without labels (no ``label_names``) is one run, the whole recording, and
    its windows have no activity. Duplicate ``(start, end)`` pairs across repeats are kept once, as in SensorLLM.
    With ``span``, a run that crosses the span is still tiled whole (its draws do not
    depend on the span) and only the windows starting inside the span are returned.

    Args:
        rec: The recording.
        split: ``train`` or ``test``.
        seed: Build seed; each run's draws depend only on (seed, recording, run, repeat).
        length_range: ``(min, max)`` window length in samples.
        repeats: Independent segmentations per run (SensorLLM: 2 for train, 1 for test).
        keep: Label ids kept.
        span: ``[lo, hi)``: keep only windows whose start lies in it (``None``: all).

    Returns:
        Windows in time order of their run, then repeat.
    """
    min_len, max_len = length_range
    out: list[Window] = []
    runs = (activity_runs(rec.labels, keep) if rec.label_names
            else [(0, rec.n_samples, UNLABELLED)])
    for start, end, label in runs:
        if end - start < min_len or (span is not None and (end <= span[0] or start >= span[1])):
            continue
        seen: set[tuple[int, int]] = set()
        for rep in range(repeats):
            rng = stable_rng(seed, rec.dataset, rec.recording_id, start, rep, "stage1")
            pos = start
            for n in random_lengths(end - start, min_len, max_len, rng):
                if (pos, pos + n) not in seen and _starts_in(span, pos):
                    seen.add((pos, pos + n))
                    out.append(_window(rec, pos, pos + n, label, split, 1))
                pos += n
    return out


def stage2_windows(rec: Recording, split: str, length: int, stride: int,
                   keep: Iterable[int] | None = None,
                   span: tuple[int, int] | None = None) -> list[Window]:
    """Fixed-length windows with a stride inside each activity run.

    Args:
        rec: The recording.
        split: ``train`` or ``test``.
        length: Window length in samples.
        stride: Step between window starts.
        keep: Label ids kept.
        span: ``[lo, hi)``: keep only windows whose start lies in it (``None``: all).

    Returns:
        Windows in time order.
    """
    lo, hi = span or (0, rec.n_samples)
    out: list[Window] = []
    for start, end, label in activity_runs(rec.labels, keep):
        # The run's stride grid from its own start, limited to starts inside the span.
        first = start + max(0, -(-(lo - start) // stride)) * stride
        for pos in range(first, min(end - length + 1, hi), stride):
            out.append(_window(rec, pos, pos + length, label, split, 2))
    return out


def transition_windows(rec: Recording, split: str, length: int, seed: int,
                       keep: Iterable[int] | None = None,
                       span: tuple[int, int] | None = None) -> list[Window]:
    """Stage-2 windows that span the change from a kept activity to the next labelled one.

    Only where the two runs meet directly (no unlabelled gap), both are at least a quarter
    window long, so the change point inside the window is exactly known. The change falls
    at a seeded position in the middle half of the window.

    Args:
        rec: The recording.
        split: ``train`` or ``test``.
        length: Window length in samples.
        seed: Build seed.
        keep: Label ids whose runs may start a transition.
        span: ``[lo, hi)``: keep only windows whose start lies in it (``None``: all).

    Returns:
        Windows with ``next_activity`` and ``change_index`` set.
    """
    runs = activity_runs(rec.labels)
    kept = None if keep is None else set(keep)
    out: list[Window] = []
    quarter = length // 4
    for (s0, e0, a), (s1, e1, b) in zip(runs, runs[1:]):
        if e0 != s1 or (kept is not None and a not in kept):
            continue
        rng = stable_rng(seed, rec.dataset, rec.recording_id, s1, "transition")
        lo, hi = max(quarter, length - (e1 - s1)), min(length - quarter, e0 - s0)
        if lo > hi:
            continue
        change = int(rng.integers(lo, hi + 1))
        start = s1 - change
        if not _starts_in(span, start):
            continue
        out.append(_window(rec, start, start + length, a, split, 2,
                           next_activity=rec.label_names[b], change_index=change))
    return out
