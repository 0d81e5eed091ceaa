"""Benchmark: how firmly the signal decides a dataset's trend answers (the labels' own ceiling).

Usage: ``python benchmarks/bench_label_stability.py [DATASET] [--rows 200] [--bins 64,128]
[--noise 0.1,0.25,0.5,1] [--repeats 3]``.

The reference model is scored by how much of each held-out ``trend_analysis`` answer's
timeline its generated answer matches (``metrics.timeline_agreement``, its
``trend_accuracy``). This asks what the trend detector that wrote those answers scores
on the same rows when its input changes a little, with the method and parameters the
dataset was built with (``manifest.json``):

* ``raw``: the stored window itself (1.0 unless answers and series disagree);
* ``bins_N``: the window as the reference model sees it, standardized, clipped and cut
  into N bins (``tokenization.quantize``), then put back at the bin centres: what the
  model's input still holds;
* ``noise_K``: the window plus fresh white noise of K × its noise level
  (``trends.estimate_noise``), ``--repeats`` draws each: how far the answer depends on
  the particular noise of the recording rather than on the movement. A model that
  learns the movement but not the detector's reaction to each noise sample is bounded
  near these figures.

Writes ``benchmarks/results/label_stability.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generators.trends import detect_batch, estimate_noise  # noqa: E402
from validation.reference_model import metrics  # noqa: E402
from validation.reference_model.data import load_rows  # noqa: E402
from validation.reference_model.parsing import AnswerParser, Structure, direction_words  # noqa: E402
from validation.reference_model.settings import settings_for  # noqa: E402
from validation.reference_model.tokenization import Binning, quantize  # noqa: E402

QA_TYPE = "trend_analysis"
"""The stage-1 QA type the reference model is scored on."""


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v]


def agreement(windows: list[np.ndarray], rates: np.ndarray, references: list[Structure],
              method: str, params: dict) -> float:
    """Mean timeline agreement of the detector's segments of ``windows`` with ``references``.

    Args:
        windows: One 1-D series per row.
        rates: Sample rate of each row.
        references: The structure each row's answer states.
        method: Trend method the dataset was built with.
        params: Its parameters.

    Returns:
        The mean over rows of ``metrics.timeline_agreement``.
    """
    scores = np.zeros(len(windows))
    for rate in np.unique(rates):  # the detector runs batched per sample rate
        idx = np.flatnonzero(rates == rate)
        for i, segs in zip(idx, detect_batch([windows[i] for i in idx], float(rate), method,
                                             **params)):
            got = Structure(directions=tuple(s.direction for s in segs),
                            starts=tuple(s.start_s for s in segs),
                            ends=tuple(s.end_s for s in segs))
            scores[i] = metrics.timeline_agreement(references[i], got)
    return float(scores.mean())


def main() -> None:
    """Score the detector on the held-out trend rows, as stored, binned and re-noised."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", nargs="?", type=Path, default=Path("output/uci_har"),
                    help="dataset written by `harqa build` (default: the demo output/uci_har)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--rows", type=int, default=settings_for("cpu").stage1_test_rows,
                    help="rows, chosen as the reference model chooses its held-out rows")
    ap.add_argument("--bins", type=_ints, default=[64, 128, 256])
    ap.add_argument("--noise", type=_floats, default=[0.1, 0.25, 0.5, 1.0],
                    help="added noise, in multiples of each window's noise level")
    ap.add_argument("--repeats", type=int, default=3, help="noise draws per level")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/label_stability.json")
    args = ap.parse_args()
    manifest_path = args.dataset / "manifest.json"
    if not manifest_path.is_file():
        raise SystemExit(f"{args.dataset}: no manifest.json; run `harqa build` first")
    config = json.loads(manifest_path.read_text())["config"]
    method, params = config["trend_method"], config["trend_params"]
    t0 = time.perf_counter()
    rows = load_rows(args.dataset, 1, args.split, args.rows, args.seed, [QA_TYPE])
    keep = [i for i, s in enumerate(rows.series) if s.shape[0] == 1]
    rows = rows.take(keep)
    overlay = config.get("templates_dir")  # its direction words, where it has its own
    parser = AnswerParser(direction_words(Path(overlay) if overlay else None))
    refs = [parser.parse(a) for a in rows.answer]
    raw = [s[0].astype(np.float64) for s in rows.series]
    rates = np.asarray(rows.sample_rate_hz)
    cpu = settings_for("cpu")
    figures: dict[str, float] = {"raw": agreement(raw, rates, refs, method, params)}
    for n_bins in args.bins:
        binning = Binning(n_bins, cpu.clip)
        binned = [binning.centres()[quantize(x[None], binning)[0]] * binning.clip for x in raw]
        figures[f"bins_{n_bins}"] = agreement(binned, rates, refs, method, params)
    rng = np.random.default_rng(args.seed)
    for k in args.noise:
        draws = [agreement([x + rng.normal(0.0, k * float(estimate_noise(x)), x.size)
                            for x in raw], rates, refs, method, params)
                 for _ in range(args.repeats)]
        figures[f"noise_{k:g}"] = float(np.mean(draws))
        figures[f"noise_{k:g}_spread"] = float(np.ptp(draws))
    doc = {"dataset": str(args.dataset), "split": args.split, "rows": len(rows),
           "subjects": sorted(set(rows.subject)), "trend_method": method, "trend_params": params,
           "clip": cpu.clip, "repeats": args.repeats, "seed": args.seed,
           "agreement": figures, "seconds": round(time.perf_counter() - t0, 2)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    for name, value in figures.items():
        if not name.endswith("_spread"):
            print(f"{name:>12}: detector agreement with the answers {value:.3f}")
    print(json.dumps({k: v for k, v in doc.items() if k != "agreement"}))


if __name__ == "__main__":
    main()
