"""Channel summaries: the facts of each channel of a window, joining its trend segments
(``generators.trends``) with its per-channel features."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from generators import trends
from generators.features.channel import SeriesBatch, compute_features
from generators.types import Channel, ChannelSummary, TrendSegment


def _summaries(batch: SeriesBatch, segments: Sequence[Sequence[TrendSegment]],
               trend_method: str, trend_params: Mapping[str, object]) -> list[ChannelSummary]:
    """Summaries of the rows of a batch, given their segments and how they were made."""
    out = []
    for ch, segs, f in zip(batch.channels, segments, compute_features(batch)):
        st = {k: v for k, v in f.pop("stats").items() if k != "unit"}
        out.append(ChannelSummary(channel=ch, segments=tuple(segs), stats=st,
                                  overall=trends.overall(segs, trend_method, **trend_params),
                                  features=f))
    return out


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
