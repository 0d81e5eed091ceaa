"""The calibration curve: the alignment score of the demo with a known share of its rows corrupted.

``benchmarks/bench_verify_sensitivity.py`` measures it and writes ``calibration.json``
beside this module; ``harqa verify``'s report draws it and reads an observed score on it
as "about x % of the rows misaligned", where the run's settings are those it was measured
with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from validation.reference_model.settings import VerifySettings

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
"""The curve shipped with harqa."""

RUN_FIELDS = ("seed", "threads", "device")
"""Settings that may differ from the calibration's while its curve still reads a score."""


def curve_document(bench: Mapping) -> dict:
    """The calibration file's content from the benchmark's results: per corruption kind the
    doses (% of stage-1 rows), the mean and sample standard deviation of the score over the
    seeds, and how many seeds ran; the settings and the dataset it was measured on."""
    return {"dataset": Path(bench["dataset"]).name, "preset": bench["preset"],
            "metric": bench["metric"], "seeds": bench["seeds"],
            "settings": bench["settings"],
            "curves": {kind: {k: c[k] for k in ("doses", "mean", "std", "n")}
                       for kind, c in bench["curves"].items()}}


def load(path: Path = CALIBRATION_PATH) -> dict | None:
    """The calibration document, or ``None`` where no file is shipped."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def applies(calibration: Mapping, settings: VerifySettings) -> bool:
    """Whether ``settings`` are those the curve was measured with (``RUN_FIELDS`` aside;
    every setting the calibration records must match)."""
    # as JSON stores them (tuples as lists); a setting added since keeps its default
    theirs = json.loads(json.dumps({k: v for k, v in calibration["settings"].items()
                                    if k not in RUN_FIELDS}))
    mine = settings.to_dict()
    return all(k in mine for k in theirs) and json.loads(json.dumps(
        {k: mine[k] for k in theirs})) == theirs


def misaligned_percent(score: float, curve: Mapping) -> float:
    """The share of corrupted rows (%) at which the curve's mean score equals ``score``.

    The means are made non-increasing along the doses (a running minimum), then read by
    linear interpolation; a score above the clean mean reads 0, one below the last dose's
    mean reads that dose.
    """
    doses = np.asarray(curve["doses"], dtype=float)
    means = np.minimum.accumulate(np.asarray(curve["mean"], dtype=float))
    # np.interp wants increasing x: read the curve from its lowest score up
    return float(np.interp(score, means[::-1], doses[::-1]))


def readings(score: float | None, calibration: Mapping | None,
             settings: VerifySettings) -> dict[str, tuple[float, bool]] | None:
    """Per corruption kind, the % of rows so corrupted that would score ``score``, and
    whether the score lies below the whole measured curve (then the share is at least
    the largest dose measured); ``None`` without a score, a curve, or where the run's
    settings differ from the curve's."""
    if score is None or calibration is None or not applies(calibration, settings):
        return None
    return {kind: (round(misaligned_percent(score, c), 1), score < min(c["mean"]))
            for kind, c in calibration["curves"].items()}
