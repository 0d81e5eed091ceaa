"""Speed of trends + features + a stage-1 sentence against a seed-notebook-style pandas version.

Usage: ``python benchmarks/bench_speed.py [--seed-sample 300]``. Both sides describe the
same real HAPT channel-windows; the seed-style side (per-sample DataFrame rows, an
``iterrows`` merge, ``str.format`` sentences, as the SensorLLM notebook does) is timed on
an evenly spaced sample of them because it is slow. Prints channel-windows per second for
both and the ratio, and writes ``benchmarks/results/speed.json``.
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


def load(stage: int, experiments: list[int]) -> tuple[list[tuple[np.ndarray, object]], int]:
    """Channel-windows ``(series, channel)`` of real HAPT recordings, and the window count."""
    out, n_windows = [], 0
    for rec in uci_har.read(HAPT, experiments=experiments):
        wins = (stage1_windows(rec, "train", 0, (5, 200), 1) if stage == 1
                else stage2_windows(rec, "train", 128, 64))
        n_windows += len(wins)
        for c, ch in enumerate(rec.channels):
            out += [(np.asarray(rec.values[w.start:w.end, c], dtype=np.float64), ch) for w in wins]
    return out, n_windows


def harqa(items: list[tuple[np.ndarray, object]]) -> list[str]:
    """Trends + features + a sentence for every channel-window, batched per channel."""
    by_channel: dict[object, list[int]] = {}
    for i, (_, ch) in enumerate(items):
        by_channel.setdefault(ch, []).append(i)
    out: list[str] = [""] * len(items)
    for ch, idx in by_channel.items():
        summaries = features.summarize_batch([items[i][0] for i in idx], RATE, ch)
        name = f"{ch.location} {ch.axis}-axis {ch.modality}"
        for i, s in zip(idx, summaries):
            out[i] = sentence(s, name)
    return out


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed-sample", type=int, default=300,
                    help="channel-windows timed for the seed-style implementation")
    ap.add_argument("--experiments", type=int, default=4)
    args = ap.parse_args()
    if not HAPT.is_dir():
        sys.exit(f"{HAPT} not found: the speed benchmark needs the real HAPT recordings")
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {}
    for stage, label in ((1, "stage 1, random 5–200 samples"), (2, "stage 2, 128 samples")):
        items, n_windows = load(stage, list(range(1, args.experiments + 1)))
        start = time.perf_counter()
        texts = harqa(items)
        ours = len(items) / (time.perf_counter() - start)
        pick = np.linspace(0, len(items) - 1, min(args.seed_sample, len(items))).astype(int)
        start = time.perf_counter()
        for i in pick:
            seed_style(items[i][0], RATE, "normalized waist sensor")
        theirs = len(pick) / (time.perf_counter() - start)
        mean_len = float(np.mean([v.size for v, _ in items]))
        results[f"stage{stage}"] = {"channel_windows": len(items), "windows": n_windows,
                                    "mean_samples": mean_len, "harqa_cw_per_s": ours,
                                    "seed_style_cw_per_s": theirs, "ratio": ours / theirs,
                                    "seed_style_timed_on": len(pick), "example": texts[len(texts) // 2]}
        print(f"{label}: {len(items):,} channel-windows (mean {mean_len:.0f} samples)")
        print(f"  harqa (robust trends + features + sentence): {ours:>10,.0f} channel-windows/s")
        print(f"  seed-style pandas (timed on {len(pick)}):      {theirs:>10,.1f} channel-windows/s")
        print(f"  ratio: {ours / theirs:,.0f}×   (target ≥ 200×)")
        print(f"  e.g. {texts[len(texts) // 2]}")
    (RESULTS / "speed.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
