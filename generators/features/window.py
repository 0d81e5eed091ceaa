"""Window-level features: what looks at all channels of one window together (gravity
and posture per sensor, correlation between channels), and the ``WINDOW_FEATURES``
registry."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from generators.features.channel import ACC_UNITS
from generators.registry import Registry
from generators.types import SPATIAL_AXES, Channel


def correlation_matrix(values: np.ndarray) -> np.ndarray:
    """Pearson correlation between the columns of a samples × channels array.

    Constant channels correlate 0 with the others (and 1 with themselves).

    Args:
        values: 2-D array, samples × channels.

    Returns:
        channels × channels matrix.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x - x.mean(axis=0)
    norm = np.sqrt((x * x).sum(axis=0))
    ok = norm > 0
    z = np.divide(x, norm, out=np.zeros_like(x), where=ok)
    corr = np.clip(z.T @ z, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    return corr


#: Tilt from the vertical axis below which a trunk sensor's wearer is upright, and
#: above which lying (in between: leaning).
UPRIGHT_MAX_DEG = 30.0
LYING_MIN_DEG = 60.0


def gravity(values_xyz: np.ndarray, unit: str, vertical_axis: str | None = None
            ) -> dict[str, object]:
    """Where gravity points in one accelerometer's frame, and the posture it implies.

    The mean acceleration of a window is mostly gravity. Reported: the axis carrying
    most of it with its sign (``"+x"``), the angle (degrees) between the mean vector and
    that axis (``axis_angle_deg``), the tilt (degrees) between the mean vector and
    the reference axis (``vertical_axis`` if given, else that dominant axis), the mean
    vector's length and the signal magnitude (mean vector norm, SMA) in g. A posture
    word (upright/leaning/lying) is given only when the sensor's upright axis is known
    (``vertical_axis``) and the mean is gravity-sized (0.5–1.5 g); otherwise ``None``.

    Args:
        values_xyz: samples × 3 array of x, y, z acceleration.
        unit: ``g`` or ``m/s²``.
        vertical_axis: Device axis (``x``/``y``/``z``) pointing up the body when the
            wearer stands, if the placement defines one.

    Returns:
        JSON-serialisable fields.
    """
    if unit not in ACC_UNITS:
        raise ValueError(f"unknown acceleration unit {unit!r}; known: {sorted(ACC_UNITS)}")
    xyz = np.asarray(values_xyz, dtype=np.float64) / ACC_UNITS[unit]
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ValueError(f"need samples × 3 (x, y, z) values, got shape {xyz.shape}")
    mean = xyz.mean(axis=0)
    length = float(np.linalg.norm(mean))
    dominant = int(np.argmax(np.abs(mean)))
    ref = "xyz".index(vertical_axis) if vertical_axis else dominant
    # Angle of the mean vector to each device axis (the sign of the axis disregarded).
    angles = (np.degrees(np.arccos(np.minimum(1.0, np.abs(mean) / length))) if length > 0
              else np.full(3, np.nan))
    tilt = float(angles[ref]) if length > 0 else None
    posture = None
    if vertical_axis and tilt is not None and 0.5 <= length <= 1.5:
        posture = ("upright" if tilt < UPRIGHT_MAX_DEG
                   else "leaning" if tilt < LYING_MIN_DEG else "lying")
    return {
        "axis": ("+" if mean[dominant] >= 0 else "-") + "xyz"[dominant],
        "axis_angle_deg": float(angles[dominant]) if length > 0 else None,
        "reference_axis": "xyz"[ref],
        "tilt_deg": tilt,
        "gravity_g": length,
        "mean_norm_g": float(np.linalg.norm(xyz, axis=1).mean()),
        "sma_g": float(np.abs(xyz).sum(axis=1).mean()),
        "posture": posture,
    }


def sensor_axes(channels: Sequence[Channel]) -> dict[tuple[str, str], dict[str, int]]:
    """The spatial axes of each sensor: (location, modality) → axis → the first channel
    with it, in channel order (ECG leads and other non-axes left out)."""
    sensors: dict[tuple[str, str], dict[str, int]] = {}
    for i, ch in enumerate(channels):
        if ch.axis in SPATIAL_AXES:
            sensors.setdefault((ch.location, ch.modality), {}).setdefault(ch.axis, i)
    return sensors


WindowFeatureFn = Callable[[np.ndarray, Sequence[Channel], Mapping[str, str]], object]
#: Cross-channel features of one window: each takes its values (samples × channels),
#: the channels and the vertical device axis per location (``Recording.vertical_axes``)
#: and returns JSON-serialisable fields.
WINDOW_FEATURES: Registry[WindowFeatureFn] = Registry("window feature")


@WINDOW_FEATURES.register("gravity")
def gravity_by_location(values: np.ndarray, channels: Sequence[Channel],
                        vertical_axes: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """``gravity`` of each location's three-axis accelerometer (axes from ``sensor_axes``)
    whose unit is in ``ACC_UNITS`` (arbitrary units give no g to compare); its posture
    word where ``vertical_axes`` names the location's upright axis."""
    x = np.asarray(values, dtype=np.float64)
    return {loc: gravity(x[:, [axes["x"], axes["y"], axes["z"]]], channels[axes["x"]].unit,
                         vertical_axes.get(loc))
            for (loc, modality), axes in sensor_axes(channels).items()
            if modality == "acc" and len(axes) == 3 and channels[axes["x"]].unit in ACC_UNITS}


@WINDOW_FEATURES.register("correlation")
def correlation(values: np.ndarray, channels: Sequence[Channel],
                vertical_axes: Mapping[str, str]) -> dict[str, object]:
    """Pearson correlation between every two channels (``correlation_matrix``), with the
    channel names in matrix order."""
    return {"channels": [c.name for c in channels],
            "matrix": correlation_matrix(np.asarray(values, dtype=np.float64)).tolist()}


def window_features(values: np.ndarray, channels: Sequence[Channel],
                    vertical_axes: Mapping[str, str] | None = None,
                    names: Sequence[str] | None = None) -> dict[str, object]:
    """Registered cross-channel features of one window.

    Args:
        values: samples × channels array.
        channels: Channel metadata, one per column.
        vertical_axes: Location → device axis pointing up the standing body, where the
            dataset's placement defines one (enables the posture word).
        names: Feature names (default: all of ``WINDOW_FEATURES``).

    Returns:
        Feature name → its fields, e.g. ``{"gravity": {location: gravity(...)},
        "correlation": {"channels": [...], "matrix": [[...]]}}``.
    """
    axes = vertical_axes or {}
    return {name: WINDOW_FEATURES[name](values, channels, axes)
            for name in names or WINDOW_FEATURES.names()}
