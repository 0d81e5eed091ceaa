"""Tokens: Chronos-style binned sensor values inside channel marks, and a locally trained BPE."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

SPECIAL_TOKENS = ("<pad>", "<eos>", "<sep>")
"""Padding, end of answer, and the separator between the prompt and the answer."""

TIME_RE = re.compile(r"\d+\.\d\d(?!\d)")
"""A time as the answers write it (seconds, two decimals): one token each."""


def time_text(seconds: float) -> str:
    """A time spelled as the answers spell it (``generators.qa`` writes two decimals)."""
    return f"{seconds:.2f}"


@dataclass(frozen=True)
class Binning:
    """How a channel's values become tokens.

    Attributes:
        n_bins: Number of uniform bins over ``[-clip, clip]`` standard deviations.
        clip: Standardized values are clipped to this many standard deviations.
        pool: Average every ``pool`` samples first (shorter sequences for long windows).
        scaling: ``window``: each channel of each window standardized by its own mean
            and std (Chronos' instance scaling; trends are scale-free). ``dataset``: by the
            channel's mean and std over the training rows (levels and amplitudes kept,
            which an activity classifier needs).
    """

    n_bins: int = 64
    clip: float = 3.0
    pool: int = 1
    scaling: str = "window"

    def pooled(self, n_samples: int) -> tuple[int, int]:
        """Sensor tokens of a channel of ``n_samples`` and samples per token (a window
        shorter than ``pool`` keeps one token per sample; a remainder is dropped)."""
        if self.pool > 1 and n_samples >= self.pool:
            return n_samples // self.pool, self.pool
        return n_samples, 1

    def centres(self) -> np.ndarray:
        """Each bin's centre as a standardized value over ``clip`` (in [−1, 1])."""
        edges = np.linspace(-1.0, 1.0, self.n_bins + 1)
        return (edges[:-1] + edges[1:]) / 2

    def __post_init__(self) -> None:
        if self.scaling not in ("window", "dataset"):
            raise ValueError(f"scaling must be 'window' or 'dataset', got {self.scaling!r}")


MARK_RE = re.compile(r"<.+_(?:start|end)>")
"""A channel start or end mark (``channel_marks``)."""


def channel_marks(name: str) -> tuple[str, str]:
    """The start and end tokens of one channel, as SensorLLM marks channel boundaries."""
    return f"<{name}_start>", f"<{name}_end>"


def bin_token(i: int) -> str:
    """The token of bin ``i``."""
    return f"<bin_{i}>"


def fit_scaler(series: Iterable[np.ndarray], names: Iterable[Sequence[str]]
               ) -> dict[str, tuple[float, float]]:
    """Mean and std of every channel name over all given rows (for ``dataset`` scaling).

    Args:
        series: Channel-major arrays, one per row.
        names: Channel names of each row.

    Returns:
        Channel name → (mean, std); std is at least 1e-8.
    """
    sums: dict[str, np.ndarray] = {}
    for s, row_names in zip(series, names):
        x = s.astype(np.float64)
        moments = np.stack([np.full(len(row_names), x.shape[1]), x.sum(1), (x * x).sum(1)], 1)
        for name, m in zip(row_names, moments):
            sums[name] = sums.get(name, 0.0) + m
    out = {}
    for name, (n, s1, s2) in sums.items():
        mean = s1 / n
        out[name] = (float(mean), float(max(np.sqrt(max(s2 / n - mean * mean, 0.0)), 1e-8)))
    return out


def quantize(series: np.ndarray, binning: Binning,
             scale: Mapping[str, tuple[float, float]] | None = None,
             names: Sequence[str] = ()) -> np.ndarray:
    """Standardize each channel, clip and bin it.

    Args:
        series: Channel-major float array (channels × samples).
        binning: Bin settings.
        scale: Channel name → (mean, std) for ``dataset`` scaling.
        names: Channel names (needed with ``dataset`` scaling).

    Returns:
        int64 bin indices in ``[0, n_bins)``, channels × pooled samples.
    """
    x = np.asarray(series, dtype=np.float64)
    k, width = binning.pooled(x.shape[1])
    x = x[:, :k * width].reshape(x.shape[0], k, width).mean(axis=2)
    if binning.scaling == "dataset":
        if scale is None:
            raise ValueError("dataset scaling needs the fitted channel scale")
        mean = np.array([scale[n][0] for n in names])[:, None]
        std = np.array([scale[n][1] for n in names])[:, None]
    else:
        mean = x.mean(axis=1, keepdims=True)
        std = x.std(axis=1, keepdims=True)
        std = np.where(std > 1e-12, std, 1.0)  # a flat channel sits in the middle bin
    z = np.clip((x - mean) / std, -binning.clip, binning.clip)
    idx = np.floor((z + binning.clip) / (2 * binning.clip) * binning.n_bins)
    return np.minimum(idx, binning.n_bins - 1).astype(np.int64)


