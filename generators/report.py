"""A self-contained HTML report of a built dataset: examples with their trends, distributions, validation."""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from generators import trends  # noqa: E402
from generators.dataset import read_manifest, read_stage  # noqa: E402

#: Colours of the trend directions drawn over the signal.
DIRECTION_COLOURS = {"up": "#2ca02c", "down": "#d62728", "steady": "#7f7f7f"}
#: Rows whose segments are counted for the segments-per-second histogram (a seeded sample).
SEGMENT_SAMPLE = 1500
_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top}
.ex td{border:none;border-bottom:1px solid #eee}.qa{font-size:13px;max-width:640px}
.qa pre{white-space:pre-wrap;font-family:inherit;margin:0 0 6px}.q{color:#124}.a{color:#161}
.ok{color:#161;font-weight:bold}.bad{color:#a11;font-weight:bold}img{max-width:100%}
.grid{display:flex;flex-wrap:wrap;gap:12px}
"""


def _png(fig: plt.Figure) -> str:
    """The figure as an ``<img>`` with the PNG inlined (base64), then closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _segments(row: dict, series: np.ndarray) -> list:
    params = json.loads(row["trend_params"] or "{}")
    return trends.detect(series.astype(np.float64), row["sample_rate_hz"], row["trend_method"],
                         **params)


def plot_window(row: dict, channel: int = 0, ax: plt.Axes | None = None) -> plt.Figure | None:
    """Draw one channel of a row's series with its detected trend segments over it.

    Args:
        row: A dataset row (as a dict).
        channel: Index into the row's channels.
        ax: Axes to draw on (default: a new small figure).

    Returns:
        The new figure, or ``None`` when ``ax`` was given.
    """
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 2.0))
    y = np.asarray(row["series"][channel], dtype=np.float64)
    t = np.arange(y.size) / row["sample_rate_hz"]
    ax.plot(t, y, color="#1f77b4", lw=1.0, alpha=0.6)
    for seg in _segments(row, y):
        ax.plot([seg.start_s, seg.end_s], [seg.start_value, seg.end_value], lw=2.2,
                color=DIRECTION_COLOURS[seg.direction])
    ax.set_title(f"{row['channel_names'][channel]} ({row['channel_units'][channel]})", fontsize=9)
    ax.set_xlabel("s", fontsize=8)
    ax.tick_params(labelsize=7)
    return fig


def _bar(counts: Counter, title: str, horizontal: bool = True) -> str:
    labels = sorted(counts)
    fig, ax = plt.subplots(figsize=(5.5, max(1.6, 0.28 * len(labels) + 0.8)))
    ax.barh(labels, [counts[k] for k in labels], color="#4c72b0")
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    return _png(fig)


def _hist(values: Iterable[float], title: str, xlabel: str, bins: int = 40) -> str:
    fig, ax = plt.subplots(figsize=(5.5, 2.6))
    ax.hist(list(values), bins=bins, color="#55a868")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=8)
    return _png(fig)


def _qa_html(rows: Iterable[dict]) -> str:
    parts = []
    for r in rows:
        parts.append(f'<div><b>{html.escape(r["qa_type"])}</b> '
                     f'<small>({html.escape(r["template_id"])})</small>'
                     f'<pre class="q">Q: {html.escape(r["question"])}</pre>'
                     f'<pre class="a">A: {html.escape(r["answer"])}</pre></div>')
    return '<td class="qa">' + "".join(parts) + "</td>"


def _stage1_examples(table: pa.Table, per_channel: int) -> str:
    """Per activity: one window, each channel's plot beside that channel's QA rows."""
    if not table.num_rows:
        return "<p>No stage-1 rows.</p>"
    out = []
    for activity in sorted(set(table["activity"].to_pylist())):
        sub = table.filter(pc.equal(table["activity"], activity))
        window = min(sub["window_id"].to_pylist())
        rows = sorted(sub.filter(pc.equal(sub["window_id"], window)).to_pylist(),
                      key=lambda r: (r["channel_names"][0], r["qa_type"], r["row_id"]))
        out.append(f"<h3>{html.escape(activity)} <small>{html.escape(window)}</small></h3>"
                   '<table class="ex">')
        for channel in sorted({r["channel_names"][0] for r in rows}):
            mine = [r for r in rows if r["channel_names"][0] == channel]
            out.append(f"<tr><td>{_png(plot_window(mine[0]))}</td>"
                       f"{_qa_html(mine[:per_channel])}</tr>")
        out.append("</table>")
    return "".join(out)


def _stage2_examples(table: pa.Table) -> str:
    """Per activity: one multi-channel window with every channel's trends and its question."""
    if not table.num_rows:
        return "<p>No stage-2 rows.</p>"
    out = ['<table class="ex">']
    for activity in sorted(set(table["activity"].to_pylist())):
        sub = table.filter(pc.equal(table["activity"], activity))
        row = min(sub.to_pylist(), key=lambda r: r["row_id"])
        n = len(row["channel_names"])
        fig, axes = plt.subplots(n, 1, figsize=(5.2, 1.5 * n), squeeze=False)
        for c in range(n):
            plot_window(row, c, axes[c, 0])
        fig.tight_layout()
        out.append(f"<tr><td><b>{html.escape(activity)}</b><br>{_png(fig)}</td>"
                   f"{_qa_html([row])}</tr>")
    out.append("</table>")
    return "".join(out)


