"""Speed of trends + features + a stage-1 sentence against a seed-notebook-style pandas version.

Usage: ``python benchmarks/bench_speed.py [--seed-sample 300]``. Both sides describe the
same real HAPT channel-windows; the seed-style side (per-sample DataFrame rows, an
``iterrows`` merge, ``str.format`` sentences, as the SensorLLM notebook does) is timed on
an evenly spaced sample of them because it is slow. For both sides the fastest of
``--repeat`` runs counts (the machine may be shared). Prints channel-windows per second for both and the ratio, and writes ``benchmarks/results/speed.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_trends import HAPT, RESULTS  # noqa: E402
from generators import features  # noqa: E402
from generators.readers import uci_har  # noqa: E402
from generators.types import ChannelSummary  # noqa: E402
from generators.windows import stage1_windows, stage2_windows  # noqa: E402

RATE = 50.0


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


_VERB = {"up": "rises", "down": "falls"}


def sentence(s: ChannelSummary, name: str) -> str:
    """A stage-1 trend summary from the robust segments and a few features."""
    unit = s.channel.unit
    parts = [
        f"from {g.start_s:.2f} s to {g.end_s:.2f} s it "
        + (f"stays near {g.start_value:.2f} {unit}" if g.direction == "steady" else
           f"{_VERB[g.direction]} by {abs(g.end_value - g.start_value):.2f} {unit}")
        for g in s.segments
    ]
    freq = s.features["frequency"]["dominant_hz"]
    tail = f", dominant frequency {freq:.2f} Hz" if freq is not None else ""
    return (f"The {name} shows {len(s.segments)} trend{'s' if len(s.segments) != 1 else ''}: "
            f"{'; '.join(parts)}. Mean {s.stats['mean']:.2f} {unit}, range "
            f"{s.stats['range']:.2f} {unit}{tail}.")


def load(stage: int, experiments: list[int]) -> tuple[list[np.ndarray], tuple, int]:
    """Windows (samples × channels) of real HAPT recordings, their channels, channel-windows."""
    out, channels = [], ()
    for rec in uci_har.read(HAPT, experiments=experiments):
        wins = (stage1_windows(rec, "train", 0, (5, 200), 1) if stage == 1
                else stage2_windows(rec, "train", 128, 64))
        channels = rec.channels
        out += [np.asarray(rec.values[w.start:w.end], dtype=np.float64) for w in wins]
    return out, channels, len(out) * len(channels)


def harqa(windows: list[np.ndarray], channels: tuple) -> list[str]:
    """Trends + features + a sentence for every channel-window (all windows batched)."""
    names = [f"{ch.location} {ch.axis}-axis {ch.modality}" for ch in channels]
    return [sentence(s, name)
            for per_window in features.summarize_windows(windows, RATE, channels)
            for s, name in zip(per_window, names)]


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed-sample", type=int, default=300,
                    help="channel-windows timed for the seed-style implementation")
    ap.add_argument("--experiments", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side; the fastest counts")
    args = ap.parse_args()
    if not HAPT.is_dir():
        sys.exit(f"{HAPT} not found: the speed benchmark needs the real HAPT recordings")
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {}
    for stage, label in ((1, "stage 1, random 5–200 samples"), (2, "stage 2, 128 samples")):
        wins, channels, n_items = load(stage, list(range(1, args.experiments + 1)))
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            texts = harqa(wins, channels)
            best = min(best, time.perf_counter() - start)
        ours = n_items / best
        pick = np.linspace(0, n_items - 1, min(args.seed_sample, n_items)).astype(int)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            for i in pick:
                w, c = divmod(int(i), len(channels))
                seed_style(wins[w][:, c], RATE, "normalized waist sensor")
            best = min(best, time.perf_counter() - start)
        theirs = len(pick) / best
        mean_len = float(np.mean([w.shape[0] for w in wins]))
        results[f"stage{stage}"] = {"channel_windows": n_items, "windows": len(wins),
                                    "mean_samples": mean_len, "harqa_cw_per_s": ours,
                                    "seed_style_cw_per_s": theirs, "ratio": ours / theirs,
                                    "seed_style_timed_on": len(pick), "example": texts[len(texts) // 2]}
        print(f"{label}: {n_items:,} channel-windows (mean {mean_len:.0f} samples)")
        print(f"  harqa (robust trends + features + sentence): {ours:>10,.0f} channel-windows/s")
        print(f"  seed-style pandas (timed on {len(pick)}):      {theirs:>10,.1f} channel-windows/s")
        print(f"  ratio: {ours / theirs:,.0f}×   (target ≥ 200×)")
        print(f"  e.g. {texts[len(texts) // 2]}")
    (RESULTS / "speed.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
