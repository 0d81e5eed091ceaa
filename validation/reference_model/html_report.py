"""One self-contained HTML page of a verification run: scores, gaps, chance levels, the
calibration curve, label stability and timings, every plot an inlined PNG."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Mapping

from validation.reference_model import calibration
from validation.reference_model.report import STAGE1_ORDER, fmt_value
from validation.reference_model.run import HEADLINE, AlignmentReport
from validation.reference_model.stability import stability_sentence

CALIBRATION_PNG = "calibration.png"
"""The calibration plot beside ``report.md``."""

KIND_NAMES = {"swap": "answers swapped between subjects", "flip": "trend directions flipped",
              "shift": "series shifted by half a window"}
"""What each corruption of the calibration does to a row."""

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px}
td.n{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}.score{font-size:1.4em}
"""


def plot_calibration(calib: Mapping, score: float | None, path: Path) -> None:
    """The calibration curves (mean ± one seed standard deviation per dose, one line per
    corruption kind) with the observed score as a horizontal line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for kind, c in calib["curves"].items():
        line = ax.plot(c["doses"], c["mean"], "o-", label=KIND_NAMES.get(kind, kind))[0]
        lo = [m - s for m, s in zip(c["mean"], c["std"])]
        hi = [m + s for m, s in zip(c["mean"], c["std"])]
        ax.fill_between(c["doses"], lo, hi, color=line.get_color(), alpha=0.2)
    if score is not None:
        ax.axhline(score, color="black", linestyle="--", label=f"this run: {score:.3f}")
    ax.set_xscale("symlog", linthresh=2)
    ax.set_xticks(sorted({d for c in calib["curves"].values() for d in c["doses"]}),
                  [str(d) for d in sorted({d for c in calib["curves"].values()
                                           for d in c["doses"]})])
    ax.set_xlabel("stage-1 rows corrupted (%)")
    ax.set_ylabel(f"alignment score ({HEADLINE} gap)")
    ax.set_title(f"{calib['dataset']}, preset {calib['preset']}, seeds {calib['seeds']}",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def calibration_sentence(report: AlignmentReport, calib: Mapping | None) -> str:
    """How to read the score on the curve: "about x % misaligned" per kind, or why not."""
    if calib is None:
        return "No calibration curve ships with this harqa."
    read = calibration.readings(report.alignment_gap, calib, report.settings)
    where = (f"measured on the {calib['dataset']} demo with preset {calib['preset']} "
             f"(`benchmarks/bench_verify_sensitivity.py`)")
    if read is None:
        return (f"The calibration curve was {where}; this run's settings differ, so its score "
                f"is not read on the curve (run `harqa verify --preset {calib['preset']}`).")
    parts = "; ".join(f"{KIND_NAMES.get(k, k)}: {'at least' if beyond else 'about'} {v:g} %"
                      for k, (v, beyond) in read.items())
    spread = max(c["std"][0] for c in calib["curves"].values())
    return (f"Read on the calibration curve ({where}), a score of "
            f"{fmt_value(report.alignment_gap)} is what the demo scores with this share of "
            f"its stage-1 rows corrupted: {parts}. A score at or above the clean demo's reads "
            f"0 %. The clean demo's score varies by {spread:.3f} (one standard deviation) "
            f"from seed to seed, so a difference under about three times that is within the "
            f"noise; the curve is the demo's, so on another dataset it is a guide, not a "
            f"measure.")


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[object]], text_columns: int = 1) -> str:
    """An HTML table: the first ``text_columns`` cells of each row as text, the rest as
    metrics (``fmt_value``), right-aligned."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td>{html.escape(str(c))}</td>" if i < text_columns
        else f"<td class='n'>{html.escape(fmt_value(c))}</td>"
        for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _stage1(st1: Mapping) -> str:
    columns = [st1.get(k, {}) for k in ("aligned", "shuffled", "gap", "chance")]
    # a metric the run did not measure (no generated answers) is left out, chance and all
    rows = [[k, *(c.get(k) for c in columns)] for k in STAGE1_ORDER
            if any(c.get(k) is not None for c in columns[:2])]
    return _table(["metric", "aligned", "shuffled", "gap (aligned − shuffled)", "chance"], rows)


