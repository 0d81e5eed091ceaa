"""Benchmark: how well a reader alone learns the stage-1 trend text (a ceiling).

Usage: ``python benchmarks/bench_trend_reader.py [DATASET] [--steps 1500] [--width 64]
[--reader cnn|span] [--rows N] [--trend-param NAME=VALUE]``.

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
reaches. ``--reader span`` reads whole segments instead of samples: the same CNN scores
every span of the window for each direction (its two ends and the mean of learned
features between them) and a semi-Markov CRF, trained on the answer's segments, picks
the best segmentation (neighbours differ in direction) by Viterbi. ``--trend-param
NAME=VALUE`` (repeatable) asks how learnable another detector setting's text would be:
each row is then labelled with what the detector that wrote it finds on its window with
that parameter changed. Writes ``benchmarks/results/trend_reader.json``.
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

from generators.types import DIRECTIONS  # noqa: E402
from validation.reference_model import metrics  # noqa: E402
from validation.reference_model.data import Rows, load_rows  # noqa: E402
from validation.reference_model.metrics import Timeline  # noqa: E402
from validation.reference_model.scoring import AnswerScorer, dataset_packs  # noqa: E402
from validation.reference_model.settings import settings_for  # noqa: E402
from validation.reference_model.stability import detected_timeline, redetect  # noqa: E402
from validation.reference_model.tokenization import Binning, quantize  # noqa: E402

QA_TYPE = "trend_analysis"
"""The stage-1 QA type the reference model is scored on (``VerifySettings.stage1_qa_types``)."""

DILATIONS = (1, 2, 4, 8, 16, 32)
"""Dilations of the residual convolutions: a receptive field of 257 samples, more than the
longest stage-1 window, so every decision may use the whole window (noise, range)."""


def references(rows: Rows, scorer: AnswerScorer, relabel: dict[str, object]) -> list[Timeline]:
    """The trend segments each row's reader is taught and scored against: the ones its
    answer states (read along the dataset's templates; none where unreadable), or with
    ``relabel``, the ones the detector that wrote it finds when rerun on its window with
    those parameters overriding the row's own."""
    if not relabel:
        return [t or Timeline() for t in scorer.timelines(rows)]
    windows = [series[0].astype(np.float64) for series in rows.series]
    return [detected_timeline(found) for found in redetect(windows, rows, relabel)]


def examples(rows: Rows, refs: list[Timeline], binning: Binning, raw: bool
             ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(standardized input, per-sample direction index or −1, sample rate) of each row."""
    out = []
    for series, rate, ref in zip(rows.series, rows.sample_rate_hz, refs):
        x = series[:1].astype(np.float64)
        if raw:
            std = x.std() or 1.0
            z = np.clip((x[0] - x.mean()) / std, -binning.clip, binning.clip)
        else:  # the bin centres, in standard deviations
            z = binning.centres()[quantize(x, binning)[0]] * binning.clip
        times = (np.arange(x.shape[1]) + 0.5) / rate
        out.append((z.astype(np.float32), metrics.direction_at(ref, times), float(rate)))
    return out


SPAN_FEATURES = 16
"""Learned per-sample features a span reader averages between a span's ends."""

NEG = -1e9
"""Log-score of a forbidden step (a segment following one of its own direction)."""


def build_reader(width: int, kind: str = "cnn"):
    """The dilated CNN over input value and mask; ``cnn`` gives three direction logits
    per sample, ``span`` a score per span ``[a, b)`` of label positions and direction
    (batch × 3 × (samples + 1) × (samples + 1); only ``a < b`` is read)."""
    import torch
    from torch import nn

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = nn.Conv1d(2, width, 5, padding=2)
            self.blocks = nn.ModuleList(nn.Conv1d(width, width, 5, padding=2 * d, dilation=d)
                                        for d in DILATIONS)
            if kind == "cnn":
                self.out = nn.Conv1d(width, 3, 1)
            else:
                self.ends = nn.Conv1d(width, 6, 1)  # a span's start and end, per direction
                self.inner = nn.Conv1d(width, SPAN_FEATURES, 1)
                self.mix = nn.Linear(SPAN_FEATURES, 3)
                self.length = nn.Embedding(256, 3)

        def forward(self, x, mask):
            h = torch.relu(self.inp(torch.stack([x, mask], 1))) * mask[:, None]
            for block in self.blocks:  # masked so padding never reads as signal
                h = (h + torch.relu(block(h))) * mask[:, None]
            return self.out(h) if kind == "cnn" else self.spans(h, mask)

        def spans(self, h, mask):
            rows, n = h.shape[0], h.shape[2]
            # The mix is linear, so mixing before the prefix sums gives the mixed means.
            g = torch.einsum("bgn,dg->bdn", torch.tanh(self.inner(h)) * mask[:, None],
                             self.mix.weight)
            prefix = torch.cat([torch.zeros(rows, 3, 1), torch.cumsum(g, 2)], 2)
            pos = torch.arange(n + 1)
            length = (pos[None, :] - pos[:, None]).clamp(min=1)  # [a, b) → b − a
            ends = torch.cat([self.ends(h), torch.zeros(rows, 6, 1)], 2)
            return ((prefix[:, :, None, :] - prefix[:, :, :, None]) / length
                    + self.mix.bias[None, :, None, None] + ends[:, :3, :, None]
                    + ends[:, 3:, None, :] + self.length(length.clamp(max=255)).permute(2, 0, 1))

    return Reader()


def semi_markov(scores, viterbi: bool):
    """Forward pass of the segment CRF over span scores (batch × 3 × N × N).

    Returns per end position ``b`` and direction the log-sum (or, with ``viterbi``, the
    best) over segmentations of ``[0, b)`` whose last segment has that direction, as a
    batch × N × 3 tensor, and with ``viterbi`` the best start of that last segment.
    """
    import torch

    rows, n = scores.shape[0], scores.shape[2]
    other = torch.full((3, 3), 0.0).fill_diagonal_(NEG)
    reduce = (lambda t, dim: t.max(dim).values) if viterbi else torch.logsumexp
    ending, before, starts = [torch.zeros(rows, 3)], [torch.zeros(rows, 3)], []
    for b in range(1, n):
        # before[a][d]: best (or all) segmentations of [0, a) that may precede direction d
        cand = torch.stack(before, 2) + scores[:, :, :b, b]
        if viterbi:
            best, arg = cand.max(2)
            starts.append(arg)
        else:
            best = torch.logsumexp(cand, 2)
        ending.append(best)
        before.append(reduce(best[:, None, :] + other, 2))
    return torch.stack(ending, 1), starts


def span_loss(scores, labels: np.ndarray, n_labels: np.ndarray):
    """Mean negative log-likelihood of each row's segmentation (runs of ``labels``)."""
    import torch

    ending, _ = semi_markov(scores, viterbi=False)
    rows = torch.arange(len(n_labels))
    log_z = torch.logsumexp(ending[rows, torch.as_tensor(n_labels)], 1)
    gold = []
    for r, n in enumerate(n_labels):
        lab = labels[r, :n]
        cut = np.flatnonzero(np.diff(lab)) + 1
        a, b = np.concatenate([[0], cut]), np.concatenate([cut, [n]])
        gold.append(scores[r, lab[a], a, b].sum())
    return (log_z - torch.stack(gold)).mean()


def span_labels(scores, n_labels: np.ndarray) -> list[np.ndarray]:
    """Each row's per-sample directions along its best segmentation (Viterbi)."""
    ending, starts = semi_markov(scores, viterbi=True)
    out = []
    for r, n in enumerate(n_labels):
        lab = np.zeros(n, np.int64)
        b, d = int(n), int(ending[r, n].argmax())
        while b > 0:
            a = int(starts[b - 1][r, d])
            lab[a:b] = d
            if a == 0:
                break
            previous = ending[r, a].clone()
            previous[d] = NEG  # the segment before differs in direction
            b, d = a, int(previous.argmax())
        out.append(lab)
    return out


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


def n_labels(data: list, index: np.ndarray) -> np.ndarray:
    """Labelled positions of each row: the last sample starts no change within the
    window (as ``decoding.guides``)."""
    return np.array([data[i][0].size - 1 for i in index])


def read_directions(reader, data: list, kind: str, chunk: int = 50) -> list[np.ndarray]:
    """The reader's direction at each labelled position of every row."""
    import torch

    out: list[np.ndarray] = []
    with torch.no_grad():
        for lo in range(0, len(data), chunk):
            index = np.arange(lo, min(lo + chunk, len(data)))
            inputs, _, mask = batch(data, index)
            n = n_labels(data, index)
            if kind == "span":
                out += span_labels(reader(inputs, mask), n)
            else:
                out += [lab[:k] for lab, k in zip(reader(inputs, mask).argmax(1).numpy(), n)]
    return out


def timeline_accuracy(reader, data: list, refs: list[Timeline], kind: str) -> float:
    """Mean timeline agreement of the reader's per-sample directions with each reference."""
    scores = []
    for (_, _, rate), lab, ref in zip(data, read_directions(reader, data, kind), refs):
        if ref.directions:
            scores.append(metrics.timeline_agreement(ref, metrics.timeline(lab, 1 / rate)))
    return float(np.mean(scores)) if scores else float("nan")


def steady_share(data: list) -> float:
    """Share of the labelled positions stated steady (a reader that always says steady
    scores about this)."""
    labels = np.concatenate([y[:z.size - 1] for z, y, _ in data])
    known = labels[labels >= 0]
    return float(np.mean(known == DIRECTIONS.index("steady"))) if known.size else float("nan")


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
    ap.add_argument("--reader", choices=("cnn", "span"), default="cnn",
                    help="per-sample directions, or segments by a semi-Markov CRF")
    ap.add_argument("--trend-param", action="append", default=[], metavar="NAME=VALUE",
                    help="relabel: teach and score the directions the trend detector finds "
                         "with this parameter changed (repeatable), not the answers' own")
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
    scorer = AnswerScorer(dataset_packs(None, args.dataset), ())
    binning = Binning(s.n_bins, s.clip, 1)
    train_rows = load_rows(args.dataset, 1, "train", args.rows or s.stage1_train_rows, s.seed,
                           (QA_TYPE,))
    test_rows = load_rows(args.dataset, 1, "test", s.stage1_test_rows, s.seed, (QA_TYPE,))
    relabel = {}
    for item in args.trend_param:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--trend-param {item!r}: expected NAME=VALUE")
        relabel[name] = json.loads(value)
    raw = args.inputs == "raw"
    train_refs, test_refs = (references(r, scorer, relabel) for r in (train_rows, test_rows))
    train, test = (examples(r, refs, binning, raw)
                   for r, refs in ((train_rows, train_refs), (test_rows, test_refs)))
    reader = build_reader(args.width, args.reader)
    opt = torch.optim.AdamW(reader.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=args.steps)
    rng = np.random.default_rng(s.seed)
    # A segmentation needs every position labelled; span batches take rows of similar
    # length (a random run of the rows sorted by length), as scoring spans costs length².
    usable = [i for i, (z, y, _) in enumerate(train) if (y[:z.size - 1] >= 0).all()]
    by_length = sorted(usable, key=lambda i: train[i][0].size)
    start = time.process_time()
    for _ in range(args.steps):
        if args.reader == "span":
            lo = int(rng.integers(0, max(1, len(by_length) - args.batch_rows)))
            index = np.array(by_length[lo:lo + args.batch_rows])
            x, y, mask = batch(train, index)
            loss = span_loss(reader(x, mask), y.numpy(), n_labels(train, index))
        else:
            x, y, mask = batch(train, rng.choice(len(train), args.batch_rows, replace=False))
            loss = torch.nn.functional.cross_entropy(reader(x, mask), y, ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    train_cpu_s = time.process_time() - start
    reader.eval()
    n_fit = min(len(test_rows), len(train_rows))
    figures = {
        "dataset": str(args.dataset), "reader": args.reader, "inputs": args.inputs,
        "relabel": relabel or None, "steps": args.steps, "width": args.width, "batch_rows": args.batch_rows,
        "train_rows": len(train_rows), "test_rows": len(test_rows),
        "span_train_rows": len(usable) if args.reader == "span" else None,
        "train_cpu_seconds": round(train_cpu_s, 1),
        "test_trend_accuracy": timeline_accuracy(reader, test, test_refs, args.reader),
        "train_rows_trend_accuracy": timeline_accuracy(reader, train[:n_fit], train_refs[:n_fit],
                                                       args.reader),
        "test_steady_share": steady_share(test),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
