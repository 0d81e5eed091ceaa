"""Train the reference model on a built dataset and measure how well its text follows the signal."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping

import numpy as np

from generators.errors import InputError
from generators.text import TemplatePack
from validation.reference_model import metrics, text_metrics
from validation.reference_model.data import (Rows, all_channel_names, load_rows, part_files,
                                             shuffled_pairing)
from validation.reference_model.decoding import answers, generate
from validation.reference_model.examples import Examples, class_examples, lm_examples
from validation.reference_model.model import build_model, gpt2_config
from validation.reference_model.probes import class_probabilities, forced_direction_accuracy
from validation.reference_model.training import CurvePoint, train
from validation.reference_model.metrics import Timeline
from validation.reference_model.scoring import (AnswerScorer, dataset_packs, stated_timeline,
                                                type_scores)
from validation.reference_model.settings import VerifySettings, settings_for
from validation.reference_model.stability import (firm_rows, label_stability,
                                                  stability_sentence)
from validation.reference_model.tokenization import Binning, SensorTextTokenizer, fit_scaler

OUTPUT_DIR = "reference_model"
"""Folder under the dataset root that receives checkpoints, metrics and the report."""

FORCED = "forced_trend_accuracy"
"""Direction of each reference segment line read from the model under teacher forcing."""

HEADLINE = FORCED
"""The stage-1 metric whose aligned − shuffled difference is the alignment score: it asks
only whether the signal decides the text, which a small model learns within the CPU
budget long before it spells every time right (``trend_accuracy`` scores the latter)."""

FIRM = "trend_accuracy_firm"
"""``trend_accuracy`` on the held-out rows whose answer the signal decides firmly
(``stability.firm_rows``)."""

STAGE2_QA_TYPE = "activity"
"""Stage-2 rows used for classification (their answer is the activity label)."""


@dataclass(frozen=True)
class AlignmentReport:
    """Outcome of one verification run.

    Attributes:
        stage1: ``aligned`` and ``shuffled`` metric dicts, ``gap`` (aligned − shuffled),
            ``chance`` (structural scores of references re-paired at random within their
            QA type), ``label_stability`` (``stability.label_stability``: the trend
            detector's own agreement with the answers from binned or re-noised windows,
            ``None`` without segment answers), ``unavailable`` (metric → reason), ``sizes``
            (``firm_test_rows``: the held-out rows ``FIRM`` scores).
        stage2: ``accuracy``, ``macro_f1``, ``confusion``, ``classes``, ``baselines``
            (majority class, nearest centroid on per-channel mean/std), ``sizes``; or
            ``skipped`` with the reason when the dataset has no stage 2.
        alignment_gap: Aligned minus shuffled ``HEADLINE`` metric.
        seconds: Wall time of the run.
        settings: The settings used.
        output_dir: Where checkpoints, metrics and the report were written.
        curves: Learning curves (``aligned``, ``shuffled``, ``stage2``).
        samples: A few held-out rows with reference and generated answers.
        qa_types: Every QA type's scores (``metrics.TypeScore``), aligned vs shuffled with
            chance.
    """

    stage1: Mapping[str, object]
    stage2: Mapping[str, object]
    alignment_gap: float | None
    seconds: float
    settings: VerifySettings
    output_dir: str
    curves: Mapping[str, tuple[CurvePoint, ...]] = field(default_factory=dict)
    samples: tuple[Mapping[str, str], ...] = ()
    qa_types: tuple[metrics.TypeScore, ...] = ()

    def to_json(self) -> dict:
        """JSON-ready dict (the ``harqa verify --format json`` output)."""
        return {"stage1": self.stage1, "stage2": self.stage2,
                "alignment_gap": self.alignment_gap, "seconds": self.seconds,
                "settings": self.settings.to_dict(), "output_dir": self.output_dir,
                "curves": {k: [vars(p) for p in v] for k, v in self.curves.items()},
                "qa_types": [t.to_json() for t in self.qa_types]}


def _check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device", f"device {device!r} asked for, but torch sees no CUDA "
                                     "device; use --device cpu")


@contextmanager
def _torch_settings(threads: int, device: str) -> Iterator[None]:
    """Run with ``threads`` torch CPU threads (0: unchanged) and, on CUDA, TF32 matrix
    products; both restored afterwards."""
    import torch

    before = torch.get_num_threads(), torch.get_float32_matmul_precision()
    if threads:
        torch.set_num_threads(threads)
    if device.startswith("cuda"):
        # tensor cores: fp32 products of a model this small are bound by launches, not
        # precision, and TF32 keeps fp32's range
        torch.set_float32_matmul_precision("high")
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.set_float32_matmul_precision(before[1])


def _subjects(rows: Rows) -> list[str]:
    return sorted(set(rows.subject), key=lambda s: (len(s), s))


def _typed_rows(dataset_dir: Path, s: VerifySettings, split: str, limit: int
                ) -> dict[int, Rows]:
    """Rows of every QA type beyond the trend rows, at most ``limit`` of each: the stage-1
    types outside ``s.stage1_qa_types`` (none when that is empty: all are trend rows) and
    the stage-2 types answered in text; by stage, stages without parts left out."""
    out = {}
    for stage, exclude in ((1, s.stage1_qa_types), (2, (STAGE2_QA_TYPE,))):
        if not limit or (stage == 1 and not exclude):
            continue
        try:
            rows = load_rows(dataset_dir, stage, split, limit, s.seed, exclude=exclude,
                             per_type=True)
        except InputError:
            continue
        if len(rows):
            out[stage] = rows
    return out


def _stage1(dataset_dir: Path, settings: VerifySettings, out: Path,
            packs: Mapping[str, TemplatePack], log: Callable[[str], None]
            ) -> tuple[dict, dict, SensorTextTokenizer]:
    """Train the aligned and shuffled language models on the trend rows and the other QA
    types' rows, and score both on held-out rows."""
    from transformers import set_seed

    s = settings
    trend_train = load_rows(dataset_dir, 1, "train", s.stage1_train_rows, s.seed,
                            s.stage1_qa_types)
    trend_test = load_rows(dataset_dir, 1, "test", s.stage1_test_rows, s.seed, s.stage1_qa_types)
    typed_train = _typed_rows(dataset_dir, s, "train", s.type_train_rows)
    typed_test = _typed_rows(dataset_dir, s, "test", s.type_test_rows)
    train_rows, test_rows = trend_train, trend_test
    stage_of = dict.fromkeys(trend_test.qa_type, 1)
    for stage in sorted(typed_test):
        test_rows = test_rows + typed_test[stage]
        stage_of.update(dict.fromkeys(typed_test[stage].qa_type, stage))
    for stage in sorted(typed_train):
        train_rows = train_rows + typed_train[stage]
    n_trend = len(trend_test)
    scorer = AnswerScorer(packs, [*test_rows.activity, *test_rows.next_activity])
    names = all_channel_names(dataset_dir)
    tok = SensorTextTokenizer.train([*train_rows.question, *train_rows.answer], names,
                                    Binning(s.n_bins, s.clip, s.stage1_pool), s.text_vocab)
    tok.save(out / "tokenizer")
    train_ex = lm_examples(tok, train_rows, scorer.timelines(train_rows))
    test_ex = lm_examples(tok, test_rows)
    trend_ex, typed_ex = test_ex.head(n_trend), test_ex.tail(n_trend)
    held_out = test_ex.head(s.eval_rows)
    max_new = int(min(s.max_answer_tokens, max(len(t) for t in train_ex.targets) + 8))
    n_positions = int(max(train_ex.lengths(True).max(), max(map(len, test_ex.prompts)) + max_new,
                          max(map(len, held_out.prompts)) + max(map(len, held_out.targets))))
    refs = list(trend_test.answer)
    truths = scorer.truths(test_rows)
    ref_lines = [stated_timeline(t.values) if t else None for t in truths[:n_trend]]
    spans = scorer.direction_spans(trend_test)
    words = scorer.direction_words(trend_test.qa_type[0]) if n_trend else {}
    # max_answer_tokens 0 (the quick preset): nothing generated, teacher-forced measures only
    sbert = text_metrics.SbertScorer(s.device) if max_new else None
    results, curves, unavailable, generated, per_row = {}, {}, {}, {}, {}
    if not max_new:
        unavailable["generated answers"] = ("max_answer_tokens 0 (preset quick): only the "
                                            "teacher-forced measures are scored")
    for kind in ("aligned", "shuffled"):
        rows = train_rows if kind == "aligned" else shuffled_pairing(train_rows, s.seed)
        examples = (train_ex if kind == "aligned"
                    else lm_examples(tok, rows, scorer.timelines(rows)))
        config = gpt2_config(s, tok.vocab_size, _round_up(n_positions, 64), tok.pad_id,
                             tok.eos_id)
        set_seed(s.seed)
        model = build_model(config, tok, s.value_kernel)
        t0 = time.perf_counter()
        curve = train(model, examples, held_out, tok.pad_id, True, s, s.stage1_steps,
                      lambda p, k=kind: log(f"stage 1 {k}: step {p.step}, train loss "
                                            f"{p.train_loss:.3f}, held-out {p.eval_loss:.3f}"))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()

        def read(i: int, text: str) -> Timeline | None:
            return stated_timeline(scorer.read(scorer.row(trend_test, i, text)))

        hyps = answers(model, tok, trend_ex, trend_test, max_new, s, read) if max_new else []
        if len(typed_ex.prompts) and max_new:
            hyps += [tok.decode(g) for g in generate(model, typed_ex, tok.pad_id, tok.eos_id,
                                                     max_new, s)]
        gen_s = time.perf_counter() - t0
        text, reasons = (text_metrics.text_metrics(hyps[:n_trend], refs, sbert) if hyps
                         else ({}, {}))
        unavailable.update(reasons)
        forced = forced_direction_accuracy(model, tok, trend_ex, refs, spans, words, s)
        scored = [scorer.score(t, h) if t else ({}, False) for t, h in zip(truths, hyps)]
        per_row[kind] = scored
        gen_lines = [stated_timeline(scorer.read(scorer.row(trend_test, i, h)))
                     for i, h in enumerate(hyps[:n_trend])]
        results[kind] = {**text, **(metrics.trend_metrics(ref_lines, gen_lines) if hyps else {}),
                         FORCED: forced,
                         "reference_parsed": (sum(t is not None for t in truths) / len(truths)
                                              if truths else None),
                         "train_seconds": round(train_s, 2),
                         "generate_seconds": round(gen_s, 2)}
        curves[kind] = tuple(curve)
        generated[kind] = hyps
        model.save_pretrained(out / f"stage1_{kind}")
        _write_predictions(out / f"stage1_{kind}" / "predictions.jsonl", test_rows, hyps)
        log(f"stage 1 {kind}: {HEADLINE} {results[kind][HEADLINE]}")
    stability = label_stability(trend_test, ref_lines, tok.binning, seed=s.seed)
    if stability is not None:
        log(stability_sentence(stability))
    firm = firm_rows(trend_test, ref_lines, seed=s.seed)
    firm_lines = [ref_lines[i] for i in firm]
    for kind, hyps in generated.items():
        results[kind][FIRM] = metrics.trend_metrics(firm_lines, [
            stated_timeline(scorer.read(scorer.row(trend_test, i, hyps[i]))) for i in firm]
            )["trend_accuracy"] if firm and hyps else None
        log(f"stage 1 {kind}: {FIRM} {results[kind][FIRM]} ({len(firm)} rows)")
    other = metrics.repairing(trend_test.qa_type, s.seed)
    chance = metrics.trend_metrics(ref_lines, [ref_lines[o] for o in other])
    firm_other = metrics.repairing([trend_test.qa_type[i] for i in firm], s.seed)
    chance[FIRM] = metrics.trend_metrics(firm_lines, [firm_lines[o] for o in firm_other]
                                         )["trend_accuracy"] if firm else None
    types = type_scores(test_rows, truths, per_row, stage_of, s.seed) if max_new else ()
    stage1 = {**results, "gap": metrics.gaps(results["aligned"], results["shuffled"]),
              "chance": chance,
              "label_stability": stability,
              "unavailable": unavailable,
              "sizes": {"train_rows": len(trend_train), "test_rows": n_trend,
                        "type_train_rows": len(train_rows) - len(trend_train),
                        "type_test_rows": len(test_rows) - n_trend,
                        "firm_test_rows": len(firm),
                        "train_tokens": int(train_ex.lengths(True).sum()),
                        "train_subjects": _subjects(train_rows),
                        "test_subjects": _subjects(test_rows),
                        "subject_overlap": sorted(set(train_rows.subject)
                                                  & set(test_rows.subject)),
                        "vocab_size": tok.vocab_size, "n_positions": config.n_positions,
                        "parameters": int(sum(p.numel() for p in model.parameters())),
                        "max_answer_tokens": max_new}}
    samples = tuple({"qa_type": test_rows.qa_type[i], "question": test_rows.question[i],
                     "reference": refs[i], "generated": generated["aligned"][i]}
                    for i in range(min(3, len(generated["aligned"]))))
    return stage1, {"curves": curves, "samples": samples, "qa_types": types}, tok


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


