"""Training: length-bucketed batches, AdamW with a cosine schedule, the learning curve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from validation.reference_model.examples import Examples
from validation.reference_model.model import collate, forward
from validation.reference_model.settings import VerifySettings


@dataclass(frozen=True)
class CurvePoint:
    """One point of a learning curve.

    Attributes:
        step: Optimizer steps done.
        train_loss: Mean training loss since the previous point.
        eval_loss: Loss on the held-out evaluation rows.
    """

    step: int
    train_loss: float
    eval_loss: float


def length_batches(lengths: np.ndarray, batch_tokens: int, rng: np.random.Generator
                   ) -> list[np.ndarray]:
    """Row indices grouped by similar length so one batch holds about ``batch_tokens``.

    Rows are sorted by length (ties broken at random), cut into batches whose
    rows × longest length stays within the budget, and the batches shuffled.

    Args:
        lengths: Sequence length of each row.
        batch_tokens: Token budget per batch (a longer single row is its own batch).
        rng: Seeded generator.

    Returns:
        Batches of row indices.
    """
    order = np.lexsort((rng.random(lengths.size), lengths))
    batches, start = [], 0
    while start < order.size:
        # rows sorted ascending: a batch's padded length is its last row's length
        fits = np.arange(1, order.size - start + 1) * lengths[order[start:]] <= batch_tokens
        n = max(1, int(np.argmin(fits)) if not fits.all() else fits.size)
        batches.append(order[start:start + n])
        start += n
    return [batches[i] for i in rng.permutation(len(batches))]


def mean_loss(model, examples: Examples, pad_id: int, lm: bool, settings: VerifySettings
              ) -> float:
    """Loss of ``model`` on ``examples`` (mean over batches, no gradient)."""
    import torch

    rng = np.random.default_rng(0)  # batching only; the value does not depend on it
    losses, weights = [], []
    model.eval()
    with torch.no_grad():
        for idx in length_batches(examples.lengths(lm), settings.batch_tokens, rng):
            batch = collate(examples, idx, pad_id, lm, settings.device)
            losses.append(float(forward(model, batch).loss))
            weights.append(len(idx))
    model.train()
    return float(np.average(losses, weights=weights))


def train(model, examples: Examples, held_out: Examples, pad_id: int, lm: bool,
          settings: VerifySettings, steps: int,
          on_point: Callable[[CurvePoint], None] | None = None) -> list[CurvePoint]:
    """Train ``model`` for ``steps`` AdamW steps on length-bucketed batches.

    Batches are drawn epoch by epoch from a generator seeded by (seed, epoch), and torch
    is seeded before the first step, so the same settings give the same weights.

    Args:
        model: A transformers model returning ``loss``.
        examples: Training sequences.
        held_out: Sequences whose loss is traced ``settings.eval_points`` times.
        pad_id: Padding token.
        lm: Language-model (answer-token loss) or classifier training.
        settings: Learning rate, batch budget, device, seed.
        steps: Optimizer steps.
        on_point: Called with each curve point (progress reporting).

    Returns:
        The learning curve.
    """
    import torch
    from transformers import get_cosine_schedule_with_warmup, set_seed

    set_seed(settings.seed)
    model.to(settings.device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.01)
    sched = get_cosine_schedule_with_warmup(opt, max(1, steps // 20), steps)
    lengths = examples.lengths(lm)
    marks = set(np.linspace(0, steps, settings.eval_points + 1).round().astype(int)[1:].tolist())
    curve, running, step, epoch = [], [], 0, 0
    while step < steps:
        rng = np.random.default_rng([settings.seed, epoch])
        for idx in length_batches(lengths, settings.batch_tokens, rng):
            loss = forward(model, collate(examples, idx, pad_id, lm, settings.device)).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            running.append(loss.item())
            step += 1
            if step in marks:
                point = CurvePoint(step, float(np.mean(running)),
                                   mean_loss(model, held_out, pad_id, lm, settings))
                curve.append(point)
                running = []
                if on_point is not None:
                    on_point(point)
            if step >= steps:
                break
        epoch += 1
    model.eval()
    return curve
