"""How firmly the signal decides the trend answers: the dataset's own detector on perturbed input."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from generators.trends import detect_batch, estimate_noise
from validation.reference_model import metrics
from validation.reference_model.data import Rows
from validation.reference_model.parsing import AnswerParser, Structure
from validation.reference_model.tokenization import Binning, quantize

NOISE_LEVELS = (0.5, 1.0)
"""Fresh noise added by ``label_stability``, in multiples of each window's noise level."""


def _structure(segments) -> Structure:
    return Structure(directions=tuple(s.direction for s in segments),
                     starts=tuple(s.start_s for s in segments),
                     ends=tuple(s.end_s for s in segments))


def as_binned(window: np.ndarray, binning: Binning) -> np.ndarray:
    """A 1-D window as the reference model sees it: standardized, clipped and binned
    (``tokenization.quantize``, no pooling), then put back at the bin centres."""
    binning = replace(binning, pool=1)
    return binning.centres()[quantize(window[None], binning)[0]] * binning.clip


def segment_rows(rows: Rows, parser: AnswerParser) -> tuple[Rows, list[Structure]]:
    """The one-channel rows whose answer lists trend segments, and those answers' structures."""
    refs = [parser.parse(a) for a in rows.answer]
    keep = [i for i, (s, r) in enumerate(zip(rows.series, refs)) if s.shape[0] == 1 and r.ends]
    return rows.take(keep), [refs[i] for i in keep]


def agreement(windows: Sequence[np.ndarray], rows: Rows, references: Sequence[Structure]
              ) -> float:
    """Mean timeline agreement of the detector's segments of ``windows`` with ``references``.

    Each window is segmented by the trend method and parameters its row was built with
    (``trend_method``, ``trend_params``), batched per method, parameters and rate.

    Args:
        windows: One 1-D series per row (the row's own, or a changed one).
        rows: The rows (method, parameters, sample rate).
        references: The structure each row's answer states.

    Returns:
        The mean over rows of ``metrics.timeline_agreement``.
    """
    groups: dict[tuple[str, str, float], list[int]] = {}
    for i, key in enumerate(zip(rows.trend_method, rows.trend_params, rows.sample_rate_hz)):
        groups.setdefault((key[0], key[1], float(key[2])), []).append(i)
    scores = np.zeros(len(windows))
    for (method, params, rate), idx in groups.items():
        found = detect_batch([windows[i] for i in idx], rate, method, **json.loads(params))
        for i, segments in zip(idx, found):
            scores[i] = metrics.timeline_agreement(references[i], _structure(segments))
    return float(scores.mean())


def label_stability(rows: Rows, parser: AnswerParser, binning: Binning,
                    noise_levels: Sequence[float] = NOISE_LEVELS, repeats: int = 2,
                    seed: int = 0) -> dict[str, float | int] | None:
    """The detector's agreement with the answers when its input changes a little.

    On the one-channel rows whose answer lists trend segments, the detector that wrote
    them is rerun (``agreement``) on: ``raw``, the stored window (1.0 unless answers
    and series disagree); ``bins``, the window as the reference model sees it
    (``tokenization.quantize`` with ``binning``, put back at the bin centres); and
    ``noise_<k>``, the window plus fresh white noise of k × its noise level
    (``trends.estimate_noise``), averaged over ``repeats`` seeded draws. An answer that
    changes under noise as large as the recording's own is decided by that noise, not
    by the movement: a model that reads the movement is bounded near these figures.

    Args:
        rows: Held-out rows (those without segment lines or with several channels are
            left out).
        parser: Reads the answers' segment lines.
        binning: The reference model's stage-1 binning (its pooling aside: the detector
            reads the window at its own rate).
        noise_levels: Multiples of each window's noise level to add.
        repeats: Noise draws per level.
        seed: Seed of the draws.

    Returns:
        ``rows`` (how many were scored), ``raw``, ``bins`` and one ``noise_<k>`` per
        level; ``None`` when no row lists segments.
    """
    rows, refs = segment_rows(rows, parser)
    if not refs:
        return None
    raw = [s[0].astype(np.float64) for s in rows.series]
    binned = [as_binned(x, binning) for x in raw]
    out: dict[str, float | int] = {"rows": len(refs), "raw": agreement(raw, rows, refs),
                                   "bins": agreement(binned, rows, refs)}
    rng = np.random.default_rng([seed, 0x7E57])
    noise = [float(estimate_noise(x)) for x in raw]
    for k in noise_levels:
        out[f"noise_{k:g}"] = float(np.mean([
            agreement([x + rng.normal(0.0, k * s, x.size) for x, s in zip(raw, noise)], rows,
                      refs) for _ in range(repeats)]))
    return out


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
