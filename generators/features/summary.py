"""Channel summaries: the facts of each channel of a window, joining its trend segments
(``generators.trends``) with its per-channel features."""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

import numpy as np

from generators import trends
from generators.features.channel import FEATURES, SeriesBatch, feature_rows
from generators.types import Channel, ChannelSummary, TrendSegment

STATS = "stats"
"""The feature that fills ``ChannelSummary.stats`` (less its ``unit``), not ``features``."""


class _BatchFeatures:
    """The registered features of a batch's rows, each computed for the whole batch when
    a row first reads it: a build reads few features, of some windows only."""

    __slots__ = ("_batch", "_rows")

    def __init__(self, batch: SeriesBatch) -> None:
        self._batch = batch
        self._rows: dict[str, list[dict[str, object] | None]] = {}

    def fields(self, name: str, row: int) -> dict[str, object] | None:
        """Feature ``name`` of row ``row`` (``None`` where it does not apply)."""
        rows = self._rows.get(name)
        if rows is None:
            rows = self._rows[name] = feature_rows(self._batch, name)
        return rows[row]


class _Features(Mapping[str, object]):
    """One row's features (name → fields, as ``compute_features`` gives them), each
    computed on first read."""

    __slots__ = ("_batch", "_row", "_names")

    def __init__(self, batch: _BatchFeatures, row: int, names: tuple[str, ...]) -> None:
        self._batch, self._row, self._names = batch, row, names

    def __getitem__(self, name: str) -> object:
        fields = self._batch.fields(name, self._row) if name in self._names else None
        if fields is None:
            raise KeyError(name)
        return fields

    def __iter__(self) -> Iterator[str]:
        return (n for n in self._names if self._batch.fields(n, self._row) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


class _Stats(Mapping[str, float]):
    """One row's ``stats`` feature less its ``unit``, computed on first read."""

    __slots__ = ("_batch", "_row")

    def __init__(self, batch: _BatchFeatures, row: int) -> None:
        self._batch, self._row = batch, row

    def _fields(self) -> dict[str, object]:
        return self._batch.fields(STATS, self._row)  # type: ignore[return-value]

    def __getitem__(self, key: str) -> float:
        if key == "unit":
            raise KeyError(key)
        return self._fields()[key]  # type: ignore[return-value]

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._fields() if k != "unit")

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


def _summaries(batch: SeriesBatch, segments: Sequence[Sequence[TrendSegment]],
               trend_method: str, trend_params: Mapping[str, object]) -> list[ChannelSummary]:
    """Summaries of the rows of a batch, given their segments and how they were made;
    ``stats`` and ``features`` are computed for the whole batch on first read."""
    lazy = _BatchFeatures(batch)
    names = tuple(n for n in FEATURES.names() if n != STATS)
    return [ChannelSummary(channel=ch, segments=tuple(segs), stats=_Stats(lazy, i),
                           overall=trends.overall(segs, trend_method, **trend_params),
                           features=_Features(lazy, i, names))
            for i, (ch, segs) in enumerate(zip(batch.channels, segments))]


def summarize_batch(windows: Sequence[np.ndarray] | np.ndarray, sample_rate_hz: float,
                    channel: Channel, trend_method: str = trends.DEFAULT_METHOD,
                    **trend_params: object) -> list[ChannelSummary]:
    """All facts for many windows of one channel, computed batch-wise per length.

    Args:
        windows: A 2-D array (windows × samples) or 1-D series of any lengths.
        sample_rate_hz: Sampling rate.
        channel: The channel's metadata.
        trend_method: Name in ``trends.TREND_METHODS``.
        **trend_params: Parameters of the trend method.

    Returns:
        One summary per window, in input order.
    """
    series = [np.asarray(w, dtype=np.float64) for w in windows]
    segs = trends.detect_batch(series, sample_rate_hz, trend_method, **trend_params)
    out: list[ChannelSummary | None] = [None] * len(series)
    for idx, batch in trends.group_by_length(series):
        for i, summary in zip(idx, _summaries(SeriesBatch.of(batch, sample_rate_hz, channel),
                                              [segs[i] for i in idx], trend_method,
                                              trend_params)):
            out[i] = summary
    return out  # type: ignore[return-value]


def summarize_windows(windows: Sequence[np.ndarray], sample_rate_hz: float,
                      channels: Sequence[Channel], trend_method: str = trends.DEFAULT_METHOD,
                      **trend_params: object) -> list[tuple[ChannelSummary, ...]]:
    """All facts for every channel of many multi-channel windows (the fast path).

    All channels of all windows are segmented in one batch; features are computed per
    window length, all channels together.

    Args:
        windows: Arrays of samples × channels (any lengths).
        sample_rate_hz: Sampling rate.
        channels: Channel metadata, one per column.
        trend_method: Name in ``trends.TREND_METHODS``.
        **trend_params: Parameters of the trend method.

    Returns:
        Per window, one summary per channel in column order.
    """
    n_ch = len(channels)
    arrays = [np.asarray(w, dtype=np.float64) for w in windows]
    for i, w in enumerate(arrays):
        if w.ndim != 2 or w.shape[1] != n_ch:
            raise ValueError(f"window {i} has shape {w.shape}; expected samples × {n_ch}")
    # Trends for every channel of every window in one batch (window-major, then channel).
    series = [w[:, c] for w in arrays for c in range(n_ch)]
    segs = trends.detect_batch(series, sample_rate_hz, trend_method, **trend_params)
    out: list[tuple[ChannelSummary, ...]] = [()] * len(arrays)
    for idx, _ in trends.group_by_length([w[:, 0] for w in arrays]):
        # (window, channel) rows, C-ordered: reductions must run the same way as for one row.
        rows = np.ascontiguousarray(np.concatenate([arrays[i].T for i in idx]))
        batch = SeriesBatch(rows, float(sample_rate_hz), tuple(channels) * len(idx))
        summaries = _summaries(batch, [segs[i * n_ch + c] for i in idx for c in range(n_ch)],
                               trend_method, trend_params)
        for k, i in enumerate(idx):
            out[i] = tuple(summaries[k * n_ch:(k + 1) * n_ch])
    return out


def summarize(values: np.ndarray, sample_rate_hz: float, channel: Channel,
              trend_method: str = trends.DEFAULT_METHOD, **trend_params: object) -> ChannelSummary:
    """All facts for one channel of one window.

    Args:
        values: 1-D series of the window.
        sample_rate_hz: Sampling rate.
        channel: The channel's metadata.
        trend_method: Name in ``trends.TREND_METHODS``.
        **trend_params: Parameters of the trend method.

    Returns:
        The channel summary (``stats``: the ``stats`` feature; ``features``: the others).
    """
    return summarize_batch([values], sample_rate_hz, channel, trend_method, **trend_params)[0]
