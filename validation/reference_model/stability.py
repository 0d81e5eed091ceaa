"""How firmly the signal decides the trend answers: the dataset's detector on perturbed input."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from generators.trend_methods import estimate_noise
from generators.trends import detect_batch
from generators.types import TrendSegment
from validation.reference_model import metrics
from validation.reference_model.data import Rows
from validation.reference_model.metrics import Timeline
from validation.reference_model.tokenization import Binning, quantize

NOISE_LEVELS = (0.5, 1.0)
"""Fresh noise added by ``label_stability``, in multiples of each window's noise level."""

FIRM_DRAWS = 4
"""Draws of fresh noise an answer must come through unchanged to be firm (``firm_rows``)."""


def detected_timeline(segments) -> Timeline:
    """The ``Timeline`` (directions, starts, ends) of one window's detected trend segments."""
    return Timeline(directions=tuple(s.direction for s in segments),
                     starts=tuple(s.start_s for s in segments),
                     ends=tuple(s.end_s for s in segments))


def as_binned(window: np.ndarray, binning: Binning) -> np.ndarray:
    """A 1-D window as the reference model sees it: standardized, clipped and binned
    (``tokenization.quantize``, no pooling), then put back at the bin centres."""
    binning = replace(binning, pool=1)
    return binning.centres()[quantize(window[None], binning)[0]] * binning.clip


def _segment_index(rows: Rows, stated: Sequence[Timeline | None]
                   ) -> tuple[list[int], list[Timeline]]:
    keep = [i for i, (s, r) in enumerate(zip(rows.series, stated))
            if s.shape[0] == 1 and r is not None and r.ends]
    return keep, [stated[i] for i in keep]


def segment_rows(rows: Rows, stated: Sequence[Timeline | None]) -> tuple[Rows, list[Timeline]]:
    """The one-channel rows whose answer lists trend segments (``stated``: the segment
    lines each row's answer states, ``None`` for none), and those segment lines."""
    keep, refs = _segment_index(rows, stated)
    return rows.take(keep), refs


def _windows(rows: Rows) -> list[np.ndarray]:
    return [s[0].astype(np.float64) for s in rows.series]


def redetect(windows: Sequence[np.ndarray], rows: Rows,
             overrides: Mapping[str, object] | None = None) -> list[list[TrendSegment]]:
    """Each window's segments by the trend method and parameters its row was built with
    (``trend_method``, ``trend_params``), batched per method, parameters and rate.

    Args:
        windows: One 1-D series per row (the row's own, or a changed one).
        rows: The rows (method, parameters, sample rate).
        overrides: Parameters replacing the rows' own (e.g. ``{"steady_z": 5}``).

    Returns:
        The segments of each window, in row order.
    """
    groups: dict[tuple[str, str, float], list[int]] = {}
    for i, key in enumerate(zip(rows.trend_method, rows.trend_params, rows.sample_rate_hz)):
        groups.setdefault((key[0], key[1], float(key[2])), []).append(i)
    out: list[list[TrendSegment]] = [[] for _ in windows]
    for (method, params, rate), idx in groups.items():
        found = detect_batch([windows[i] for i in idx], rate, method,
                             **{**json.loads(params), **(overrides or {})})
        for i, segments in zip(idx, found):
            out[i] = segments
    return out


def agreements(windows: Sequence[np.ndarray], rows: Rows, references: Sequence[Timeline]
               ) -> np.ndarray:
    """Timeline agreement of the detector's segments of each window (``redetect``) with
    its reference.

    Args:
        windows: One 1-D series per row (the row's own, or a changed one).
        rows: The rows (method, parameters, sample rate).
        references: The segment lines each row's answer states.

    Returns:
        ``metrics.timeline_agreement`` of each row.
    """
    return np.array([metrics.timeline_agreement(ref, detected_timeline(segments))
                     for ref, segments in zip(references, redetect(windows, rows))])


def _renoised_agreements(windows: Sequence[np.ndarray], rows: Rows,
                         references: Sequence[Timeline], k: float, draws: int,
                         rng: np.random.Generator) -> np.ndarray:
    """``agreements`` in each of ``draws`` draws (draws × rows) of the windows plus fresh
    white noise of ``k`` × each window's own noise level (``trend_methods.estimate_noise``)."""
    noise = [float(estimate_noise(x)) for x in windows]
    return np.array([agreements([x + rng.normal(0.0, k * n, x.size)
                                 for x, n in zip(windows, noise)], rows, references)
                     for _ in range(draws)]).reshape(draws, len(windows))


