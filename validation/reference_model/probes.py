"""Reading a trained model without generating: its direction head, class probabilities and
teacher-forced direction choices."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from validation.reference_model.examples import Examples
from validation.reference_model.model import _encode, collate, forward
from validation.reference_model.settings import VerifySettings
from validation.reference_model.training import length_batches


def direction_labels(model, examples: Examples, pad_id: int, settings: VerifySettings
                     ) -> list[np.ndarray]:
    """The ``direction_head``'s most likely direction (index in ``DIRECTIONS``) at every
    prompt position of each row (meaningful at sensor tokens only).

    Args:
        model: A language model from ``build_model`` with a ``direction_head``.
        examples: Prompts.
        pad_id: Padding token.
        settings: Batch budget and device.

    Returns:
        One int64 array per row, as long as its prompt, in input order.
    """
    import torch

    out: list[np.ndarray] = [np.zeros(0, np.int64)] * len(examples.prompts)
    model.eval()
    with torch.no_grad():
        for idx in length_batches(examples.lengths(False), settings.batch_tokens,
                                  np.random.default_rng(0)):
            batch = collate(examples, idx, pad_id, False, settings.device)
            _, hidden = _encode(model, batch["input_ids"], batch["anchors"], batch)
            labels = model.direction_head(hidden).argmax(-1).cpu().numpy()
            for r, i in enumerate(idx):
                out[i] = labels[r, :len(examples.prompts[i])]
    return out


def class_probabilities(model, examples: Examples, pad_id: int, settings: VerifySettings
                        ) -> np.ndarray:
    """Class probabilities of every row of ``examples`` under a classification model.

    Args:
        model: A classifier from ``build_model``.
        examples: The rows (targets unused).
        pad_id: Padding token.
        settings: Device and batch budget.

    Returns:
        float64 probabilities, rows × classes.
    """
    import torch

    probs = np.zeros((len(examples.prompts), model.config.num_labels))
    rng = np.random.default_rng(0)  # batching only
    model.eval()
    with torch.no_grad():
        for idx in length_batches(examples.lengths(False), settings.batch_tokens, rng):
            batch = collate(examples, idx, pad_id, False, settings.device)
            batch.pop("labels")
            logits = forward(model, batch).logits.float()
            probs[idx] = torch.softmax(logits, -1).cpu().numpy()
    return probs


def forced_direction_accuracy(model, tok, examples: Examples, answers: Sequence[str],
                              spans: Sequence[Sequence[tuple[int, str]]],
                              words: Mapping[str, str], settings: VerifySettings
                              ) -> float | None:
    """Direction of each reference segment line, read from the model under teacher forcing.

    The model sees the sensor tokens, the question and the reference answer up to the
    direction word of a ``t0 … t1: word`` line; its direction is the one whose synonyms'
    first tokens get the most probability there. The times are given, so this isolates
    the link text ↔ signal from the skill of spelling times digit by digit.

    Args:
        model: The language model.
        tok: Its tokenizer (``SensorTextTokenizer``).
        examples: The rows' prompts and reference targets.
        answers: Reference answers (the targets' text).
        spans: Per answer, the character offset of each segment line's direction word and
            its direction (``scoring.AnswerScorer.direction_spans``).
        words: Direction synonym → direction.
        settings: Device and batch budget.

    Returns:
        Share of segment lines whose direction the model prefers correctly (``None``
        when no reference has a segment line).
    """
    import torch

    first: dict[int, set[str]] = {}
    for word, d in words.items():
        first.setdefault(tok.encode_texts([" " + word])[0][0], set()).add(d)
    # a first token shared by synonyms of two directions would decide nothing
    options = {t: ds.pop() for t, ds in first.items() if len(ds) == 1}
    by_dir = {d: np.array([t for t, dd in options.items() if dd == d])
              for d in set(options.values())}
    dirs = sorted(by_dir)
    encodings = tok.tokenizer.encode_batch(list(answers), add_special_tokens=False)
    targets = []  # (row, position in the full sequence, direction)
    for r, (row_spans, enc) in enumerate(zip(spans, encodings)):
        ends = np.array([e for _, e in enc.offsets])
        for start, d in row_spans:
            k = int(np.searchsorted(ends, start, side="right"))  # token holding the word
            if k < len(ends):
                targets.append((r, len(examples.prompts[r]) + k, d))
    if not targets:
        return None
    rows = sorted({r for r, _, _ in targets})
    correct = []
    model.eval()
    with torch.no_grad():
        for idx in length_batches(examples.lengths(True)[rows], settings.batch_tokens,
                                  np.random.default_rng(0)):
            batch_rows = [rows[i] for i in idx]
            batch = collate(examples, np.array(batch_rows), tok.pad_id, True, settings.device)
            batch.pop("labels")
            probs = torch.softmax(forward(model, batch).logits.float(), -1).cpu().numpy()
            where = {r: i for i, r in enumerate(batch_rows)}
            for r, pos, d in targets:
                if r in where:
                    p = probs[where[r], pos - 1]  # logits at pos − 1 predict the token at pos
                    scores = [p[by_dir[x]].sum() for x in dirs]
                    correct.append(dirs[int(np.argmax(scores))] == d)
    return float(np.mean(correct))