def _types(report: AlignmentReport) -> str:
    """Every QA type's metric, aligned vs shuffled with its chance level (where the run
    scored QA types beyond the trend measures)."""
    scores = [t.to_json() for t in getattr(report, "qa_types", ())]
    if not scores:
        return "<p>Only the trend measures were scored in this run.</p>"
    rows = [[str(t["stage"]), t["qa_type"],
             t["metric"] + ("" if t["higher_is_better"] else " (lower is better)"),
             t["aligned"], t["shuffled"], t["gap"], t["chance"], t["rows"]] for t in scores]
    return _table(["stage", "QA type", "metric", "aligned", "shuffled", "gap", "chance",
                   "rows"], rows, text_columns=3)


def _stage2(st2: Mapping, out: Path) -> str:
    if "skipped" in st2:
        return f"<p>Skipped: {html.escape(st2['skipped'])}</p>"
    rows = [["reference model", st2["accuracy"], st2["macro_f1"]],
            *([k.replace("_", " "), v["accuracy"], v["macro_f1"]]
              for k, v in st2["baselines"].items())]
    img = out / "confusion_matrix.png"
    return (_table(["classifier", "accuracy", "macro-F1"], rows)
            + (_img(img, "confusion matrix") if img.is_file() else ""))


def _timings(report: AlignmentReport) -> str:
    rows = [[f"stage 1 {kind}: {what}", f"{report.stage1[kind][f'{what}_seconds']:.1f}"]
            for kind in ("aligned", "shuffled") for what in ("train", "generate")
            if report.stage1.get(kind, {}).get(f"{what}_seconds") is not None]
    rows.append(["whole run (wall)", f"{report.seconds:.1f}"])
    return _table(["step", "seconds (wall)"], rows)


def write_html(report: AlignmentReport, out: Path, dataset_dir: Path,
               calib: Mapping | None = None) -> Path:
    """Write ``report.html`` beside ``report.md`` (the plots must be written already).

    Args:
        report: The run.
        out: The run's output folder (``<dataset>/reference_model``).
        dataset_dir: The dataset.
        calib: The calibration document (default: the one shipped, ``calibration.load``).

    Returns:
        The page's path.
    """
    calib = calib if calib is not None else calibration.load()
    if calib is not None:
        plot_calibration(calib, report.alignment_gap, out / CALIBRATION_PNG)
    st1 = report.stage1
    s = report.settings
    stability = stability_sentence(st1.get("label_stability"))
    learning = out / "learning_curve.png"
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>harqa verify — "
        f"{html.escape(dataset_dir.name)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Alignment report: <code>{html.escape(dataset_dir.name)}</code></h1>"
        f"<p class='score'>Alignment score (aligned − shuffled <code>{HEADLINE}</code>): "
        f"<b>{fmt_value(report.alignment_gap)}</b></p>"
        f"<p>{report.seconds:.0f} s on <code>{html.escape(s.device)}</code>, seed {s.seed}, "
        f"{s.stage1_steps} stage-1 steps. The same model trained on randomly re-paired "
        "sensor/text rows is the control; scores are on held-out subjects.</p>"
        f"<h2>Calibration</h2><p>{html.escape(calibration_sentence(report, calib))}</p>"
        + (_img(out / CALIBRATION_PNG, "calibration curve") if calib is not None else "")
        + "<h2>Stage 1 scores</h2><p>Gap: aligned − shuffled. Chance: each reference scored "
        "against another random reference of its QA type.</p>" + _stage1(st1)
        + "<h2>Every QA type</h2>" + _types(report)
        + "<h2>Label stability</h2>"
        f"<p>{html.escape(stability or 'Not measured (no one-channel segment answers).')}</p>"
        "<h2>Stage 2 activity</h2>" + _stage2(report.stage2, out)
        + "<h2>Learning curves</h2>"
        + (_img(learning, "learning curves") if learning.is_file() else "")
        + "<h2>Timings</h2>" + _timings(report) + "</body></html>")
    path = out / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