def _write_predictions(path: Path, rows: Rows, hyps: list[str]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for rid, q, a, h in zip(rows.row_id, rows.qa_type, rows.answer, hyps):
            f.write(json.dumps({"row_id": rid, "qa_type": q, "reference": a, "generated": h})
                    + "\n")


def _stage2(dataset_dir: Path, settings: VerifySettings, out: Path,
            log: Callable[[str], None]) -> tuple[dict, tuple[CurvePoint, ...]]:
    """The activity classifier beside two baselines: ``stage2_seeds`` classifiers of the
    same architecture trained from scratch from successive seeds, their class
    probabilities averaged."""
    from transformers import set_seed

    s = settings
    try:
        part_files(dataset_dir, 2, "train")
        part_files(dataset_dir, 2, "test")
    except InputError as exc:
        return {"skipped": str(exc)}, ()
    train_rows = load_rows(dataset_dir, 2, "train", s.stage2_train_rows, s.seed, [STAGE2_QA_TYPE])
    test_rows = load_rows(dataset_dir, 2, "test", s.stage2_test_rows, s.seed, [STAGE2_QA_TYPE])
    if not len(train_rows) or not len(test_rows):
        return {"skipped": f"no stage-2 {STAGE2_QA_TYPE!r} rows in train or test"}, ()
    classes = sorted(set(train_rows.activity))
    scale = fit_scaler(train_rows.series, train_rows.channel_names)
    # a vocabulary of sensor tokens only: the classifier reads no text, and its token ids
    # (hence its seeded initialisation) must not move when the dataset's wording does
    view = SensorTextTokenizer.train([], all_channel_names(dataset_dir),
                                     Binning(s.n_bins, s.clip, s.stage2_pool, "dataset"),
                                     0, scale)
    view.save(out / "stage2_tokenizer")
    train_ex = class_examples(view, train_rows, classes)
    test_ex = class_examples(view, test_rows, classes)
    known = np.array([t[0] >= 0 for t in test_ex.targets])
    width = int(max(train_ex.lengths(False).max(), test_ex.lengths(False).max()))
    config = gpt2_config(s, view.vocab_size, _round_up(width, 64), view.pad_id, view.eos_id,
                         num_labels=len(classes))
    held_out = test_ex.head(s.eval_rows * 4)
    held_out = Examples(*(tuple(x for x, k in zip(seq, known) if k) for seq in
                          (held_out.prompts, held_out.targets, held_out.times)))
    probs, curves = [], []
    for seed in range(s.seed, s.seed + s.stage2_seeds):
        set_seed(seed)
        model = build_model(config, view, s.value_kernel, classifier=True)
        curves.append(train(model, train_ex, held_out, view.pad_id, False, replace(s, seed=seed),
                            s.stage2_steps,
                            lambda p, k=seed: log(f"stage 2 (seed {k}): step {p.step}, train "
                                                  f"loss {p.train_loss:.3f}, held-out "
                                                  f"{p.eval_loss:.3f}")))
        model.save_pretrained(out / "stage2_classifier" / f"seed_{seed}")
        probs.append(class_probabilities(model, test_ex, view.pad_id, s))
    true = np.array([t[0] for t in test_ex.targets])
    ytrain = np.array([t[0] for t in train_ex.targets])
    n = len(classes)
    # a test activity never seen in training is scored as a miss of its own extra class
    labels = classes + sorted({a for a in test_rows.activity if a not in classes})
    true_all = np.array([labels.index(a) for a in test_rows.activity])
    preds = {"model": np.mean(probs, axis=0).argmax(1),
             "majority_class": metrics.majority(ytrain, len(true), n),
             "nearest_centroid": metrics.nearest_centroid(
                 metrics.window_features(train_rows.series), ytrain,
                 metrics.window_features(test_rows.series), n)}
    scored = {k: metrics.classification_metrics(true_all, p, labels) for k, p in preds.items()}
    result = {**scored["model"], "classes": labels,
              "baselines": {k: {m: v[m] for m in ("accuracy", "macro_f1")}
                            for k, v in scored.items() if k != "model"},
              "sizes": {"train_rows": len(train_rows), "test_rows": len(test_rows),
                        "unseen_test_rows": int((~known).sum()),
                        "train_subjects": _subjects(train_rows),
                        "test_subjects": _subjects(test_rows),
                        "tokens_per_window": width}}
    log(f"stage 2: accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
    # the ensemble's curve: the members' losses averaged at each point
    return result, tuple(CurvePoint(points[0].step, float(np.mean([q.train_loss for q in points])),
                                    float(np.mean([q.eval_loss for q in points])))
                         for points in zip(*curves))


def verify(dataset_dir: Path, settings: VerifySettings | None = None,
           templates_dir: Path | None = None,
           log: Callable[[str], None] | None = None) -> AlignmentReport:
    """Train the reference model on a dataset and score it on held-out subjects.

    Stage 1: a GPT-2-style model learns to answer from binned sensor tokens and the
    question (the trend rows, and rows of every other QA type the dataset has, stage 2's
    text answers included), once on the real pairs and once on pairs shuffled at random
    within each QA type; both answer the held-out (test-split) questions. Trend answers
    are scored with the text and structural metrics, every QA type's answers by what
    they state against the rows' facts (``scoring``, read with the semantic checks'
    template reader). Stage 2: a classifier of the same architecture predicts the
    activity, beside a majority-class and a nearest-centroid baseline. Everything is
    written under ``<dataset_dir>/reference_model/``.

    Args:
        dataset_dir: A dataset written by ``harqa build``.
        settings: Run settings (default: the CPU preset).
        templates_dir: Template overlay the dataset was built with (the answers are read
            along it); default: the packs the dataset carries.
        log: Progress messages.

    Returns:
        The report.

    Raises:
        InputError: Missing or malformed dataset parts, stored template packs missing or
            altered, or an unavailable device.
    """
    t_start = time.perf_counter()
    settings = settings or settings_for("cpu")
    log = log or (lambda message: None)
    dataset_dir = Path(dataset_dir)
    _check_device(settings.device)
    out = dataset_dir / OUTPUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    packs = dataset_packs(templates_dir, dataset_dir)
    with _torch_settings(settings.threads, settings.device):
        stage1, extra, tok = _stage1(dataset_dir, settings, out, packs, log)
        stage2, curve2 = _stage2(dataset_dir, settings, out, log)
    gap = stage1["gap"].get(HEADLINE)
    curves = {**extra["curves"], **({"stage2": curve2} if curve2 else {})}
    types = list(extra["qa_types"])
    if "accuracy" in stage2:
        types.append(metrics.TypeScore(
            STAGE2_QA_TYPE, 2, "accuracy", True, stage2["accuracy"], None,
            stage2["baselines"]["majority_class"]["accuracy"], "majority class",
            stage2["sizes"]["test_rows"], {}))
    report = AlignmentReport(stage1, stage2, gap, round(time.perf_counter() - t_start, 2),
                             settings, str(out), curves, extra["samples"], tuple(types))
    from validation.reference_model.report import write_outputs

    write_outputs(report, out, dataset_dir)
    return report