class SensorTextTokenizer:
    """One vocabulary for text (byte-level BPE, digits split) and sensor tokens.

    Args:
        tokenizer: A ``tokenizers.Tokenizer`` holding the special, channel and bin tokens.
        binning: How sensor values are binned.
        scale: Channel scale for ``dataset`` binning (``None`` for ``window``).
    """

    def __init__(self, tokenizer, binning: Binning,
                 scale: Mapping[str, tuple[float, float]] | None = None) -> None:
        self.tokenizer = tokenizer
        self.binning = binning
        self.scale = dict(scale) if scale is not None else None
        self.pad_id, self.eos_id, self.sep_id = (self._id(t) for t in SPECIAL_TOKENS)
        self.bin0 = self._id(bin_token(0))
        if self._id(bin_token(binning.n_bins - 1)) != self.bin0 + binning.n_bins - 1:
            raise ValueError("bin tokens must have consecutive ids")

    def _id(self, token: str) -> int:
        i = self.tokenizer.token_to_id(token)
        if i is None:
            raise KeyError(f"token {token!r} is not in the vocabulary")
        return i

    @classmethod
    def train(cls, texts: Iterable[str], channel_names: Iterable[str], binning: Binning,
              vocab_size: int = 1024,
              scale: Mapping[str, tuple[float, float]] | None = None) -> SensorTextTokenizer:
        """Train the text BPE on ``texts`` and add the sensor tokens.

        Every two-decimal time in the texts (``TIME_RE``) becomes one token, so a time is
        one vector that sensor tokens can share (``encode_sensor``'s time ids) and a
        model can point at; other digits are split one by one, so counts are spelled
        digit-wise. Byte-level BPE round-trips any text.

        Args:
            texts: Questions and answers of the training rows.
            channel_names: Every channel name that may occur.
            binning: Bin settings.
            vocab_size: BPE merges learned on top of the 256 byte tokens.
            scale: Channel scale for ``dataset`` binning.

        Returns:
            The tokenizer.
        """
        from tokenizers import (AddedToken, Tokenizer, decoders, models, pre_tokenizers,
                                trainers)

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False)])
        tok.decoder = decoders.ByteLevel()
        marks = [m for name in sorted(set(channel_names)) for m in channel_marks(name)]
        special = [*SPECIAL_TOKENS, *marks, *(bin_token(i) for i in range(binning.n_bins))]
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        trainer = trainers.BpeTrainer(vocab_size=len(special) + len(alphabet) + vocab_size,
                                      special_tokens=special, show_progress=False,
                                      initial_alphabet=alphabet)
        texts = list(texts)
        tok.train_from_iterator(texts, trainer)
        times = sorted({m for t in texts for m in TIME_RE.findall(t)}, key=float)
        tok.add_tokens([AddedToken(t, normalized=False) for t in times])
        return cls(tok, binning, scale)

    @property
    def vocab_size(self) -> int:
        """Number of token ids."""
        return self.tokenizer.get_vocab_size()

    def bin_values(self) -> dict[int, float]:
        """Bin token id → the standardized value at the bin's centre, over ``clip``."""
        return {self.bin0 + i: float(c) for i, c in enumerate(self.binning.centres())}

    def mark_ids(self) -> list[int]:
        """Ids of every channel's start and end marks."""
        return sorted(i for t, i in self.tokenizer.get_vocab().items() if MARK_RE.fullmatch(t))

    def time_values(self) -> dict[int, float]:
        """Time token id → seconds."""
        return {i: float(t) for t, i in self.tokenizer.get_vocab().items()
                if TIME_RE.fullmatch(t)}

    def encode_texts(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (no special tokens added)."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids, special and sensor tokens skipped."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def encode_sensor(self, series: np.ndarray, names: Sequence[str], sample_rate_hz: float
                      ) -> tuple[np.ndarray, np.ndarray]:
        """``<name_start> bins… <name_end>`` for every channel, concatenated, with times.

        Args:
            series: Channel-major array.
            names: Channel names, one per row of ``series``.
            sample_rate_hz: Sampling rate of ``series``.

        Returns:
            int64 token ids, and beside each the id of the time token of the first sample
            it covers, or on an end mark the window's end (``pad`` for start marks and for
            times no text of the vocabulary wrote).
            A model adds the time token's embedding to the bin token's (GPT-2's
            ``token_type_ids``), so a time in the text and the signal at that time share
            one vector.
        """
        bins = quantize(series, self.binning, self.scale, names) + self.bin0
        width = self.binning.pooled(series.shape[1])[1]  # samples per token
        starts = np.arange(bins.shape[1]) * width / sample_rate_hz
        # the end mark carries the end time, so answers can name the window's end
        stamps = [*starts, series.shape[1] / sample_rate_hz]
        at = np.array([self.tokenizer.token_to_id(time_text(t)) for t in stamps], dtype=object)
        times = np.where(np.equal(at, None), self.pad_id, at).astype(np.int64)
        ids, types = [], []
        for name, row in zip(names, bins):
            start, end = (self._id(m) for m in channel_marks(name))
            ids += [[start], row, [end]]
            types += [[self.pad_id], times]
        return np.concatenate(ids).astype(np.int64), np.concatenate(types).astype(np.int64)

    def save(self, folder: Path) -> None:
        """Write ``tokenizer.json`` and ``sensor_tokens.json`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(folder / "tokenizer.json"))
        (folder / "sensor_tokens.json").write_text(json.dumps(
            {"binning": asdict(self.binning), "scale": self.scale}, indent=2, sort_keys=True))

    @classmethod
    def load(cls, folder: Path) -> SensorTextTokenizer:
        """Read a tokenizer written by ``save``."""
        from tokenizers import Tokenizer

        meta = json.loads((folder / "sensor_tokens.json").read_text())
        scale = {k: tuple(v) for k, v in meta["scale"].items()} if meta["scale"] else None
        return cls(Tokenizer.from_file(str(folder / "tokenizer.json")),
                   Binning(**meta["binning"]), scale)
