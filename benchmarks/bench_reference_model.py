"""Benchmark: train + evaluate the reference model on the demo dataset and print the figures."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields, replace
from pathlib import Path

from validation.reference_model import VerifySettings, settings_for, verify

BUDGET_S = 600.0
"""The CPU budget of the default settings (issue 8): train + evaluation in ≤ 10 minutes."""


def parse_override(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` → a ``VerifySettings`` field and its value, typed like the field's default.

    Args:
        text: e.g. ``stage1_steps=3000`` or ``stage1_qa_types=trend_analysis,count``
            (a tuple field takes comma-separated names; an empty value is the empty tuple).

    Returns:
        The field name and the typed value.

    Raises:
        argparse.ArgumentTypeError: No ``=``, an unknown field (the known ones listed), or
            a value of the wrong type.
    """
    name, sep, value = text.partition("=")
    defaults = {f.name: f.default for f in fields(VerifySettings)}
    if not sep or name not in defaults:
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE with NAME one of {', '.join(defaults)}; got {text!r}")
    kind = type(defaults[name])
    if kind is tuple:
        return name, tuple(v for v in value.split(",") if v)
    try:
        return name, kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{name} expects a value of type {kind.__name__}; got {value!r}") from None


def main() -> None:
    """Run ``verify`` with the device preset and print timings, sizes and headline metrics."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset", nargs="?", type=Path, default=Path("output/uci_har"),
                    help="dataset written by `harqa build` (default: the demo output/uci_har)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", dest="overrides", action="append", default=[], type=parse_override,
                    metavar="NAME=VALUE",
                    help="replace one setting of the device's preset (repeatable), e.g. "
                         "--set stage1_steps=3000 --set stage1_qa_types=trend_analysis")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/reference_model.json"),
                    help="where the figures are written as JSON")
    args = ap.parse_args()
    if not (args.dataset / "stage1").is_dir():
        raise SystemExit(f"{args.dataset}: no dataset; run `harqa build` first")
    # after the preset is chosen, so ``--device cuda --set device=cpu`` dry-runs its shapes
    settings = replace(settings_for(args.device, seed=args.seed, threads=args.threads),
                       **dict(args.overrides))
    t0, cpu0 = time.perf_counter(), time.process_time()
    report = verify(args.dataset, settings,
                    log=lambda m: print(f"[{time.perf_counter() - t0:7.1f} s] {m}", flush=True))
    st1, st2 = report.stage1, report.stage2
    figures = {
        "seconds_total": report.seconds,
        # wall time is inflated where other work shares the cores; CPU time is not
        "cpu_seconds_total": round(time.process_time() - cpu0, 2),
        "within_cpu_budget": report.seconds <= BUDGET_S if settings.device == "cpu" else None,
        "stage1_sizes": st1["sizes"],
        "stage1_train_seconds": {k: st1[k]["train_seconds"] for k in ("aligned", "shuffled")},
        "stage1_generate_seconds": {k: st1[k]["generate_seconds"] for k in ("aligned", "shuffled")},
        **{m: {k: st1[k][m] for k in ("aligned", "shuffled")}
           for m in ("trend_accuracy", "trend_accuracy_firm")},
        "forced_trend_accuracy": {k: st1[k]["forced_trend_accuracy"]
                                  for k in ("aligned", "shuffled")},
        "chance": st1["chance"],
        "alignment_gap": report.alignment_gap,
        "stage2": {k: st2.get(k) for k in ("accuracy", "macro_f1", "baselines", "sizes")},
        "settings": settings.to_dict(),
    }
    text = json.dumps(figures, indent=2, sort_keys=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
