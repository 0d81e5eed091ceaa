"""The small GPT-2 backbone: built from a config, trained from scratch, greedy answer generation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from validation.reference_model.settings import VerifySettings

IGNORE = -100
"""Label of positions that carry no loss (the prompt and the padding)."""


@dataclass(frozen=True, eq=False)
class Examples:
    """Token sequences of a set of rows.

    Attributes:
        prompts: Sensor tokens, question tokens and the separator, per row.
        targets: Answer tokens and end-of-answer (language model), or one class index
            per row (classifier).
    """

    prompts: tuple[np.ndarray, ...]
    targets: tuple[np.ndarray, ...]

    def lengths(self, with_target: bool) -> np.ndarray:
        """Sequence lengths, with or without the target tokens."""
        extra = [len(t) for t in self.targets] if with_target else [0] * len(self.prompts)
        return np.array([len(p) + e for p, e in zip(self.prompts, extra)], dtype=np.int64)


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


def gpt2_config(settings: VerifySettings, vocab_size: int, n_positions: int, pad_id: int,
                eos_id: int, num_labels: int = 2):
    """The backbone's ``GPT2Config``.

    Args:
        settings: Model size.
        vocab_size: Token ids.
        n_positions: Longest sequence.
        pad_id: Padding token.
        eos_id: End-of-answer token.
        num_labels: Classes of a classification head.

    Returns:
        The config.
    """
    from transformers import GPT2Config

    return GPT2Config(vocab_size=vocab_size, n_positions=n_positions, n_embd=settings.n_embd,
                      n_layer=settings.n_layer, n_head=settings.n_head,
                      resid_pdrop=settings.dropout, embd_pdrop=settings.dropout,
                      attn_pdrop=settings.dropout, bos_token_id=eos_id, eos_token_id=eos_id,
                      pad_token_id=pad_id, num_labels=num_labels)


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


def collate(examples: Examples, index: np.ndarray, pad_id: int, lm: bool, device: str) -> dict:
    """Right-padded tensors of some rows.

    Args:
        examples: Token sequences.
        index: Rows of the batch.
        pad_id: Padding token.
        lm: Language-model batch (labels on answer tokens only) or classifier batch.
        device: Torch device.

    Returns:
        ``input_ids``, ``attention_mask`` and ``labels``.
    """
    import torch

    seqs = [np.concatenate([examples.prompts[i], examples.targets[i]]) if lm
            else examples.prompts[i] for i in index]
    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    labels = np.full((len(seqs), width), IGNORE, dtype=np.int64)
    for r, (i, s) in enumerate(zip(index, seqs)):
        ids[r, :len(s)] = s
        mask[r, :len(s)] = 1
        if lm:
            labels[r, len(examples.prompts[i]):len(s)] = examples.targets[i]
    out = {"input_ids": ids, "attention_mask": mask}
    out["labels"] = labels if lm else np.array([examples.targets[i][0] for i in index])
    return {k: torch.from_numpy(v).to(device) for k, v in out.items()}


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
            losses.append(float(model(**batch).loss))
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
            loss = model(**collate(examples, idx, pad_id, lm, settings.device)).loss
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


def generate(model, prompts: Sequence[np.ndarray], pad_id: int, eos_id: int,
             max_new_tokens: int, settings: VerifySettings, batch_size: int = 64
             ) -> list[np.ndarray]:
    """Greedy answers of ``model`` for each prompt (left-padded batches of similar length).

    Args:
        model: The language model.
        prompts: Prompt token ids.
        pad_id: Padding token.
        eos_id: End-of-answer token (generation of a row stops there).
        max_new_tokens: Cap on answer tokens.
        settings: Device.
        batch_size: Prompts per generate call.

    Returns:
        The generated answer ids of each prompt, without the end token, in input order.
    """
    import torch

    order = np.argsort([len(p) for p in prompts], kind="stable")
    out: list[np.ndarray] = [np.zeros(0, np.int64)] * len(prompts)
    model.eval()
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = max(len(prompts[i]) for i in idx)
        ids = np.full((len(idx), width), pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, i in enumerate(idx):
            ids[r, width - len(prompts[i]):] = prompts[i]
            mask[r, width - len(prompts[i]):] = 1
        with torch.no_grad():
            gen = model.generate(input_ids=torch.from_numpy(ids).to(settings.device),
                                 attention_mask=torch.from_numpy(mask).to(settings.device),
                                 max_new_tokens=max_new_tokens, do_sample=False,
                                 eos_token_id=eos_id, pad_token_id=pad_id)
        new = gen[:, width:].cpu().numpy()
        for r, i in enumerate(idx):
            row = new[r]
            stop = np.flatnonzero(row == eos_id)
            out[i] = row[:stop[0]] if stop.size else row
    return out


def predict_classes(model, examples: Examples, pad_id: int, settings: VerifySettings
                    ) -> np.ndarray:
    """Arg-max class of every row of ``examples`` under a classification model."""
    import torch

    preds = np.zeros(len(examples.prompts), dtype=np.int64)
    rng = np.random.default_rng(0)  # batching only
    model.eval()
    with torch.no_grad():
        for idx in length_batches(examples.lengths(False), settings.batch_tokens, rng):
            batch = collate(examples, idx, pad_id, False, settings.device)
            batch.pop("labels")
            preds[idx] = model(**batch).logits.argmax(-1).cpu().numpy()
    return preds


def forced_direction_accuracy(model, tok, examples: Examples, answers: Sequence[str],
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
        words: Direction synonym → direction.
        settings: Device and batch budget.

    Returns:
        Share of segment lines whose direction the model prefers correctly (``None``
        when no reference has a segment line).
    """
    import torch

    from validation.reference_model.parsing import SEGMENT_RE

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
    for r, (text, enc) in enumerate(zip(answers, encodings)):
        ends = np.array([e for _, e in enc.offsets])
        for m in SEGMENT_RE.finditer(text):
            k = int(np.searchsorted(ends, m.start(3), side="right"))  # token holding the word
            if k < len(ends) and m.group(3).lower() in words:
                targets.append((r, len(examples.prompts[r]) + k, words[m.group(3).lower()]))
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
            probs = torch.softmax(model(**batch).logits.float(), -1).cpu().numpy()
            where = {r: i for i, r in enumerate(batch_rows)}
            for r, pos, d in targets:
                if r in where:
                    p = probs[where[r], pos - 1]  # logits at pos − 1 predict the token at pos
                    scores = [p[by_dir[x]].sum() for x in dirs]
                    correct.append(dirs[int(np.argmax(scores))] == d)
    return float(np.mean(correct))
