"""The small GPT-2 backbone: built from a config, trained from scratch, greedy answer generation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from generators.types import DIRECTIONS
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
        times: Beside each prompt token, the time token whose embedding is added to it
            (GPT-2's ``token_type_ids``; the padding token where none is).
        directions: Beside each prompt token, the trend direction (index in
            ``DIRECTIONS``) the answer states at its sample's time, −1 where none
            (auxiliary targets; empty when not made).
    """

    prompts: tuple[np.ndarray, ...]
    targets: tuple[np.ndarray, ...]
    times: tuple[np.ndarray, ...]
    directions: tuple[np.ndarray, ...] = ()

    def _parts(self) -> tuple[tuple[np.ndarray, ...], ...]:
        return (self.prompts, self.targets, self.times, self.directions)

    def head(self, n: int) -> Examples:
        """The first ``n`` rows."""
        return Examples(*(part[:n] for part in self._parts()))

    def repeat(self, k: int) -> Examples:
        """Every row ``k`` times in a row (row ``i``'s copies at ``i * k`` … ``i * k + k − 1``)."""
        return Examples(*(tuple(x for x in part for _ in range(k)) for part in self._parts()))

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


TIME_PERIODS_S = (0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24)
"""Periods of the sine/cosine features of a time token's value (``sensor_embedding``)."""

EXACT_OFFSETS = 16
"""Sensor positions after the last named time that get a bucket each (``relative_buckets``)."""

N_BUCKETS = 32
"""Buckets of a pointer target's offset from the last named time (``relative_buckets``)."""

SPAN_FEATURES = 8
"""Numbers ``sensor_embedding``'s span read gives each text token."""

SMOOTH_HALF = 3
"""Bin tokens on each side averaged into a smoothed value (``smoothed``; 7 samples, about
a 3 Hz low-pass at 50 Hz, near the trend detector's 4 Hz denoiser)."""


def _bucket_table() -> np.ndarray:
    """Bucket of offsets −1, 0, 1, … up to the first offset of the last bucket."""
    d = np.arange(EXACT_OFFSETS * 16)
    far = EXACT_OFFSETS + np.floor(4 * np.log2(np.maximum(d, EXACT_OFFSETS) / EXACT_OFFSETS))
    near = np.minimum(np.where(d < EXACT_OFFSETS, d, far), N_BUCKETS - 3) + 2
    return np.concatenate([[1], near]).astype(np.int64)


BUCKETS = _bucket_table()
"""``relative_buckets`` of offsets −1 … ``len(BUCKETS) − 2`` (larger: the last bucket)."""


def relative_buckets(offset, anchored):
    """Bucket of each sensor position's offset from the position of the last named time.

    0: no time named yet; 1: before it; then one bucket per offset below
    ``EXACT_OFFSETS`` (0 is the named time itself) and four per doubling beyond, up to
    ``N_BUCKETS`` (as T5 buckets relative positions).

    Args:
        offset: Position minus the last named time's position (int tensor).
        anchored: Whether a time was named (bool tensor broadcastable to ``offset``).

    Returns:
        Bucket ids in ``[0, N_BUCKETS)``.
    """
    import torch

    table = torch.from_numpy(BUCKETS).to(offset.device)
    return torch.where(anchored, table[offset.clamp(-1, len(BUCKETS) - 2) + 1], 0)


