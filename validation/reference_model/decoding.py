"""Answer generation: greedy with times chosen by their neighbourhood, or sampled and
chosen by agreement (minimum Bayes risk)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from validation.reference_model import metrics
from validation.reference_model.data import Rows
from validation.reference_model.examples import Examples
from validation.reference_model.metrics import Timeline
from validation.reference_model.model import anchor_positions, pointer_targets, prefix_mask
from validation.reference_model.probes import direction_labels
from validation.reference_model.settings import VerifySettings
from validation.reference_model.tokenization import SensorTextTokenizer


def choose_tokens(logits, targets, tolerance: int):
    """The next token of each row: greedy, except that a time is chosen by its neighbourhood.

    Probability a pointer spreads over neighbouring samples of one boundary would lose,
    token by token, to a single time that collects all of its own (the window's end):
    greedy decoding then ends most segments at the window's end. So when the most likely
    token is a time the row carries, the time chosen is the one whose carrier and the
    ``tolerance`` positions on each side hold the most probability: the minimum-Bayes-risk
    choice when a boundary within ``tolerance`` samples counts as right.

    Args:
        logits: Next-token logits (rows × vocab).
        targets: The time token each prompt position points at (rows × positions, −1
            elsewhere; ``pointer_targets``).
        tolerance: Positions on each side; 0 is plain greedy decoding.

    Returns:
        Token ids (rows).
    """
    import torch

    greedy = logits.argmax(-1)
    if tolerance == 0:
        return greedy
    valid = targets >= 0
    probs = torch.softmax(logits.float(), -1)
    mass = torch.where(valid, probs.gather(1, targets.clamp(min=0)), 0.0)
    near = torch.nn.functional.conv1d(mass.unsqueeze(1), mass.new_ones(1, 1, 2 * tolerance + 1),
                                      padding=tolerance).squeeze(1)
    best = torch.where(valid, near, -1.0).argmax(-1, keepdim=True)
    carried = (targets == greedy.unsqueeze(-1)).any(-1)
    return torch.where(carried, targets.gather(1, best).squeeze(1), greedy)


def generate(model, examples: Examples, pad_id: int, eos_id: int,
             max_new_tokens: int, settings: VerifySettings, batch_size: int = 64,
             sample_seed: int | None = None) -> list[np.ndarray]:
    """Greedy answers of ``model`` for each prompt (left-padded batches of similar length),
    times chosen by their neighbourhood (``choose_tokens``), or sampled ones.

    A loop of its own over the key/value cache, because each new time token reads the
    sensor embedding at its time and the time logits point at the row's sensor
    positions (``forward``), both of which depend on the row.

    Args:
        model: The language model.
        examples: Prompt token ids and their time tokens (targets unused).
        pad_id: Padding token.
        eos_id: End-of-answer token (generation of a row stops there).
        max_new_tokens: Cap on answer tokens.
        settings: Device.
        batch_size: Prompts per batch.
        sample_seed: Sample every token from the model's distribution sharpened by
            ``settings.mbr_temperature``, with a generator seeded so (``None``: greedy).

    Returns:
        The generated answer ids of each prompt, without the end token, in input order.
    """
    import torch

    draws = None
    if sample_seed is not None:
        draws = torch.Generator(device=settings.device).manual_seed(sample_seed)

    prompts = examples.prompts
    order = np.argsort([len(p) for p in prompts], kind="stable")
    out: list[np.ndarray] = [np.zeros(0, np.int64)] * len(prompts)
    emb = model.get_input_embeddings()
    dev = settings.device
    model.eval()
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = max(len(prompts[i]) for i in idx)
        ids = np.full((len(idx), width), pad_id, dtype=np.int64)
        times = np.full_like(ids, pad_id)
        for r, i in enumerate(idx):
            ids[r, width - len(prompts[i]):] = prompts[i]
            times[r, width - len(prompts[i]):] = examples.times[i]
        mask = torch.from_numpy((np.arange(width) >= width - np.array(
            [len(prompts[i]) for i in idx])[:, None]).astype(np.int64)).to(dev)
        position = (mask.cumsum(1) - 1).clamp(min=0)
        anchors = anchor_positions(ids, times, pad_id)
        state = torch.from_numpy(anchors[:, -1]).to(dev)  # (last, previous) named time
        targets = torch.from_numpy(pointer_targets(times, pad_id)).to(dev)
        type_ids = torch.from_numpy(times).to(dev)
        new_times = torch.full((len(idx), 1), pad_id, device=dev)
        done = np.zeros(len(idx), dtype=bool)
        answers = []
        with torch.no_grad():
            prompt = torch.from_numpy(ids).to(dev)
            sensor = emb(prompt)
            step_in = emb.anchored(sensor, prompt, sensor, torch.from_numpy(anchors).to(dev))
            result = model.transformer(inputs_embeds=step_in, token_type_ids=type_ids,
                                       attention_mask=prefix_mask(emb, prompt, mask),
                                       position_ids=position, use_cache=True)
            hidden = result.last_hidden_state
            keys = emb.keys(sensor, type_ids, hidden)
            hidden = hidden[:, -1:]
            for _ in range(max_new_tokens):
                score = emb.point(hidden, keys, state[:, :1])
                logits = emb.aim(model.lm_head(hidden), score, targets.unsqueeze(1))
                if draws is None:
                    nxt = choose_tokens(logits[:, -1], targets, settings.time_tolerance)
                else:
                    probs = torch.softmax(logits[:, -1].float() / settings.mbr_temperature, -1)
                    nxt = torch.multinomial(probs, 1, generator=draws).squeeze(1)
                answers.append(nxt.cpu().numpy())
                done |= answers[-1] == eos_id
                if done.all():
                    break
                carrier = targets == nxt.unsqueeze(-1)  # the position of a named time
                state = torch.where(carrier.any(-1, keepdim=True),
                                    torch.stack([carrier.int().argmax(-1), state[:, 0]], 1),
                                    state)
                step_in = emb.anchored(emb(nxt[:, None]), prompt, sensor, state[:, None])
                mask = torch.cat([mask, mask.new_ones((len(idx), 1))], 1)
                position = position[:, -1:] + 1
                result = model.transformer(inputs_embeds=step_in, token_type_ids=new_times,
                                           attention_mask=mask, position_ids=position,
                                           cache=result.cache, use_cache=True)
                hidden = result.last_hidden_state
        new = np.stack(answers, 1)
        for r, i in enumerate(idx):
            stop = np.flatnonzero(new[r] == eos_id)
            out[i] = new[r, :stop[0]] if stop.size else new[r]
    return out


def mbr_choice(candidates: Sequence[Timeline | None], guide: Timeline | None = None) -> int:
    """The candidate answer that agrees best with the others: minimum-Bayes-risk decoding
    with ``metrics.timeline_agreement`` (both ways) as the utility.

    Each candidate that states segments is scored by its summed agreement with the other
    such candidates, and with ``guide`` (the model's own per-sample direction reading,
    ``guides``) weighted as all those others together, so the choice follows the
    model's own predictions, never a reference. Ties go to the earlier candidate.

    Args:
        candidates: The segment lines each answer to one prompt states (e.g. the greedy
            one, then samples; ``None``: unreadable or none).
        guide: A timeline the candidates should also agree with, if any.

    Returns:
        The chosen index (0 when no candidate states segments).
    """
    usable = [i for i, st in enumerate(candidates) if st is not None and st.directions]
    score = dict.fromkeys(usable, 0.0)
    agree = metrics.timeline_agreement
    for k, i in enumerate(usable):
        for j in usable[k + 1:]:
            both = agree(candidates[i], candidates[j]) + agree(candidates[j], candidates[i])
            score[i] += both
            score[j] += both
        if guide is not None and guide.directions:
            score[i] += (len(usable) - 1) * (agree(candidates[i], guide)
                                             + agree(guide, candidates[i]))
    return max(usable, key=lambda i: (score[i], -i)) if usable else 0


def guides(model, tok: SensorTextTokenizer, examples: Examples, rows: Rows,
           s: VerifySettings) -> list[Timeline | None]:
    """The ``direction_head``'s timeline of each one-channel row (``None`` for others, or
    for all without a head): what the model reads from the signal sample by sample."""
    if not hasattr(model, "direction_head"):
        return [None] * len(rows)
    labels = direction_labels(model, examples, tok.pad_id, s)
    out: list[Timeline | None] = []
    for lab, series, rate in zip(labels, rows.series, rows.sample_rate_hz):
        k, width = tok.binning.pooled(series.shape[1])
        # the last sensor token starts no change within the window
        out.append(metrics.timeline(lab[1:k], width / rate) if series.shape[0] == 1 else None)
    return out


def answers(model, tok: SensorTextTokenizer, examples: Examples, rows: Rows, max_new: int,
            s: VerifySettings, read: Callable[[int, str], Timeline | None] | None = None
            ) -> list[str]:
    """The model's answer to each prompt: greedy, or with ``s.mbr_samples`` and ``read``
    (the segment lines an answer to row ``i`` states) the one of the greedy answer and
    that many sampled ones that agrees best with the others and with the model's
    per-sample direction reading (``mbr_choice``, ``guides``)."""
    greedy = [tok.decode(g) for g in generate(model, examples, tok.pad_id, tok.eos_id,
                                              max_new, s)]
    k = s.mbr_samples
    if not k or read is None:
        return greedy
    drawn = [tok.decode(g) for g in generate(model, examples.repeat(k), tok.pad_id, tok.eos_id,
                                             max_new, s, s.mbr_batch, sample_seed=s.seed)]
    guided = guides(model, tok, examples, rows, s)
    out = []
    for i, first in enumerate(greedy):
        candidates = [first, *drawn[i * k:(i + 1) * k]]
        out.append(candidates[mbr_choice([read(i, c) for c in candidates], guided[i])])
    return out
