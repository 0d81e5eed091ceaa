"""Token sequences of a set of rows: prompts, targets, time tokens, stated directions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from validation.reference_model.data import Rows
from validation.reference_model.metrics import Timeline, direction_at
from validation.reference_model.tokenization import SensorTextTokenizer


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

    def tail(self, n: int) -> Examples:
        """The rows from row ``n`` on."""
        return Examples(*(part[n:] for part in self._parts()))

    def repeat(self, k: int) -> Examples:
        """Every row ``k`` times in a row (row ``i``'s copies at ``i * k`` … ``i*k + k − 1``)."""
        return Examples(*(tuple(x for x in part for _ in range(k)) for part in self._parts()))

    def lengths(self, with_target: bool) -> np.ndarray:
        """Sequence lengths, with or without the target tokens."""
        extra = [len(t) for t in self.targets] if with_target else [0] * len(self.prompts)
        return np.array([len(p) + e for p, e in zip(self.prompts, extra)], dtype=np.int64)


def sensor_tokens(tok: SensorTextTokenizer, rows: Rows) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each row's sensor token ids and the time token beside each (``encode_sensor``)."""
    return [tok.encode_sensor(s, n, r) for s, n, r in
            zip(rows.series, rows.channel_names, rows.sample_rate_hz)]


def stated_directions(tok: SensorTextTokenizer, rows: Rows,
                      timelines: Sequence[Timeline | None], prompt_lengths: list[int]
                      ) -> tuple[np.ndarray, ...]:
    """Per prompt token of each one-channel row, the direction (index in ``DIRECTIONS``)
    its answer states at the time of the token's samples (``timelines``: the segment lines
    each answer states, ``None`` for none); −1 elsewhere."""
    out = []
    for series, rate, stated, length in zip(rows.series, rows.sample_rate_hz, timelines,
                                            prompt_lengths):
        dirs = np.full(length, -1, dtype=np.int64)
        if series.shape[0] == 1 and stated is not None and stated.directions:
            k, width = tok.binning.pooled(series.shape[1])
            mid = (np.arange(k) * width + width / 2) / rate
            dirs[1:k + 1] = direction_at(stated, mid)  # after the start mark
        out.append(dirs)
    return tuple(out)


def lm_examples(tok: SensorTextTokenizer, rows: Rows,
                timelines: Sequence[Timeline | None] | None = None) -> Examples:
    """Language-model sequences of ``rows``: sensor tokens, question, ``<sep>``; answer,
    ``<eos>``; with ``timelines`` (the segment lines each answer states), the directions
    of the auxiliary loss (``stated_directions``)."""
    questions = tok.encode_texts(rows.question)
    answers = tok.encode_texts(rows.answer)
    sensor = sensor_tokens(tok, rows)
    prompts = tuple(np.concatenate([ids, q, [tok.sep_id]]).astype(np.int64)
                    for (ids, _), q in zip(sensor, questions))
    times = tuple(np.concatenate([t, np.full(len(q) + 1, tok.pad_id)]).astype(np.int64)
                  for (_, t), q in zip(sensor, questions))
    targets = tuple(np.array([*a, tok.eos_id], dtype=np.int64) for a in answers)
    directions = (() if timelines is None else
                  stated_directions(tok, rows, timelines, [len(p) for p in prompts]))
    return Examples(prompts, targets, times, directions)


def class_examples(tok: SensorTextTokenizer, rows: Rows, classes: list[str]) -> Examples:
    """Classifier sequences of ``rows``: sensor tokens and ``<sep>``, the class index of
    each row's activity as its target (−1 for a class not in ``classes``)."""
    index = {c: i for i, c in enumerate(classes)}
    sensor = sensor_tokens(tok, rows)
    # no time tokens: with no text to align to, they only add a clock to every window
    return Examples(tuple(np.append(ids, tok.sep_id) for ids, _ in sensor),
                    tuple(np.array([index.get(a, -1)]) for a in rows.activity),
                    tuple(np.full(len(ids) + 1, tok.pad_id) for ids, _ in sensor))
