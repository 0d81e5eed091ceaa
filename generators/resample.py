"""Anti-aliased resampling of recordings (polyphase FIR) with nearest-sample labels."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from generators.types import Recording


def ratio(source_hz: float, target_hz: float) -> tuple[int, int]:
    """(up, down) integers with ``target/source = up/down`` (denominator ≤ 1000)."""
    fraction = Fraction(target_hz / source_hz).limit_denominator(1000)
    return fraction.numerator, fraction.denominator


def resample_labels(labels: np.ndarray, up: int, down: int) -> np.ndarray:
    """Labels at the new rate: each output sample takes the input sample nearest in time.

    Nearest (not mode) keeps every boundary within half an input sample of its true
    time and never invents a label that is not there.
    """
    n_out = -(-len(labels) * up // down)  # ceil, as resample_poly
    nearest = np.minimum((np.arange(n_out) * down * 2 + up) // (2 * up), len(labels) - 1)
    return labels[nearest]


def resample(recording: Recording, target_hz: float) -> Recording:
    """The recording at ``target_hz``: signals through scipy's polyphase anti-aliasing filter.

    ``scipy.signal.resample_poly`` low-passes at the lower Nyquist rate with a Kaiser
    window FIR; ends are padded by extending a fitted line (``padtype="line"``) so the
    first and last samples carry no zero-padding dip. A recording already at the rate is
    returned unchanged.

    Args:
        recording: Source recording (no NaN).
        target_hz: New sampling rate.

    Returns:
        A new ``Recording``, values float32, labels by nearest sample.
    """
    if np.isclose(recording.sample_rate_hz, target_hz):
        return recording
    up, down = ratio(recording.sample_rate_hz, target_hz)
    labels = resample_labels(recording.labels, up, down)
    values = np.empty((len(labels), recording.values.shape[1]), dtype=np.float32)
    for j in range(values.shape[1]):  # one channel at a time bounds the filter's temporaries
        values[:, j] = resample_poly(recording.values[:, j], up, down, padtype="line")
    return dataclasses.replace(recording, sample_rate_hz=float(target_hz), values=values,
                               labels=labels)
