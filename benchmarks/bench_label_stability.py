"""Benchmark: how firmly the signal decides a dataset's trend answers (the labels' own ceiling).

Usage: ``python benchmarks/bench_label_stability.py [DATASET] [--rows 200] [--bins 64,128,256]
[--noise 0.1,0.25,0.5,1] [--repeats 3]``.

``harqa verify`` reports ``label_stability`` at its own settings
(``validation/reference_model/stability.py``); this sweeps them on the held-out
one-channel rows whose answers list trend segments (chosen as the reference model
chooses its held-out rows). The detector that wrote the answers is rerun, with each
row's own method and parameters, on the stored window (``raw``, 1.0 unless answers and
series disagree), on the window as the model sees it at each ``--bins`` (standardized,
clipped, binned, put back at the bin centres), and on the window plus fresh white
noise of each ``--noise`` multiple of its noise level (``--repeats`` draws each); and
it counts the firm rows (``stability.firm_rows``, those ``trend_accuracy_firm`` scores).
Writes ``benchmarks/results/label_stability.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from validation.reference_model.data import load_rows  # noqa: E402
from validation.reference_model.scoring import AnswerScorer, dataset_packs  # noqa: E402
from validation.reference_model.settings import settings_for  # noqa: E402
from validation.reference_model.stability import (agreements, as_binned,  # noqa: E402
                                                  firm_rows, label_stability, segment_rows)
from validation.reference_model.tokenization import Binning  # noqa: E402

QA_TYPE = "trend_analysis"
"""The stage-1 QA type the reference model is scored on."""


def _numbers(kind: type):
    return lambda text: [kind(v) for v in text.split(",") if v]


def main() -> None:
    """Score the detector on the held-out trend rows, as stored, binned and re-noised."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", nargs="?", type=Path, default=Path("output/uci_har"),
                    help="dataset written by `harqa build` (default: the demo output/uci_har)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--rows", type=int, default=settings_for("cpu").stage1_test_rows)
    ap.add_argument("--bins", type=_numbers(int), default=[64, 128, 256])
    ap.add_argument("--noise", type=_numbers(float), default=[0.1, 0.25, 0.5, 1.0],
                    help="added noise, in multiples of each window's noise level")
    ap.add_argument("--repeats", type=int, default=3, help="noise draws per level")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--templates", type=Path, default=None,
                    help="template overlay the dataset was built with (answers are read along it)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/label_stability.json")
    args = ap.parse_args()
    if not (args.dataset / "stage1").is_dir():
        raise SystemExit(f"{args.dataset}: no dataset; run `harqa build` first")
    t0 = time.perf_counter()
    rows = load_rows(args.dataset, 1, args.split, args.rows, args.seed, [QA_TYPE])
    stated = AnswerScorer(dataset_packs(args.templates, args.dataset), ()).timelines(rows)
    clip = settings_for("cpu").clip
    figures = label_stability(rows, stated, Binning(args.bins[0], clip), args.noise,
                              args.repeats, args.seed)
    if figures is None:
        raise SystemExit(f"{args.dataset}: no {args.split} row lists trend segments")
    figures[f"bins_{args.bins[0]}"] = figures.pop("bins")
    one, refs = segment_rows(rows, stated)
    for n_bins in args.bins[1:]:
        windows = [as_binned(s[0].astype(float), Binning(n_bins, clip)) for s in one.series]
        figures[f"bins_{n_bins}"] = float(agreements(windows, one, refs).mean())
    doc = {"dataset": str(args.dataset), "split": args.split,
           "subjects": sorted(set(one.subject)), "clip": clip, "repeats": args.repeats,
           "seed": args.seed, "agreement": figures,
           "firm_rows": len(firm_rows(rows, stated, seed=args.seed)),
           "seconds": round(time.perf_counter() - t0, 2)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    for name, value in figures.items():
        if name != "rows":
            print(f"{name:>12}: detector agreement with the answers {value:.3f}")
    print(json.dumps({k: v for k, v in doc.items() if k != "agreement"}))


if __name__ == "__main__":
    main()
