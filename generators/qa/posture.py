"""Stage-2 posture and gravity: where gravity points in the accelerometer frame, still or moving."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from generators.features import ACC_UNITS
from generators.qa import Facts, QAContext
from generators.qa._common import group_name, sensor_groups, val

STAGE = 2

STILL_RATIO = 0.05
"""Still when the acceleration vector's RMS deviation from its mean vector is below this
share of the mean magnitude. Not the magnitude's std: a turning sensor keeps a magnitude
of 1 g while its axes swing (on the demo, 15 of 249 windows still by the magnitude had
an axis std up to 0.11 g, a sitting subject shifting)."""


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per window with a three-axis accelerometer (the first one).

    Gravity facts come from the window's ``gravity`` feature (``features.gravity`` of
    the sensor's location): the mean acceleration is mostly gravity, its dominant axis
    and sign, and the angle between the mean vector and that axis. Where the placement
    fixes the axis up the standing body (``ctx.vertical_axes``), the posture word and the
    mean vector's angle to that axis are added. Windows spanning an activity change get
    no row (two postures).

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``gravity_axis``, ``gravity_sign``
        (``positive``/``negative``), ``gravity`` (mean vector length in ``unit``, the
        channel's: every quantity of the answer is in that one unit; the posture rule
        reads the length in g from the feature),
        ``tilt_deg`` (whole degrees between the mean vector and the gravity axis),
        ``motion`` (``still``/``moving``), ``motion_rms`` (the RMS distance of the
        acceleration vector from its mean vector, in ``unit``, the channel's),
        ``posture`` (upright/leaning/lying or ``None``), ``vertical_axis`` and
        ``vertical_deg`` (whole degrees between the mean vector and it; both
        ``None`` without a posture).
    """
    if ctx.window.next_activity:
        return
    accs = [g for g in sensor_groups(ctx.channels)
            if len(g) == 3 and ctx.channels[g[0]].modality == "acc"
            and ctx.channels[g[0]].unit in ACC_UNITS]  # arbitrary units give no g
    if not accs:
        return
    idx = sorted(accs[0], key=lambda i: ctx.channels[i].axis)
    first = ctx.channels[idx[0]]
    up = ctx.vertical_axes.get(first.location)
    g = ctx.window_feature("gravity")[first.location]
    if g["tilt_deg"] is None:
        return
    xyz = ctx.values[:, idx].astype(np.float64)  # channel unit
    rms = float(np.sqrt(xyz.var(axis=0).sum()))
    mag = np.linalg.norm(xyz, axis=1)
    posture = g["posture"]
    yield Facts(channels=tuple(ctx.channels[i].name for i in idx), values={
        "sensor": group_name(first),
        "gravity_axis": g["axis"][1],
        "gravity_sign": "positive" if g["axis"][0] == "+" else "negative",
        "gravity": val(np.linalg.norm(xyz.mean(axis=0))),
        "tilt_deg": int(round(g["axis_angle_deg"])),
        "motion": "still" if rms < STILL_RATIO * mag.mean() else "moving",
        "motion_rms": val(rms), "unit": first.unit,
        "posture": posture,
        "vertical_axis": up if posture else None,
        "vertical_deg": int(round(g["tilt_deg"])) if posture else None,
    })
