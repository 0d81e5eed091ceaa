"""Write a verification run's metrics JSON, markdown report, plots and model card."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from validation.reference_model.run import HEADLINE, AlignmentReport
from validation.reference_model.stability import FIRM_DRAWS, stability_sentence

STAGE1_ORDER = ("forced_trend_accuracy", "trend_accuracy", "trend_accuracy_firm",
                "trend_sequence_exact", "segment_count_exact", "boundary_error_s", "bleu1",
                "rouge1", "rougeL", "meteor", "sbert_cosine")
"""Row order of the stage-1 table: structural metrics first, then the paper's text metrics."""


def fmt_value(v: object) -> str:
    """A metric as the report prints it: three decimals, ``n/a`` when unavailable."""
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def plot_curves(curves: Mapping[str, tuple], path: Path) -> None:
    """Training and held-out loss against steps, one line pair per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, title, keys in ((axes[0], "stage 1 language model", ("aligned", "shuffled")),
                            (axes[1], "stage 2 classifier", ("stage2",))):
        for key in keys:
            pts = curves.get(key, ())
            if not pts:
                continue
            steps = [p.step for p in pts]
            line = ax.plot(steps, [p.train_loss for p in pts], label=f"{key} train")[0]
            ax.plot(steps, [p.eval_loss for p in pts], "--", color=line.get_color(),
                    label=f"{key} held-out")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(cm: np.ndarray, classes: list[str], path: Path) -> None:
    """The stage-2 confusion matrix as a heat map with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(classes), 0.8 + 0.6 * len(classes)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if v > cm.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _stage1_table(stage1: Mapping) -> list[str]:
    columns = [stage1[k] for k in ("aligned", "shuffled", "gap", "chance")]
    lines = ["| metric | aligned | shuffled | gap | chance |", "|---|---:|---:|---:|---:|"]
    for k in STAGE1_ORDER:
        cells = (fmt_value(m.get(k)) for m in columns)
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return lines


def type_table(scores: Sequence[Mapping]) -> list[str]:
    """The markdown table of every QA type's scores (``metrics.TypeScore.to_json`` dicts)."""
    lines = ["| stage | QA type | metric | aligned | shuffled | gap | chance | chance is | rows "
             "| unparsed (aligned / shuffled) |", "|---:|---|---|---:|---:|---:|---:|---|---:|---|"]
    for t in scores:
        unparsed = " / ".join(str(t["unparsed"][k]) for k in ("aligned", "shuffled")
                              if k in t["unparsed"]) or "–"
        cells = [str(t["stage"]), t["qa_type"], t["metric"] + ("" if t["higher_is_better"]
                                                             else " (lower is better)"),
                 *(fmt_value(t[k]) for k in ("aligned", "shuffled", "gap", "chance")),
                 t["chance_kind"], str(t["rows"]), unparsed]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _confusion_table(cm: list[list[int]], classes: list[str]) -> list[str]:
    lines = ["| true \\ predicted | " + " | ".join(classes) + " |",
             "|---|" + "---:|" * len(classes)]
    lines += [f"| {c} | " + " | ".join(map(str, row)) + " |" for c, row in zip(classes, cm)]
    return lines