def sensor_embedding(vocab_size: int, n_embd: int, bins: Mapping[int, float],
                     times: Mapping[int, float], marks: Sequence[int], kernel: int):
    """A token embedding that also reads the values of bin and time tokens, and points at times.

    A from-scratch embedding of each token alone knows nothing of order: bin 40 is as
    far from bin 41 as from bin 3, and the time 1.30 as far from 1.32 as from 0.10. This
    module adds (a) on every sensor token (bins and channel marks), a learned convolution
    over the standardized centre values of the ``kernel`` bin tokens centred on it, so
    the model reads the level, its local change and what follows from the first layer
    on (sensor tokens all precede the text, so looking ahead among them leaks nothing of
    the answer; the end mark sees the channel's last values), and a learned projection
    of the channel's noise and range (``smoothed``: whether a movement counts as a rise
    or a fall depends on them, and the convolution sees only a few samples); (b) on
    every time token, a
    learned projection of sine/cosine features of its seconds, so near times get near
    vectors (sensor tokens carry the time token of their first sample, the end mark the
    window's end, see ``Examples.times``); (c) in ``anchored``, on every text token, a
    learned projection of the sensor embeddings at the last two times the text named up
    to it (``anchor_positions``) and of what the values do between them (``span``), so the
    words after "0.66 to 1.30 seconds" see the signal at 0.66 s and 1.30 s and how it
    went in between without having to learn to find them by attention, which a model
    this small does not learn within the CPU budget (forced direction accuracy on the
    demo stayed ≤ 0.45 after 600 steps without the end reads); and (d) in ``point``, to the
    output logit of each time token of the row, a score of the sensor position carrying
    it: a query from the hidden state against a key of that position's embedding and
    hidden state, plus a learned bias per bucket of its offset from the last named time
    (``relative_buckets``). Naming the next boundary is then choosing a position of the
    signal (a pointer network) instead of recalling one of hundreds of time tokens; a
    plain LM head repeats the commonest times instead.

    Args:
        vocab_size: Token ids.
        n_embd: Embedding width.
        bins: Bin token id → standardized centre value.
        times: Time token id → seconds.
        marks: Channel start and end mark token ids.
        kernel: Bin tokens the convolution sees (odd: the token and ``kernel // 2`` on
            each side).

    Returns:
        The embedding module (an ``nn.Embedding`` subclass, so the LM head can tie to it).

    Raises:
        ValueError: An even ``kernel``.
    """
    import torch
    from torch import nn

    if kernel % 2 == 0:
        raise ValueError(f"the value convolution is centred: kernel must be odd, got {kernel}")

    def table(values: Mapping[int, float]) -> tuple[torch.Tensor, torch.Tensor]:
        value, present = torch.zeros(vocab_size), torch.zeros(vocab_size)
        for i, v in values.items():
            value[i], present[i] = v, 1.0
        return value, present

    class SensorEmbedding(nn.Embedding):
        def __init__(self) -> None:
            super().__init__(vocab_size, n_embd)
            for name, values in (("bin", bins), ("time", times),
                                 ("mark", dict.fromkeys(marks, 0.0))):
                value, present = table(values)
                self.register_buffer(f"{name}_value", value, persistent=False)
                self.register_buffer(f"is_{name}", present, persistent=False)
            self.register_buffer("omega", 2 * torch.pi / torch.tensor(TIME_PERIODS_S),
                                 persistent=False)
            self.level = nn.Conv1d(2, n_embd, kernel, padding=kernel // 2)
            self.clock = nn.Linear(2 * len(TIME_PERIODS_S), n_embd)
            self.context = nn.Linear(3, n_embd, bias=False)
            # no bias: rows that name no time (classifier windows) get exactly nothing
            self.anchor = nn.Linear(2 * n_embd, n_embd, bias=False)
            self.spanned = nn.Linear(SPAN_FEATURES, n_embd, bias=False)
            self.key = nn.Sequential(nn.Linear(2 * n_embd, n_embd), nn.GELU(),
                                     nn.Linear(n_embd, n_embd))
            self.query = nn.Linear(n_embd, n_embd)
            self.offset_bias = nn.Linear(n_embd, N_BUCKETS)

        def forward(self, ids):  # noqa: D401 - nn.Module API
            emb = super().forward(ids)
            m = self.is_bin[ids]
            # value and presence, so tokens near a channel's edge know where it ends
            x = torch.stack([self.bin_value[ids] * m, m], 1)
            sensor = (m + self.is_mark[ids]).unsqueeze(-1)
            emb = emb + self.level(x).transpose(1, 2) * sensor
            _, spread, noise = self.smoothed(ids)
            # the channel's noise and range: whether a movement counts depends on them, and
            # the convolution sees only a few samples of the channel
            ctx = torch.stack([noise, spread, noise / spread.clamp(min=1e-6)], -1)
            emb = emb + self.context(ctx.clamp(max=4).to(emb.dtype)) * sensor
            phase = self.time_value[ids].unsqueeze(-1) * self.omega
            clock = self.clock(torch.cat([phase.sin(), phase.cos()], -1))
            return emb + clock * self.is_time[ids].unsqueeze(-1)

        def anchored(self, emb, prompt, sensor, anchors):
            """``emb`` plus a projection of the sensor embeddings at the last two times
            the text named and of the span between them (``span``).

            ``prompt``: token ids of the rows, ``sensor``: their embeddings; ``anchors``:
            rows × positions × 2 positions in them, −1 for none."""
            b, t = anchors.shape[:2]
            flat = anchors.reshape(b, 2 * t)
            where = flat.clamp(min=0).unsqueeze(-1).expand(-1, -1, sensor.shape[-1])
            read = torch.gather(sensor, 1, where) * (flat >= 0).unsqueeze(-1).to(sensor.dtype)
            return (emb + self.anchor(read.reshape(b, t, 2 * sensor.shape[-1]))
                    + self.spanned(self.span(prompt, anchors).to(emb.dtype)))

        def span(self, prompt, anchors):
            """What the signal does between the last two named times (rows × positions ×
            ``SPAN_FEATURES``; zeros until two times are named): the least-squares line
            through the bin values (its change across the span, mean, residual std, a
            quarter of the log of the bin count), and the change of the smoothed values
            (``smoothed``) from the first to the last bin of the span, alone, over the
            channel's smoothed range and (as ``asinh``) over its noise, beside that range.

            Whether a segment rises, falls or holds is decided over its whole span; a
            read at its two ends alone misses that on long or noisy segments. Whether a
            change counts depends on the channel as a whole, its range and its noise,
            which no read inside the span sees."""
            m = self.is_bin[prompt].double()
            v = self.bin_value[prompt].double() * m
            p = torch.arange(prompt.shape[1], device=prompt.device, dtype=torch.double)
            last, prev = anchors[..., 0], anchors[..., 1]
            lo = torch.minimum(last, prev).clamp(min=0)
            hi = torch.maximum(last, prev).clamp(min=0) + 1

            def total(x):  # sum of x over positions lo … hi − 1 of each row
                c = nn.functional.pad(x.cumsum(1), (1, 0))
                return c.gather(1, hi) - c.gather(1, lo)

            n, sv, sp, spv, spp, svv = map(total, (m, v, p * m, p * v, p * p * m, v * v))
            k = n.clamp(min=1)
            mean, centre = sv / k, sp / k
            var_p, cov = spp / k - centre ** 2, spv / k - centre * mean
            slope = torch.where(var_p > 1e-9, cov / var_p.clamp(min=1e-9), 0.0)
            resid = (svv / k - mean ** 2 - slope * cov).clamp(min=0).sqrt()
            smooth, spread, noise = self.smoothed(prompt)
            # the span's last bin: an end mark carries the window's end but no value
            end = (hi - 1 - self.is_mark[prompt].long().gather(1, hi - 1)).clamp(min=0)
            change = smooth.gather(1, end) - smooth.gather(1, lo)
            spread, noise = spread.gather(1, lo), noise.gather(1, lo)
            stats = torch.stack([slope * (hi - 1 - lo), mean, resid, torch.log1p(n) / 4,
                                 change, change / spread.clamp(min=1e-6),
                                 torch.asinh(change / noise.clamp(min=1e-6)) / 4, spread], -1)
            return stats * ((last >= 0) & (prev >= 0)).unsqueeze(-1)

        def smoothed(self, prompt):
            """Per position of ``prompt`` (rows × positions): the mean of the bin values
            within ``SMOOTH_HALF`` positions in the same channel, and the range of those
            means and the root-mean-square of the bin values around them over the
            position's channel (zeros outside channels)."""
            m = self.is_bin[prompt].double()
            v = self.bin_value[prompt].double() * m
            mark = self.is_mark[prompt].double()
            p = torch.arange(prompt.shape[1], device=prompt.device)
            # channels are the bins between a start mark and the next end mark
            left = torch.where(mark > 0, p, -1).cummax(1).values
            right = torch.where(mark > 0, p, prompt.shape[1]).flip(1).cummin(1).values.flip(1)
            a = torch.maximum(p - SMOOTH_HALF, left + 1).clamp(0, prompt.shape[1])
            b = torch.minimum(p + SMOOTH_HALF + 1, right).clamp(0, prompt.shape[1])
            b = torch.maximum(a, b)
            cv = nn.functional.pad(v.cumsum(1), (1, 0))
            cm = nn.functional.pad(m.cumsum(1), (1, 0))
            count = cm.gather(1, b) - cm.gather(1, a)
            smooth = (cv.gather(1, b) - cv.gather(1, a)) / count.clamp(min=1) * m
            channel = ((mark.cumsum(1) + 1) // 2).long()  # 1, 2, … inside channels
            size = (int(channel.max()) + 1 if channel.numel() else 1,)

            def per_channel(reduce, x, fill):
                out = x.new_full((x.shape[0], *size), fill)
                return out.scatter_reduce(1, channel, x, reduce, include_self=True)

            top = per_channel("amax", torch.where(m > 0, smooth, -torch.inf), -torch.inf)
            low = per_channel("amin", torch.where(m > 0, smooth, torch.inf), torch.inf)
            spread = torch.nan_to_num((top - low).gather(1, channel), posinf=0.0, neginf=0.0)
            sq = per_channel("sum", (v - smooth) ** 2 * m, 0.0)
            bins = per_channel("sum", m, 0.0)
            noise = (sq / bins.clamp(min=1)).sqrt().gather(1, channel)
            return smooth, spread, noise

        def keys(self, sensor, times, hidden):
            """Pointer key of every prompt position (``sensor``: embeddings of the ids,
            ``times``: their time tokens, ``hidden``: the model's last hidden states)."""
            return self.key(torch.cat([sensor + self(times), hidden], -1))

        def point(self, hidden, keys, last):
            """Pointer score of every prompt position for every step (rows × steps ×
            positions): a query of the step's hidden state against the position's key,
            plus a learned bias of the position's offset from the last named time.

            ``hidden``: hidden states of the steps; ``keys``: ``keys`` of the prompt
            positions; ``last``: per step, the position of the last named time (−1 for
            none)."""
            score = self.query(hidden) @ keys.transpose(1, 2) / keys.shape[-1] ** 0.5
            offset = torch.arange(keys.shape[1], device=keys.device) - last.unsqueeze(-1)
            buckets = relative_buckets(offset, (last >= 0).unsqueeze(-1))
            return score + torch.gather(self.offset_bias(hidden), 2, buckets)

        @staticmethod
        def aim(logits, score, targets):
            """``logits`` (… × vocab) plus, on the time token each position points at
            (``targets``, … × positions, −1 for none), that position's ``score``."""
            valid = (targets >= 0).to(score.dtype)
            return logits.scatter_add(-1, targets.clamp(min=0), score * valid)

    return SensorEmbedding()


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
            probs = torch.softmax(forward(model, batch).logits.float(), -1).cpu().numpy()
            where = {r: i for i, r in enumerate(batch_rows)}
            for r, pos, d in targets:
                if r in where:
                    p = probs[where[r], pos - 1]  # logits at pos − 1 predict the token at pos
                    scores = [p[by_dir[x]].sum() for x in dirs]
                    correct.append(dirs[int(np.argmax(scores))] == d)
    return float(np.mean(correct))