def label_stability(rows: Rows, stated: Sequence[Timeline | None], binning: Binning,
                    noise_levels: Sequence[float] = NOISE_LEVELS, repeats: int = 2,
                    seed: int = 0) -> dict[str, float | int] | None:
    """The detector's agreement with the answers when its input changes a little.

    On the one-channel rows whose answer lists trend segments, the detector that wrote
    them is rerun (``agreements``) on: ``raw``, the stored window (1.0 unless answers
    and series disagree); ``bins``, the window as the reference model sees it
    (``tokenization.quantize`` with ``binning``, put back at the bin centres); and
    ``noise_<k>``, the window plus fresh white noise of k × its noise level
    (``trend_methods.estimate_noise``), averaged over ``repeats`` seeded draws. An answer that
    changes under noise as large as the recording's own is decided by that noise, not
    by the movement: a model that reads the movement is bounded near these figures.

    Args:
        rows: Held-out rows (those without segment lines or with several channels are
            left out).
        stated: The segment lines each row's answer states (``None``: none).
        binning: The reference model's stage-1 binning (its pooling aside: the detector
            reads the window at its own rate).
        noise_levels: Multiples of each window's noise level to add.
        repeats: Noise draws per level.
        seed: Seed of the draws.

    Returns:
        ``rows`` (how many were scored), ``raw``, ``bins`` and one ``noise_<k>`` per
        level; ``None`` when no row lists segments.
    """
    rows, refs = segment_rows(rows, stated)
    if not refs:
        return None
    raw = _windows(rows)
    binned = [as_binned(x, binning) for x in raw]
    out: dict[str, float | int] = {"rows": len(refs),
                                   "raw": float(agreements(raw, rows, refs).mean()),
                                   "bins": float(agreements(binned, rows, refs).mean())}
    rng = np.random.default_rng([seed, 0x7E57])
    for k in noise_levels:
        out[f"noise_{k:g}"] = float(_renoised_agreements(raw, rows, refs, k, repeats, rng).mean())
    return out


def firm_rows(rows: Rows, stated: Sequence[Timeline | None], draws: int = FIRM_DRAWS, seed: int = 0
              ) -> list[int]:
    """The rows whose trend answer the signal decides firmly.

    A one-channel row with segment lines is firm when the detector that wrote its answer
    (``agreements``) states the answer's direction at every time of its window as stored
    and in each of ``draws`` seeded draws of the window plus fresh white noise as large
    as its own (``trend_methods.estimate_noise``). The test looks at the signal and the answer
    only, never at a model, so a model's score on these rows separates what it fails to
    read from answers that the recording's noise decides.

    Args:
        rows: Held-out rows.
        stated: The segment lines each row's answer states (``None``: none).
        draws: Noise draws to come through.
        seed: Seed of the draws.

    Returns:
        Indices into ``rows``, ascending.
    """
    keep, refs = _segment_index(rows, stated)
    one = rows.take(keep)
    raw = _windows(one)
    rng = np.random.default_rng([seed, 0xF1A])
    firm = (agreements(raw, one, refs) == 1.0) & (
        _renoised_agreements(raw, one, refs, 1.0, draws, rng) == 1.0).all(axis=0)
    return [i for i, f in zip(keep, firm) if f]


def stability_sentence(stability: Mapping[str, float | int] | None) -> str | None:
    """One sentence on a ``label_stability`` result (``None`` when it was not measured);
    the log, ``report.md`` and ``harqa verify``'s text all print it."""
    if not stability:
        return None
    noise = ", ".join(f"{v:.3f} with fresh noise of {k[len('noise_'):]} × its own"
                      for k, v in stability.items() if k.startswith("noise_"))
    return (f"Label stability ({stability['rows']} held-out rows with segment lines): the "
            f"trend detector that wrote the answers, rerun on each window, agrees with them "
            f"{stability['raw']:.3f} as stored, {stability['bins']:.3f} from the model's bins "
            f"and {noise}. Where noise as large as the recording's own changes an answer, "
            f"that noise decides it, not the movement: a model that reads the movement "
            f"scores near these last figures.")
