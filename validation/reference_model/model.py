"""The small GPT-2 backbone built from a config, its batches and its forward pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generators.types import DIRECTIONS
from validation.reference_model.embedding import sensor_embedding
from validation.reference_model.examples import Examples
from validation.reference_model.settings import VerifySettings

IGNORE = -100
"""Label of positions that carry no loss (the prompt and the padding)."""


def gpt2_config(settings: VerifySettings, vocab_size: int, n_positions: int, pad_id: int,
                eos_id: int, num_labels: int = 2):
    """The backbone's ``GPT2Config``.

    Args:
        settings: Model size and the auxiliary direction loss weight (kept in the config
            as ``direction_weight``, so a saved checkpoint says how it was trained).
        vocab_size: Token ids.
        n_positions: Longest sequence.
        pad_id: Padding token.
        eos_id: End-of-answer token.
        num_labels: Classes of a classification head.

    Returns:
        The config.
    """
    from transformers import GPT2Config

    # gelu_pytorch_tanh: GPT-2's GELU in one native kernel (gelu_new, the default, is a
    # chain of elementwise ops that costs about a tenth of a CPU training step)
    return GPT2Config(activation_function="gelu_pytorch_tanh", vocab_size=vocab_size,
                      n_positions=n_positions, n_embd=settings.n_embd, n_layer=settings.n_layer,
                      n_head=settings.n_head,
                      resid_pdrop=settings.dropout, embd_pdrop=settings.dropout,
                      attn_pdrop=settings.dropout, bos_token_id=eos_id, eos_token_id=eos_id,
                      pad_token_id=pad_id, num_labels=num_labels,
                      direction_weight=settings.direction_weight)


def build_model(config, tok, kernel: int, classifier: bool = False):
    """A GPT-2 language model (or classifier) whose input embedding reads bin and time values.

    Args:
        config: The ``GPT2Config``.
        tok: The ``SensorTextTokenizer`` (bin and time tokens).
        kernel: Width of the value convolution (``sensor_embedding``, odd).
        classifier: A sequence classifier instead of a language model.

    Returns:
        The model (a language model with ``config.direction_weight`` has a
        ``direction_head``: hidden state → ``DIRECTIONS`` logits).
    """
    from transformers import GPT2ForSequenceClassification, GPT2LMHeadModel

    model = (GPT2ForSequenceClassification if classifier else GPT2LMHeadModel)(config)
    if not classifier and getattr(config, "direction_weight", 0.0):
        import torch

        # the trend direction at each sensor position, for the auxiliary loss (``forward``)
        model.direction_head = torch.nn.Linear(config.n_embd, len(DIRECTIONS))
    emb = sensor_embedding(config.vocab_size, config.n_embd, tok.bin_values(),
                           tok.time_values(), tok.mark_ids(), kernel)
    emb.weight.data.normal_(0.0, config.initializer_range)
    # small like the token vectors, so the span read does not swamp the text at the start
    emb.context.weight.data.normal_(0.0, config.initializer_range)
    emb.spanned.weight.data.normal_(0.0, config.initializer_range)
    model.set_input_embeddings(emb)
    model.tie_weights()
    return model


def first_carriers(times: np.ndarray, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The time tokens one row carries and the first position of each (the first
    channel's sample at that time, or its end mark)."""
    cols = np.flatnonzero(times != pad_id)
    tokens, first = np.unique(times[cols], return_index=True)
    return tokens, cols[first]


def pointer_targets(times: np.ndarray, pad_id: int) -> np.ndarray:
    """The time token each position points at: its first carrier's, −1 elsewhere.

    Args:
        times: Time token of each position (rows × positions, ``pad_id`` where none).
        pad_id: Padding token.

    Returns:
        int64 time token ids, rows × positions.
    """
    out = np.full(times.shape, -1, dtype=np.int64)
    for r in range(times.shape[0]):
        tokens, at = first_carriers(times[r], pad_id)
        out[r, at] = tokens
    return out


def anchor_positions(ids: np.ndarray, times: np.ndarray, pad_id: int) -> np.ndarray:
    """For each token, the positions of the sensor tokens at the last two times named
    in the row up to and including it (−1 for none).

    A time is named by a time token; its sensor token is its first carrier
    (``first_carriers``).

    Args:
        ids: Token ids (rows × positions).
        times: Time token of each position (``pad_id`` where none).
        pad_id: Padding token.

    Returns:
        int64 positions, rows × positions × 2 (last, the one before).
    """
    out = np.full((*ids.shape, 2), -1, dtype=np.int64)
    for r in range(ids.shape[0]):
        tokens, at = first_carriers(times[r], pad_id)
        k = np.minimum(np.searchsorted(tokens, ids[r]), max(tokens.size - 1, 0))
        naming = tokens[k] == ids[r] if tokens.size else np.zeros(ids.shape[1], bool)
        named = np.concatenate([[-1, -1], at[k[naming]]])  # carriers in naming order
        seen = np.cumsum(naming) + 1  # index in ``named`` of the last one so far
        out[r] = np.stack([named[seen], named[seen - 1]], 1)
    return out


