"""Check a posture row: gravity axis and sign, mean-vector length and tilt, still or moving."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from validation.checks import Failure, Row, spans_change
from validation.checks._channels import sensor
from validation.checks._read import Stated, Unreadable, compiler, one, read_row, value
from validation.checks._signal import G_PER_UNIT

STILL_RATIO = 0.05
"""The documented rule: still when the acceleration vector's RMS deviation from its mean
vector is below this share of the mean magnitude."""

POSTURES = ((30.0, "upright"), (60.0, "leaning"), (180.0, "lying"))
"""The documented scale: angle (degrees) of the mean vector to the axis up the standing
body below each limit → posture word; only for a gravity-sized mean (``GRAVITY_G``)."""

GRAVITY_G = (0.5, 1.5)
"""A mean vector this long (g) is taken as gravity, and may give a posture."""


def stated_motion(row: Row) -> str:
    """``still`` or ``moving``: which ``motion_<word>`` phrasing the answer ends with.

    Raises:
        Unreadable: The answer ends with neither (or both).
    """
    c = compiler(row)
    text = row.answer.strip()
    found = {name[len("motion_"):] for name, srcs in c.pack.phrases.items()
             if name.startswith("motion_") for src in srcs
             if any(m.end() == len(text) for m in c.pattern(src)[0].finditer(text))}
    if len(found) != 1:
        raise Unreadable(f"answer ends with motion phrasings of {sorted(found) or 'none'}")
    return found.pop()


def check(row: Row) -> Iterator[Failure]:
    """Recompute the mean acceleration vector of the row's x, y, z accelerometer channels."""
    try:
        _, a = read_row(row)
        said = {k: one(a, k) for k in a}
        motion = stated_motion(row)
    except Unreadable as exc:
        yield Failure("posture.structure", str(exc))
        return
    axes = list(row.channel_axes)
    unit = row.channel_units[0] if row.channel_units else ""
    if axes != ["x", "y", "z"] or set(row.channel_modalities) != {"acc"} or unit not in G_PER_UNIT:
        yield Failure("posture.channel", f"needs x, y, z accelerometer channels in g or m/s², "
                                         f"got {row.channel_names} in {unit!r}")
        return
    held = sensor(row, 0)
    if "sensor" in said and str(said["sensor"]).lower() != held:
        yield Failure("posture.channel", f"names {said['sensor']!r}, the row holds {held!r}")
    xyz = np.asarray(row.series, dtype=np.float64).T
    mean = xyz.mean(axis=0) / G_PER_UNIT[unit]
    length = float(np.linalg.norm(mean))  # g, for the posture rule
    k = int(np.argmax(np.abs(mean)))
    if said.get("gravity_axis", "xyz"[k]).lower() != "xyz"[k]:
        yield Failure("posture.axis", f"gravity on {said['gravity_axis']}, mean vector {mean}")
    sign = "positive" if mean[k] >= 0 else "negative"
    if said.get("gravity_sign", sign).lower() != sign:
        yield Failure("posture.axis", f"{said['gravity_sign']} side, mean {mean[k]:+.4f} g")
    own = float(np.linalg.norm(xyz.mean(axis=0)))  # the channels' unit, as stated
    if "gravity" in said and not value(said["gravity"]).agrees(own):
        yield Failure("posture.value", f"mean vector {said['gravity']}, series {own:.4f} {unit}")
    angle = np.degrees(np.arccos(np.minimum(1.0, np.abs(mean) / length))) if length > 0 \
        else np.full(3, np.nan)
    if "tilt_deg" in said and length > 0:
        if not Stated(float(said["tilt_deg"]), 0).agrees(float(angle[k]), extra=1e-6):
            yield Failure("posture.value", f"tilt {said['tilt_deg']}°, series {angle[k]:.2f}°")
    yield from spans_change(row, "posture", "no single posture")
    yield from _posture_failures(said, angle, length)
    mag = np.linalg.norm(xyz, axis=1)
    rms = float(np.sqrt(xyz.var(axis=0).sum()))
    if "motion_rms" in said and not value(said["motion_rms"]).agrees(rms):
        yield Failure("posture.value", f"RMS deviation {said['motion_rms']}, series {rms:.5f}")
    for name, what in (("gravity", "mean vector"), ("motion_rms", "RMS deviation")):
        for u in a.get(f"{name}@unit", []):
            if u != unit:
                yield Failure("posture.unit", f"{what} in {u!r}, the channels are in {unit!r}")
    ratio = rms / mag.mean() if mag.mean() > 0 else np.inf
    still = motion == "still"
    if still != (ratio < STILL_RATIO) and abs(ratio - STILL_RATIO) > 1e-9:
        yield Failure("posture.motion", f"{'still' if still else 'moving'} stated, RMS deviation/"
                                        f"mean magnitude {ratio:.4f} (still below {STILL_RATIO})")


def _posture_failures(said: dict, angle: np.ndarray, length: float) -> Iterator[Failure]:
    """The stated posture against the mean vector's angle to the stated upright axis."""
    if "posture" not in said:
        return
    up = str(said.get("vertical_axis", "")).lower()
    if up not in ("x", "y", "z") or "vertical_deg" not in said:
        yield Failure("posture.posture", f"posture {said['posture']!r} without the axis and "
                                         f"angle it is read from")
        return
    true = float(angle["xyz".index(up)])
    if not Stated(float(said["vertical_deg"]), 0).agrees(true, extra=1e-6):
        yield Failure("posture.value", f"{said['vertical_deg']}° to the {up}-axis, series "
                                       f"{true:.2f}°")
    lo, hi = GRAVITY_G
    word = next(w for limit, w in POSTURES if true < limit) if lo <= length <= hi else None
    if str(said["posture"]).lower() != word:
        yield Failure("posture.posture", f"{said['posture']!r} stated; mean vector {length:.3f} g "
                                         f"at {true:.2f}° to the {up}-axis gives {word!r}")
