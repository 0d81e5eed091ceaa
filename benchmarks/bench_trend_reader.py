"""Benchmark: how well a per-sample reader alone learns the stage-1 trend text (a ceiling).

Usage: ``python benchmarks/bench_trend_reader.py [DATASET] [--steps 1500] [--width 64]``.

The reference model (``harqa verify``) must read each sample's trend direction from the
signal before it can write a true answer. This trains the simplest strong reader for
that alone, on the same rows and the same inputs: a seeded dilated 1-D CNN over the
binned, per-window standardized values of each one-channel ``trend_analysis`` row
(``tokenization.quantize``, as the reference model sees them; ``--inputs raw`` gives it
the unbinned standardized values instead), labelled at every sample with the direction
the row's answer states there. It reports the reader's timeline agreement
(``metrics.timeline_agreement``, the reference model's ``trend_accuracy``) on the
held-out subject's rows and on as many training rows, so a figure of the reference
model can be set beside what a model given the whole training time for reading alone
reaches. Writes ``benchmarks/results/trend_reader.json``.
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

from validation.reference_model import metrics  # noqa: E402
from validation.reference_model.data import Rows, load_rows  # noqa: E402
from validation.reference_model.parsing import AnswerParser, direction_words  # noqa: E402
from validation.reference_model.settings import settings_for  # noqa: E402
from validation.reference_model.tokenization import Binning, quantize  # noqa: E402

QA_TYPE = "trend_analysis"
"""The stage-1 QA type the reference model is scored on (``VerifySettings.stage1_qa_types``)."""

DILATIONS = (1, 2, 4, 8, 16, 32)
"""Dilations of the residual convolutions: a receptive field of 257 samples, more than the
longest stage-1 window, so every decision may use the whole window (noise, range)."""


def examples(rows: Rows, binning: Binning, raw: bool, parser: AnswerParser
             ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(standardized input, per-sample direction index or −1, sample rate) of each row."""
    out = []
    for series, rate, answer in zip(rows.series, rows.sample_rate_hz, rows.answer):
        x = series[:1].astype(np.float64)
        if raw:
            std = x.std() or 1.0
            z = np.clip((x[0] - x.mean()) / std, -binning.clip, binning.clip)
        else:  # the bin centres, in standard deviations
            z = binning.centres()[quantize(x, binning)[0]] * binning.clip
        times = (np.arange(x.shape[1]) + 0.5) / rate
        out.append((z.astype(np.float32), metrics.direction_at(parser.parse(answer), times),
                    float(rate)))
    return out


def build_reader(width: int):
    """The dilated CNN: input value and mask in, three direction logits per sample out."""
    import torch
    from torch import nn

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = nn.Conv1d(2, width, 5, padding=2)
            self.blocks = nn.ModuleList(nn.Conv1d(width, width, 5, padding=2 * d, dilation=d)
                                        for d in DILATIONS)
            self.out = nn.Conv1d(width, 3, 1)

        def forward(self, x, mask):
            h = torch.relu(self.inp(torch.stack([x, mask], 1))) * mask[:, None]
            for block in self.blocks:  # masked so padding never reads as signal
                h = (h + torch.relu(block(h))) * mask[:, None]
            return self.out(h)

    return Reader()


def batch(data: list, index: np.ndarray):
    """Padded inputs, labels (−1 on padding) and mask of the rows in ``index``."""
    import torch

    length = max(data[i][0].size for i in index)
    x = np.zeros((len(index), length), np.float32)
    y = np.full((len(index), length), -1, np.int64)
    mask = np.zeros((len(index), length), np.float32)
    for r, i in enumerate(index):
        n = data[i][0].size
        x[r, :n], y[r, :n], mask[r, :n] = data[i][0], data[i][1], 1.0
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask)


def timeline_accuracy(reader, data: list, rows: Rows, parser: AnswerParser) -> float:
    """Mean timeline agreement of the reader's per-sample directions with each answer."""
    import torch

    with torch.no_grad():
        inputs, _, mask = batch(data, np.arange(len(data)))
        labels = reader(inputs, mask).argmax(1).numpy()
    scores = []
    for (x, _, rate), lab, answer in zip(data, labels, rows.answer):
        ref = parser.parse(answer)
        if ref.directions:
            # the last sample starts no change within the window (as ``run._guides``)
            scores.append(metrics.timeline_agreement(
                ref, metrics.timeline(lab[:x.size - 1], 1 / rate)))
    return float(np.mean(scores)) if scores else float("nan")


def main() -> None:
    """Train the reader and print (and write) its held-out and training-row figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", type=Path, default=Path("output/uci_har"),
                    help="dataset written by `harqa build` (default: the demo output/uci_har)")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch-rows", type=int, default=32)
    ap.add_argument("--rows", type=int, default=None,
                    help="most training rows (default: the reference model's stage1_train_rows)")
    ap.add_argument("--inputs", choices=("binned", "raw"), default="binned")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/trend_reader.json")
    args = ap.parse_args()
    if not (args.dataset / "stage1").is_dir():
        raise SystemExit(f"{args.dataset}: no dataset; run `harqa build` first")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    s = settings_for("cpu")  # the reference model's rows, seed and binning
    torch.manual_seed(s.seed)
    parser = AnswerParser(direction_words(None))
    binning = Binning(s.n_bins, s.clip, 1)
    train_rows = load_rows(args.dataset, 1, "train", args.rows or s.stage1_train_rows, s.seed,
                           (QA_TYPE,))
    test_rows = load_rows(args.dataset, 1, "test", s.stage1_test_rows, s.seed, (QA_TYPE,))
    raw = args.inputs == "raw"
    train, test = (examples(r, binning, raw, parser) for r in (train_rows, test_rows))
    reader = build_reader(args.width)
    opt = torch.optim.AdamW(reader.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=args.steps)
    rng = np.random.default_rng(s.seed)
    start = time.process_time()
    for _ in range(args.steps):
        x, y, mask = batch(train, rng.choice(len(train), args.batch_rows, replace=False))
        loss = torch.nn.functional.cross_entropy(reader(x, mask), y, ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    train_cpu_s = time.process_time() - start
    reader.eval()
    fit_rows = train_rows.take(range(min(len(test_rows), len(train_rows))))
    figures = {
        "dataset": str(args.dataset), "inputs": args.inputs, "steps": args.steps,
        "width": args.width, "batch_rows": args.batch_rows,
        "train_rows": len(train_rows), "test_rows": len(test_rows),
        "train_cpu_seconds": round(train_cpu_s, 1),
        "test_trend_accuracy": timeline_accuracy(reader, test, test_rows, parser),
        "train_rows_trend_accuracy": timeline_accuracy(reader, train[:len(fit_rows)],
                                                       fit_rows, parser),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
