"""Facts computed from windows, one module per concern: ``channel`` (per-channel features
of a batch of equal-length series, ``FEATURES``), ``window`` (features that look at all
channels of one window, ``WINDOW_FEATURES``) and ``summary`` (a channel's trend segments
joined with its features). The names below are the API the rest of harqa uses.
"""

from generators.features.channel import (ACC_UNITS, FEATURES, G0, SeriesBatch, basic_stats,
                                          compute_features)
from generators.features.summary import summarize, summarize_batch, summarize_windows
from generators.features.window import WINDOW_FEATURES, gravity, sensor_axes, window_features

__all__ = ["ACC_UNITS", "FEATURES", "G0", "WINDOW_FEATURES", "SeriesBatch", "basic_stats",
           "compute_features", "gravity", "sensor_axes", "summarize", "summarize_batch",
           "summarize_windows", "window_features"]
