"""Speed of trends + features + a rendered stage-1 text against a seed-notebook-style pandas version.

Usage: ``python benchmarks/bench_speed.py [--experiments 4] [--seed-sample 200] [--repeat 3]``.

Both sides describe the same real HAPT channel-windows. harqa runs what a build runs for
them: per recording, ``pipeline.contexts`` (robust trends of every channel-window in one
batch, then the registered features per window length) and ``qa.build_items`` for the
stage-1 ``trend_summary`` row of every channel (facts, then the sandboxed Jinja pack
``templates/trend_summary.yaml``: variant, synonyms and phrasings chosen per row). The
seed-style side (per-sample DataFrame rows, an ``iterrows`` merge, ``str.format``
sentences, as the SensorLLM notebook does) is timed on an evenly spaced sample of the
channel-windows because it is slow. One untimed round first pays what a build pays
once per process (compiling the templates). The two sides alternate within one
process (``--repeat`` rounds) and the median of each counts; times are this process's
CPU time (``time.process_time``), so waiting for a CPU shared with other processes does
not count, and what load remains (caches, memory bandwidth) hits both sides alike. In
harqa's breakdown, trends are timed alone on the same batches, features are the rest of
``pipeline.contexts``, and rendering is ``qa.build_items`` (facts, Jinja, row objects).
Prints channel-windows per second for both, the ratio, harqa's time per stage (µs per
channel-window) and the garbage collector's share of it with the heap frozen (as
``pipeline.describe`` runs) and not, and writes ``benchmarks/results/speed.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_trends import HAPT, RESULTS  # noqa: E402
from generators import pipeline, qa, trends  # noqa: E402
from generators.config import BuildConfig  # noqa: E402
from generators.readers import uci_har  # noqa: E402
from generators.text import load_packs  # noqa: E402
from generators.types import Recording, Window  # noqa: E402
from generators.windows import stage1_windows, stage2_windows  # noqa: E402

QA_TYPE = "trend_summary"


def seed_style(values: np.ndarray, rate: float, name: str) -> str:
    """The seed notebook's generator, written the straightforward pandas way."""
    df = pd.DataFrame({"time": np.arange(len(values)) / rate, "value": values})
    df["diff"] = df["value"].diff()
    runs: list[dict] = []
    for i, row in df.iloc[1:].iterrows():
        trend = "increasing" if row["diff"] > 0 else "decreasing" if row["diff"] < 0 else "steady"
        if runs and runs[-1]["trend"] == trend:
            runs[-1]["end"] = row["time"]
        else:
            runs.append({"start": df.loc[i - 1, "time"], "end": row["time"], "trend": trend})
    parts = ["{:.2f} seconds to {:.2f} seconds: {}".format(r["start"], r["end"], r["trend"])
             for r in runs]
    total = df["diff"].sum()
    overall = "increasing" if total > 0 else "decreasing" if total < 0 else "steady"
    return ("The {} data shows {} trends with {} changes: {}. The overall trend is {}."
            .format(name, len(runs), len(runs) - 1, "; ".join(parts), overall))


def load(root: Path, stage: int, experiments: list[int]
         ) -> list[tuple[Recording, list[Window]]]:
    """Real HAPT recordings with their stage-1 (random 5–200 samples) or stage-2 windows."""
    out = []
    for rec in uci_har.read(root, experiments=experiments):
        wins = (stage1_windows(rec, "train", 0, (5, 200), 1) if stage == 1
                else stage2_windows(rec, "train", 128, 64))
        out.append((rec, wins))
    return out


def harqa(data: list[tuple[Recording, list[Window]]], cfg: BuildConfig, packs: dict,
          freeze: bool = True) -> tuple[list[str], dict[str, float]]:
    """The build's path for every channel-window: summaries per recording, then rows.

    Args:
        data: Recordings and their windows.
        cfg: Build settings.
        packs: Template packs.
        freeze: Describe with the heap frozen, as ``pipeline.describe`` does.

    Returns:
        The answers, and seconds spent summarizing (trends + features) and rendering.
    """
    answers: list[str] = []
    spent = {"summarize": 0.0, "render": 0.0}
    for rec, wins in data:
        with pipeline.frozen_heap() if freeze else contextlib.nullcontext():
            start = time.process_time()
            contexts = list(pipeline.contexts(rec, cfg, wins))
            mid = time.process_time()
            for ctx in contexts:
                answers += [item.answer
                            for item in qa.build_items(ctx, [QA_TYPE], packs, cfg.trend_method,
                                                       cfg.seed)]
            spent["summarize"] += mid - start
            spent["render"] += time.process_time() - mid
    return answers, spent