def markdown(report: AlignmentReport, dataset_dir: Path) -> str:
    """The human-readable report."""
    st1, st2 = report.stage1, report.stage2
    sizes = st1["sizes"]
    out = [f"# Alignment report: {dataset_dir.name}", "",
           f"Alignment score (aligned − shuffled `{HEADLINE}`): "
           f"**{fmt_value(report.alignment_gap)}** · {report.seconds:.0f} s on "
           f"`{report.settings.device}` · seed {report.settings.seed}", "",
           "A small GPT-2-style model (built from a config, trained from scratch here) reads "
           "each window's binned sensor tokens and the question and writes the answer. "
           "The same training on randomly re-paired sensor/text rows is the control: text "
           "that follows from the signal is learnable, so the gap measures alignment. "
           "Scores are on held-out (test-split) subjects.", "",
           "## Stage 1: answers on held-out subjects", "", *_stage1_table(st1), "",
           f"Train rows {sizes['train_rows']} (subjects {', '.join(sizes['train_subjects'])}),"
           f" test rows {sizes['test_rows']} (subjects {', '.join(sizes['test_subjects'])}); "
           f"subjects in both: {sizes['subject_overlap'] or 'none'}. Model: "
           f"{sizes['parameters']:,} parameters, vocabulary {sizes['vocab_size']}.", "",
           "`boundary_error_s` is an error (lower is better); every other metric is higher "
           "is better. Answers are read along the dataset's template packs by the semantic "
           "checks' reader; `reference_parsed` is the share of held-out references it reads. "
           "`chance`: each reference scored against another random reference of its QA type.",
           "",
           "`forced_trend_accuracy` (the alignment score's metric): for every `t0 … t1: "
           "direction` line of every held-out reference, the model reads the sensor tokens, "
           "the question and the reference answer up to that line's direction word, and its "
           "direction is the one (up, down, steady) whose synonyms get the most probability "
           "there; the score is the share of lines it gets right. It asks whether the "
           "signal decides the text, with the times given. Its chance level is that of a "
           "model that knows only the text: the shuffled control. `trend_accuracy` parses "
           "freely generated answers (greedy, a time chosen with the probability of its "
           "neighbours, `time_tolerance`; with `mbr_samples`, the one of the greedy and "
           "that many sampled answers that agrees best with the others and with the "
           "model's own sample-by-sample direction reading): per row, the "
           "share of the reference's time "
           "span where the generated segments state the reference's direction (times the "
           "answer leaves out count as wrong), so it also needs the times spelled right."]
    if sizes.get("firm_test_rows"):
        out += ["", f"`trend_accuracy_firm` is `trend_accuracy` on the "
                f"{sizes['firm_test_rows']} held-out rows whose answer the signal decides "
                f"firmly: the trend detector that wrote it, rerun on the window as stored and "
                f"with fresh noise as large as the window's own ({FIRM_DRAWS} seeded draws), "
                f"states the same direction at every time each time. Which rows are firm "
                f"depends on the signal and the answer only, not on a model, so a model's "
                f"misses there are its own, not the noise's."]
    if report.qa_types:
        out += ["", "## Every QA type", "",
                *type_table([t.to_json() for t in report.qa_types]), "",
                "Each held-out answer is read along its row's template with the semantic "
                "checks' reader and compared with the row's facts: `exact_match` for the "
                "discrete values the reference states (counts, directions, letters, labels), "
                "`relative_error` for its numbers (each capped at 1), `time_iou` for a stated "
                "interval, `refusal_rate`, `letter_accuracy` and `verdict_accuracy` for "
                "unanswerable, multiple-choice and true/false rows. Values the question "
                "already states are not scored. An answer the reader cannot read counts as "
                "wrong (`unparsed`). Trend rows are scored from the MBR-chosen answers, the "
                "others from greedy ones; `activity` is the stage-2 classifier (no shuffled "
                "control)."]
    line = stability_sentence(st1.get("label_stability"))
    if line:
        out += ["", line]
    for name, reason in st1.get("unavailable", {}).items():
        out.append(f"- `{name}` unavailable: {reason}")
    from validation.reference_model import calibration
    from validation.reference_model.html_report import CALIBRATION_PNG, calibration_sentence

    calib = calibration.load()
    out += ["", "![learning curve](learning_curve.png)", "", "## Calibration", "",
            calibration_sentence(report, calib)]
    if calib is not None:
        out += ["", f"![calibration curve]({CALIBRATION_PNG})"]
    out += ["", "## Stage 2: activity", ""]
    if "skipped" in st2:
        out.append(f"Skipped: {st2['skipped']}")
    else:
        scored = {"reference model": st2, **{k.replace("_", " "): v
                                             for k, v in st2["baselines"].items()}}
        out += ["| classifier | accuracy | macro-F1 |", "|---|---:|---:|"]
        out += [f"| {k} | {fmt_value(v['accuracy'])} | {fmt_value(v['macro_f1'])} |"
                for k, v in scored.items()]
        out += ["", f"Train windows {st2['sizes']['train_rows']}, test windows "
                f"{st2['sizes']['test_rows']} (subjects "
                f"{', '.join(st2['sizes']['test_subjects'])}).", "",
                *_confusion_table(st2["confusion"], st2["classes"]), "",
                "![confusion matrix](confusion_matrix.png)"]
    out += ["", "## Samples (aligned model)", ""]
    for smp in report.samples:
        out += [f"**{smp['qa_type']}**: {smp['question']}", "", "Reference:", "",
                "```", smp["reference"], "```", "Generated:", "", "```", smp["generated"],
                "```", ""]
    return "\n".join(out) + "\n"


