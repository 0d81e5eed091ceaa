"""The input embedding of the reference model: it reads bin and time values and points at times."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

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
    this small does not learn within the CPU budget; and (d) in ``point``, to the
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