def prefix_mask(emb, ids, mask):
    """A 4-D attention mask under which the sensor tokens of a row (which all precede its
    text) see one another both ways, and every other token sees what precedes it.

    Args:
        emb: The ``sensor_embedding`` (which token ids are bins and marks).
        ids: Token ids, rows × positions.
        mask: 1 on real tokens, 0 on padding (rows × positions).

    Returns:
        bool rows × 1 × positions × positions, True where a query may attend to a key.
    """
    import torch

    sensor = (emb.is_bin[ids] + emb.is_mark[ids]) > 0
    n = ids.shape[1]
    causal = torch.ones(n, n, dtype=torch.bool, device=ids.device).tril()
    allowed = (causal | (sensor[:, :, None] & sensor[:, None, :])) & mask.bool()[:, None, :]
    # a padding query with no real key before it would get no weights at all (NaN)
    allowed |= torch.eye(n, dtype=torch.bool, device=ids.device)
    return allowed[:, None]


def _encode(model, ids, anchors, batch: dict):
    """A language model's input embeddings of ``ids`` and its last hidden states, sensor
    tokens seeing one another both ways (``prefix_mask``); ``batch`` holds
    ``token_type_ids`` and ``attention_mask``."""
    emb = model.get_input_embeddings()
    tokens = emb(ids)
    hidden = model.transformer(inputs_embeds=emb.anchored(tokens, ids, tokens, anchors),
                               token_type_ids=batch["token_type_ids"],
                               attention_mask=prefix_mask(emb, ids, batch["attention_mask"])
                               ).last_hidden_state
    return tokens, hidden


@dataclass(frozen=True)
class Output:
    """What ``forward`` returns for a language model: with labels, the loss on the answer
    tokens (and no logits); without, the logits of every position (and no loss)."""

    loss: object
    logits: object


def forward(model, batch: dict):
    """``model`` on a ``collate`` batch.

    A language model anchors the text's time tokens to the signal and points its time
    logits at sensor positions (``sensor_embedding``), and its sensor tokens see one
    another both ways (``prefix_mask``: where a trend starts and ends depends on the
    samples after it as much as on those before); a classifier runs as it is. With
    ``config.direction_weight`` and the batch's ``directions``, the loss adds that weight
    times the cross-entropy of a linear head reading, from each sensor position's hidden
    state, the trend direction the answer states at its time: every sample then teaches
    the model, not only the few answer tokens.

    Args:
        model: A model from ``build_model``.
        batch: ``collate`` output (``labels`` optional).

    Returns:
        An object with ``loss`` and ``logits`` (``Output`` for a language model).
    """
    import torch

    batch = dict(batch)
    anchors, targets = batch.pop("anchors"), batch.pop("targets")
    directions = batch.pop("directions", None)
    if not hasattr(model, "lm_head"):
        return model(**batch)
    emb = model.get_input_embeddings()
    labels = batch.pop("labels", None)
    tokens, hidden = _encode(model, batch.pop("input_ids"), anchors, batch)
    keys = emb.keys(tokens, batch["token_type_ids"], hidden)
    score = emb.point(hidden, keys, anchors[..., 0])
    if labels is None:
        logits = emb.aim(model.lm_head(hidden), score, targets.unsqueeze(1).expand_as(score))
        return Output(None, logits)
    # logits only where the next token is an answer token: the prompt is most of a row
    row, at = torch.nonzero(labels[:, 1:] != IGNORE, as_tuple=True)
    logits = emb.aim(model.lm_head(hidden[row, at]), score[row, at], targets[row])
    loss = torch.nn.functional.cross_entropy(logits.float(), labels[row, at + 1])
    weight = getattr(model.config, "direction_weight", 0.0)
    if weight and directions is not None:
        known = directions >= 0
        if known.any():
            loss = loss + weight * torch.nn.functional.cross_entropy(
                model.direction_head(hidden[known]).float(), directions[known])
    return Output(loss, None)


def collate(examples: Examples, index: np.ndarray, pad_id: int, lm: bool, device: str) -> dict:
    """Right-padded tensors of some rows.

    Args:
        examples: Token sequences.
        index: Rows of the batch.
        pad_id: Padding token.
        lm: Language-model batch (labels on answer tokens only) or classifier batch.
        device: Torch device.

    Returns:
        ``input_ids``, ``token_type_ids`` (the time tokens), ``attention_mask``,
        ``anchors`` (``anchor_positions``), ``targets`` (``pointer_targets``),
        ``labels``, and ``directions`` when the examples have them.
    """
    import torch

    seqs = [np.concatenate([examples.prompts[i], examples.targets[i]]) if lm
            else examples.prompts[i] for i in index]
    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    times = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    labels = np.full((len(seqs), width), IGNORE, dtype=np.int64)
    dirs = np.full((len(seqs), width), -1, dtype=np.int64)
    for r, (i, s) in enumerate(zip(index, seqs)):
        ids[r, :len(s)] = s
        if examples.directions:
            dirs[r, :len(examples.directions[i])] = examples.directions[i]
        times[r, :len(examples.times[i])] = examples.times[i]
        mask[r, :len(s)] = 1
        if lm:
            labels[r, len(examples.prompts[i]):len(s)] = examples.targets[i]
    out = {"input_ids": ids, "token_type_ids": times, "attention_mask": mask,
           "anchors": anchor_positions(ids, times, pad_id),
           "targets": pointer_targets(times, pad_id)}
    out["labels"] = labels if lm else np.array([examples.targets[i][0] for i in index])
    if examples.directions:
        out["directions"] = dirs
    return {k: torch.from_numpy(v).to(device) for k, v in out.items()}