def _segments_per_second(tables: list[pa.Table], seed: int = 0) -> list[float]:
    rates = []
    rng = np.random.default_rng(seed)
    for t in tables:
        if not t.num_rows:
            continue
        take = np.sort(rng.choice(t.num_rows, min(t.num_rows, SEGMENT_SAMPLE), replace=False))
        for row in t.take(pa.array(take)).to_pylist():
            y = np.asarray(row["series"][0], dtype=np.float64)
            if y.size > 1:
                rates.append(len(_segments(row, y)) / (y.size / row["sample_rate_hz"]))
    return rates


def _validation_html(root: Path, manifest: dict) -> str:
    v = manifest.get("validation", {})
    out = []
    if v:
        rate = v.get("pass_rate")
        out.append(f"<p>Pass rate <b>{rate:.4f}</b>; Great Expectations: "
                   + ('<span class="ok">passed</span>' if v.get("gx_success")
                      else '<span class="bad">failed</span>') + "</p>")
        checks = v.get("dataset_checks", {})
        if checks:
            out.append("<table><tr><th>dataset check</th><th>result</th><th>details</th></tr>")
            for name, r in sorted(checks.items()):
                ok = '<span class="ok">pass</span>' if r.get("passed") else '<span class="bad">fail</span>'
                details = {k: val for k, val in r.items() if k != "passed"}
                out.append(f"<tr><td>{html.escape(name)}</td><td>{ok}</td><td><small>"
                           f"{html.escape(json.dumps(details)[:300])}</small></td></tr>")
            out.append("</table>")
    summary_path = root / "validation" / "summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        out.append("<h3>Great Expectations suites</h3><table><tr><th>suite</th><th>rows</th>"
                   "<th>result</th><th>failed expectations</th></tr>")
        for name, s in sorted(summary.get("suites", {}).items()):
            failed = [e.get("expectation", e.get("type", "?")) for e in s.get("expectations", [])
                      if isinstance(e, dict) and not e.get("success", True)]
            ok = '<span class="ok">pass</span>' if s.get("success") else '<span class="bad">fail</span>'
            out.append(f"<tr><td>{html.escape(name)}</td><td>{s.get('rows', '')}</td><td>{ok}"
                       f"</td><td><small>{html.escape(', '.join(map(str, failed)))}</small></td></tr>")
        out.append("</table>")
    rejected = manifest.get("counts", {}).get("rejected")
    if rejected is not None:
        out.append(f"<p>{rejected} rejected rows (see <code>rejected/</code>).</p>")
    return "".join(out) or "<p>No validation results recorded.</p>"


def write_report(root: Path, out: Path | None = None, *, qa_per_channel: int = 3,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Write a single HTML page describing a built dataset.

    The page has no external references: every plot is an inlined PNG.

    Args:
        root: The dataset directory (holding ``manifest.json``).
        out: The HTML file (default ``<root>/report.html``).
        qa_per_channel: Stage-1 QA rows shown beside each channel's plot.
        progress: Called with the name of each step as it starts.

    Returns:
        The path written.

    Raises:
        InputError: ``root`` holds no readable manifest (nothing is written).
    """
    root = Path(root)
    step = progress or (lambda _name: None)
    manifest = read_manifest(root)
    out = Path(out) if out else root / "report.html"
    step("reading")
    s1, s2 = read_stage(root, 1), read_stage(root, 2)
    both = [t.select(["qa_type", "activity", "subject", "split", "question", "answer"])
            for t in (s1, s2)]
    meta = pa.concat_tables(both)
    step("distributions")
    dists = [
        _bar(Counter(meta["qa_type"].to_pylist()), "rows per QA type"),
        _bar(Counter(meta["activity"].to_pylist()), "rows per activity"),
        _bar(Counter(f"{s} ({sp})" for s, sp in zip(meta["subject"].to_pylist(),
                                                   meta["split"].to_pylist())),
             "rows per subject (split)"),
        _hist(pc.utf8_length(meta["question"]).to_pylist(), "question length", "characters"),
        _hist(pc.utf8_length(meta["answer"]).to_pylist(), "answer length", "characters"),
    ]
    step("segments per second")
    rates = _segments_per_second([s1, s2])
    if rates:
        dists.append(_hist(rates, f"trend segments per second (sample of ≤{SEGMENT_SAMPLE} "
                                  "rows per stage, first channel)", "segments / s"))
    step("stage-1 examples")
    ex1 = _stage1_examples(s1, qa_per_channel)
    step("stage-2 examples")
    ex2 = _stage2_examples(s2)
    counts = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
                     for k, v in manifest.get("counts", {}).items())
    cfg = manifest.get("config", {})
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>harqa report — "
        f"{html.escape(manifest['dataset'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>harqa dataset <code>{html.escape(manifest['dataset'])}</code></h1>"
        f"<p>Reader <code>{html.escape(str(cfg.get('reader')))}</code>, seed {cfg.get('seed')}, "
        f"trend method <code>{html.escape(str(cfg.get('trend_method')))}</code>, generator "
        f"{html.escape(str(manifest.get('generator_version')))}. Trend colours: "
        + ", ".join(f'<span style="color:{c}">{d}</span>' for d, c in DIRECTION_COLOURS.items())
        + f".</p><table><tr><th>part</th><th>rows</th></tr>{counts}</table>"
        f"<h2>Validation</h2>{_validation_html(root, manifest)}"
        f"<h2>Distributions</h2><div class='grid'>{''.join(dists)}</div>"
        f"<h2>Stage 1 examples (per activity and channel)</h2>{ex1}"
        f"<h2>Stage 2 examples (per activity)</h2>{ex2}"
        "</body></html>"
    )
    step("writing")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
