"""Stage-2 posture and gravity: where gravity points in the accelerometer frame, still or moving."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from generators.features import gravity
from generators.qa import Facts, QAContext
from generators.qa._common import group_name, sensor_groups, val

STAGE = 2

STILL_RATIO = 0.05
"""Still when the std of the acceleration magnitude is below this share of its mean."""


def build(ctx: QAContext) -> Iterator[Facts]:
    """One row per window with a three-axis accelerometer (the first one).

    Gravity facts come from ``features.gravity``: the mean acceleration is mostly
    gravity, its dominant axis and sign, and the tilt of the mean vector from that axis.

    Args:
        ctx: The window.

    Yields:
        Facts with ``sensor``, ``gravity_axis``, ``gravity_sign``
        (``positive``/``negative``), ``gravity_g`` (mean vector length in g),
        ``tilt_deg`` (whole degrees), ``motion`` (``still``/``moving``),
        ``magnitude_std`` (in ``unit``, the channel's) and ``posture``
        (upright/leaning/lying or ``None``).
    """
    accs = [g for g in sensor_groups(ctx.channels)
            if len(g) == 3 and ctx.channels[g[0]].modality == "acc"]
    if not accs:
        return
    idx = sorted(accs[0], key=lambda i: ctx.channels[i].axis)
    g = gravity(ctx.values[:, idx], ctx.channels[idx[0]].unit)
    if g["tilt_deg"] is None:
        return
    mag = np.linalg.norm(ctx.values[:, idx].astype(np.float64), axis=1)  # channel unit
    yield Facts(channels=tuple(ctx.channels[i].name for i in idx), values={
        "sensor": group_name(ctx.channels[idx[0]]),
        "gravity_axis": g["axis"][1],
        "gravity_sign": "positive" if g["axis"][0] == "+" else "negative",
        "gravity_g": val(g["gravity_g"]), "tilt_deg": int(round(g["tilt_deg"])),
        "motion": "still" if mag.std() < STILL_RATIO * mag.mean() else "moving",
        "magnitude_std": val(mag.std()), "unit": ctx.channels[idx[0]].unit,
        "posture": g["posture"],
    })
