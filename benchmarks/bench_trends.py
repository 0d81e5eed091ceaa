"""Trend accuracy on synthetic ground truth per method and noise level, and on real HAPT windows.

Usage: ``python benchmarks/bench_trends.py [--signals 500] [--seed 2026]``. Prints a table,
writes ``benchmarks/results/trends_accuracy.json`` and a plot of real windows with their
segments, ``benchmarks/results/trends_real_windows.png``.
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

from generators import synthetic, trends  # noqa: E402
from generators.readers import uci_har  # noqa: E402
from generators.trend_methods import TREND_METHODS  # noqa: E402
from generators.types import Channel, Window  # noqa: E402
from generators.windows import stage2_windows  # noqa: E402

HAPT = ROOT.parent / "shared" / "data" / "uci-hapt"
RESULTS = ROOT / "benchmarks" / "results"
RATE = 50.0
TOLERANCE_S = 0.15
TARGETS = {0.1: (0.95, 0.90), 0.3: (0.85, 0.65)}


def accuracy(method: str, sigma: float, n_signals: int, seed: int, rate: float = RATE
             ) -> dict[str, float]:
    """Direction accuracy (pooled over samples), breakpoint F1 and detected/true segments."""
    sigs = [synthetic.piecewise_linear(seed, str(i), sample_rate_hz=rate, noise_sigma=sigma)
            for i in range(n_signals)]
    detected = trends.detect_batch([s.values for s in sigs], rate, method)
    right = total = tp = fp = fn = n_true = n_found = 0
    for sig, segs in zip(sigs, detected):
        n = sig.values.size
        right += int(round(synthetic.direction_accuracy(sig.segments, segs, n, rate) * n))
        total += n
        a, b, c = synthetic.match_breakpoints(sig.breakpoints_s, synthetic.breakpoints(segs),
                                              TOLERANCE_S)
        tp, fp, fn = tp + a, fp + b, fn + c
        n_true += len(sig.segments)
        n_found += len(segs)
    return {"direction_accuracy": right / total, "breakpoint_f1": synthetic.f1(tp, fp, fn),
            "detected_per_true": n_found / n_true}


def real_windows(experiments: list[int], length: int = 128, stride: int = 64
                 ) -> list[tuple[Window, np.ndarray, tuple[Channel, ...]]]:
    """Stage-2 windows of real HAPT recordings: (window, samples × channels, channels)."""
    out = []
    for rec in uci_har.read(HAPT, experiments=experiments):
        for w in stage2_windows(rec, "train", length, stride):
            out.append((w, np.asarray(rec.values[w.start:w.end], dtype=np.float64), rec.channels))
    return out


def segments_per_second(wins, method: str) -> tuple[float, float]:
    """Segments per second of signal and channel-windows segmented per second of CPU."""
    series = [v[:, c] for _, v, chans in wins for c in range(len(chans))]
    start = time.perf_counter()
    segs = trends.detect_batch(series, RATE, method)
    elapsed = time.perf_counter() - start
    seconds = sum((s.size - 1) / RATE for s in series)
    return sum(map(len, segs)) / seconds, len(series) / elapsed


def plot(wins, path: Path) -> None:
    """A few real windows (acc x) with the robust segments overlaid, and the seed's count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wanted = ["WALKING", "WALKING_UPSTAIRS", "SIT_TO_STAND", "SITTING", "STANDING", "LAYING"]
    first = {}
    for item in wins:
        first.setdefault(item[0].activity, item)
    picks = [first[a] for a in wanted if a in first]
    colours = {"up": "tab:green", "down": "tab:red", "steady": "tab:blue"}
    fig, axes = plt.subplots(len(picks), 1, figsize=(9, 2.2 * len(picks)), squeeze=False)
    for ax, (w, v, chans) in zip(axes[:, 0], picks):
        x = v[:, 0]
        t = np.arange(x.size) / RATE
        robust = trends.detect(x, RATE, "robust")
        seed_count = len(trends.detect(x, RATE, "sensorllm"))
        ax.plot(t, x, color="0.6", lw=1, label="signal")
        for s in robust:
            ax.plot([s.start_s, s.end_s], [s.start_value, s.end_value], color=colours[s.direction],
                    lw=2.5)
            ax.axvline(s.start_s, color="0.85", lw=0.8, zorder=0)
        ax.set_title(f"{w.activity} — {chans[0].name} ({chans[0].unit}): robust {len(robust)} "
                     f"segment{'s' * (len(robust) != 1)}, sensorllm {seed_count}", fontsize=9)
        ax.tick_params(labelsize=8)
    axes[-1, 0].set_xlabel("time from window start (s)  —  green up, red down, blue steady")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--signals", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"params": {"robust": trends.trend_params("robust"),
                                             "signals": args.signals, "seed": args.seed,
                                             "rate_hz": RATE, "tolerance_s": TOLERANCE_S}}
    rows = []
    print(f"Synthetic piecewise-linear signals at {RATE:g} Hz, {args.signals} per noise level "
          f"(1–5 segments ≥ 0.3 s, rises 1–3, steady segments included)")
    print(f"{'method':<10} {'sigma':>5} {'dir.acc':>8} {'bp F1':>7} {'det/true':>9}  target")
    for sigma in (0.0, 0.1, 0.2, 0.3, 0.5):
        for method in TREND_METHODS.names():
            r = accuracy(method, sigma, args.signals, args.seed)
            target = TARGETS.get(sigma)
            verdict = ""
            if target and method == trends.DEFAULT_METHOD:
                ok = r["direction_accuracy"] >= target[0] and r["breakpoint_f1"] >= target[1]
                verdict = f"≥{target[0]:.2f} / ≥{target[1]:.2f}: {'met' if ok else 'MISSED'}"
            print(f"{method:<10} {sigma:>5.1f} {r['direction_accuracy']:>8.3f} "
                  f"{r['breakpoint_f1']:>7.3f} {r['detected_per_true']:>9.2f}  {verdict}")
            rows.append({"method": method, "sigma": sigma, **r})
    print("same signals sampled at 100 Hz (the cutoff and durations are in Hz and s):")
    for sigma in TARGETS:
        r = accuracy(trends.DEFAULT_METHOD, sigma, args.signals, args.seed, rate=100.0)
        print(f"{trends.DEFAULT_METHOD:<10} {sigma:>5.1f} {r['direction_accuracy']:>8.3f} "
              f"{r['breakpoint_f1']:>7.3f} {r['detected_per_true']:>9.2f}  (100 Hz)")
        rows.append({"method": trends.DEFAULT_METHOD, "sigma": sigma, "rate_hz": 100.0, **r})
    results["synthetic"] = rows
    if HAPT.is_dir():
        wins = real_windows(list(range(1, 5)))
        print(f"\nReal HAPT: {len(wins)} windows of 2.56 s × 6 channels (experiments 1–4)")
        real = {}
        for method in TREND_METHODS.names():
            per_s, speed = segments_per_second(wins, method)
            real[method] = {"segments_per_second": per_s, "channel_windows_per_s": speed}
            print(f"{method:<10} {per_s:7.2f} segments per second of signal "
                  f"({speed:,.0f} channel-windows/s)")
        results["real_hapt"] = real
        plot(wins, RESULTS / "trends_real_windows.png")
        print(f"plot: {RESULTS / 'trends_real_windows.png'}")
    else:
        print(f"\n{HAPT} not found: real-window figures skipped")
    (RESULTS / "trends_accuracy.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