def collection_seconds(data: list[tuple[Recording, list[Window]]], cfg: BuildConfig,
                       packs: dict, freeze: bool) -> float:
    """CPU seconds the garbage collector spends during one harqa round."""
    spent, started = [0.0], [0.0]

    def on_collect(phase: str, _info: dict) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent[0] += time.process_time() - started[0]

    gc.callbacks.append(on_collect)
    try:
        harqa(data, cfg, packs, freeze)
    finally:
        gc.callbacks.remove(on_collect)
    return spent[0]


def trends_only(data: list[tuple[Recording, list[Window]]], cfg: BuildConfig) -> float:
    """Seconds for the robust trends alone, batched per recording as ``contexts`` does."""
    start = time.process_time()
    for rec, wins in data:
        series = [np.asarray(rec.values[w.start:w.end, c], dtype=np.float64)
                  for w in wins for c in range(len(rec.channels))]
        trends.detect_batch(series, rec.sample_rate_hz, cfg.trend_method, **cfg.trend_params)
    return time.process_time() - start


def seed_side(data: list[tuple[Recording, list[Window]]], pick: np.ndarray) -> float:
    """Seconds for the seed-style generator on the picked channel-windows."""
    flat = [(rec, w, c) for rec, wins in data for w in wins for c in range(len(rec.channels))]
    start = time.process_time()
    for i in pick:
        rec, w, c = flat[int(i)]
        seed_style(rec.values[w.start:w.end, c], rec.sample_rate_hz, "normalized waist sensor")
    return time.process_time() - start


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed-sample", type=int, default=200,
                    help="channel-windows timed for the seed-style implementation")
    ap.add_argument("--experiments", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3, help="alternating rounds; medians count")
    ap.add_argument("--data", type=Path, default=HAPT, help="the UCI HAPT directory")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} not found: the speed benchmark needs the real HAPT recordings")
    RESULTS.mkdir(parents=True, exist_ok=True)
    cfg, packs = BuildConfig(), load_packs()
    results = {}
    for stage, label in ((1, "stage 1, random 5–200 samples"), (2, "stage 2, 128 samples")):
        data = load(args.data, stage, list(range(1, args.experiments + 1)))
        n_items = sum(len(wins) * len(rec.channels) for rec, wins in data)
        pick = np.linspace(0, n_items - 1, min(args.seed_sample, n_items)).astype(int)
        ours, theirs, summ, rend, trend = [], [], [], [], []
        harqa(data, cfg, packs)  # untimed: template compilation is once per process
        for _ in range(args.repeat):
            start = time.process_time()
            answers, spent = harqa(data, cfg, packs)
            ours.append(time.process_time() - start)
            summ.append(spent["summarize"])
            rend.append(spent["render"])
            theirs.append(seed_side(data, pick))
            trend.append(trends_only(data, cfg))
        ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
        us = {k: 1e6 * statistics.median(v) / n_items
              for k, v in (("trends", trend), ("summarize", summ), ("render", rend))}
        breakdown = {"trends_us": us["trends"], "features_us": us["summarize"] - us["trends"],
                     "render_us": us["render"], "total_us": 1e6 * ours_s / n_items}
        gc_us = {f"gc_{k}_us": 1e6 * collection_seconds(data, cfg, packs, freeze) / n_items
                 for k, freeze in (("frozen", True), ("unfrozen", False))}
        ours_rate, theirs_rate = n_items / ours_s, len(pick) / theirs_s
        mean_len = float(np.mean([w.length for _, wins in data for w in wins]))
        example = answers[len(answers) // 2]
        results[f"stage{stage}"] = {
            "channel_windows": n_items, "windows": sum(len(w) for _, w in data),
            "mean_samples": mean_len, "harqa_cw_per_s": ours_rate,
            "seed_style_cw_per_s": theirs_rate, "ratio": ours_rate / theirs_rate,
            "seed_style_timed_on": len(pick), "rounds": args.repeat,
            "harqa_us_per_cw": {**breakdown, **gc_us}, "example": example}
        print(f"{label}: {n_items:,} channel-windows (mean {mean_len:.0f} samples)")
        print(f"  harqa (robust trends + features + {QA_TYPE} row): "
              f"{ours_rate:>10,.0f} channel-windows/s")
        print(f"    µs per channel-window: trends {breakdown['trends_us']:.1f}, features "
              f"{breakdown['features_us']:.1f}, rendering {breakdown['render_us']:.1f}, "
              f"total {breakdown['total_us']:.1f}")
        print(f"    of which garbage collection: {gc_us['gc_frozen_us']:.1f} (heap frozen, as a "
              f"build runs; {gc_us['gc_unfrozen_us']:.1f} unfrozen)")
        print(f"  seed-style pandas (timed on {len(pick)}): {theirs_rate:>10,.1f} channel-windows/s")
        print(f"  ratio: {ours_rate / theirs_rate:,.0f}×   (target ≥ 200×)")
        print(f"  e.g. {example}")
    (RESULTS / "speed.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