def model_card(report: AlignmentReport, dataset_dir: Path) -> str:
    """The model card of the checkpoints."""
    s = report.settings
    return "\n".join([
        f"# Reference model for {dataset_dir.name}", "",
        "Checkpoints of harqa's built-in alignment check (`harqa verify`). Not a product "
        "model: it exists to show whether the dataset's text can be learned from its signal.",
        "", "## Contents", "",
        "- `stage1_aligned/`: GPT-2-style language model trained on the real pairs "
        "(`predictions.jsonl`: its held-out answers).",
        "- `stage1_shuffled/`: the same training on randomly re-paired sensor/text rows.",
        "- `stage2_classifier/seed_<n>/`: the activity classifiers (same architecture, "
        "trained from scratch, one per seed; their class probabilities are averaged).",
        "- `tokenizer/`: BPE text vocabulary (trained on the training questions and "
        "answers) plus the sensor tokens and their binning; `stage2_tokenizer/`: the "
        "classifiers' sensor tokens and bytes only.",
        "- `metrics.json`, `report.md`, `report.html` (one self-contained page), "
        "`learning_curve.png`, `confusion_matrix.png`, `calibration.png`.", "",
        "## Architecture and training", "",
        f"GPT-2 configuration with {s.n_layer} layers, hidden size {s.n_embd}, {s.n_head} "
        f"heads, dropout {s.dropout}, trained from random initialisation with seed {s.seed} "
        f"(AdamW, peak learning rate {s.lr}, batches of about {s.batch_tokens} tokens, "
        f"{s.stage1_steps} steps per language model, {s.stage2_steps} for each of the "
        f"{s.stage2_seeds} classifiers).",
        "", "Input: per channel `<{channel}_start>`, one bin token per "
        f"{s.stage1_pool} sample(s), `<{{channel}}_end>`; values standardized per channel "
        "and window, clipped to "
        f"±{s.clip} std and cut into {s.n_bins} uniform bins (Chronos-style); then the "
        "question and `<sep>`. Target: the answer and `<eos>` (loss on answer tokens only). "
        "Every two-decimal time of the texts is one token. The input embedding adds to each "
        "sensor token a convolution over the "
        f"{s.value_kernel} bin values centred on it (level, local change and what follows), "
        "to each time token sine/cosine features of its seconds, to each sensor token the "
        "embedding of the time token of its first sample (the end mark: the window's end; "
        "GPT-2 `token_type_ids`), and to each text token a projection of the sensor "
        "embeddings at the last two times the text named (so the words after `0.66 to 1.30 "
        "seconds:` read the signal at 0.66 s and 1.30 s) and of what the signal does "
        "between them (a least-squares line, and the change of a moving average against "
        "the channel's range and noise, which every sensor token also carries). The logit of each time token the "
        "window carries adds a pointer score of its sensor position (query from the hidden "
        "state, key from that position, a learned bias per offset from the last named "
        "time), so naming a boundary is choosing a position of the signal. The sensor "
        "tokens see one another both ways (the text only what precedes it). A linear head "
        "reads from each sensor token's hidden state the direction the answer states at "
        "its time; its cross-entropy, weighted by "
        f"{s.direction_weight}, is added to the answer loss (every sample teaches, not "
        "only the answer tokens), and its reading joins the sampled answers in choosing "
        "the generated one. "
        f"Stage 2 averages every {s.stage2_pool} samples and standardizes each channel by "
        "its training-set mean and std; its windows carry no time tokens (no text to "
        "align to); the class is read at the final `<sep>`.", "",
        "## Intended use and limits", "",
        "Scores on held-out subjects compare the aligned model with the shuffled control; "
        "the absolute values depend on the small budget and are not comparable to "
        "SensorLLM's LLM-based numbers. Trained on a deterministic subsample "
        f"({report.stage1['sizes']['train_rows']} stage-1 rows of QA types "
        f"{', '.join(s.stage1_qa_types) or 'all'}).", "",
        f"Settings: `{json.dumps(s.to_dict(), sort_keys=True)}`", ""])


def write_outputs(report: AlignmentReport, out: Path, dataset_dir: Path) -> None:
    """Write ``metrics.json``, ``report.md``, the plots, the model card ``README.md`` and
    the one-page ``report.html`` (``html_report.write_html``)."""
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "metrics.json", json.dumps(report.to_json(), indent=2, sort_keys=True))
    plot_curves(report.curves, out / "learning_curve.png")
    if "confusion" in report.stage2:
        plot_confusion(np.array(report.stage2["confusion"]), report.stage2["classes"],
                       out / "confusion_matrix.png")
    _write_atomic(out / "report.md", markdown(report, dataset_dir))
    _write_atomic(out / "README.md", model_card(report, dataset_dir))
    from validation.reference_model.html_report import write_html

    write_html(report, out, dataset_dir)
