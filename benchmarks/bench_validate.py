"""CPU cost per row of generation (``pipeline.describe``) and validation (``semantic.check_table``).

Usage: ``python benchmarks/bench_validate.py [--experiment 1] [--warm 2] [--profile N]``.

One real HAPT recording from ``../shared/data/uci-hapt`` is described as a build does it
(the ``uci_har`` preset, stage 1+2, robust trends, built-in packs), turned into its Arrow
table and checked row by row. A first round on another recording (``--warm``) pays what
a process pays once (compiling templates and answer patterns; reported as ``first``),
so the measured round shows the steady cost on rows the process has not seen (no cache
holds their trends). Times are this process's CPU time (``time.process_time``), so other
processes on a shared CPU do not count. ``--profile N`` prints the N most expensive
functions of the measured ``check_table``. Writes ``benchmarks/results/validate.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.config import make_config  # noqa: E402
from generators import dataset, pipeline, text  # noqa: E402
from generators.readers import uci_har  # noqa: E402
from validation import semantic  # noqa: E402

HAPT = ROOT.parent / "shared" / "data" / "uci-hapt"
RESULTS = ROOT / "benchmarks" / "results"


def one_round(rec, cfg, packs) -> dict[str, float]:
    """CPU seconds of describe, items_to_table and check_table on one recording."""
    t0 = time.process_time()
    described = pipeline.describe(rec, cfg, packs)
    t1 = time.process_time()
    table = dataset.items_to_table(described.items, rec, cfg.trend_params)
    t2 = time.process_time()
    accepted, rejected = semantic.check_table(table)
    t3 = time.process_time()
    return {"rows": table.num_rows, "rejected": rejected.num_rows,
            "describe": t1 - t0, "to_table": t2 - t1, "check_table": t3 - t2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--input", type=Path, default=HAPT)
    ap.add_argument("--experiment", type=int, default=1)
    ap.add_argument("--warm", type=int, default=2, help="experiment of the first round")
    ap.add_argument("--profile", type=int, default=0, help="print the top N of a profile")
    ap.add_argument("--json", type=Path, default=RESULTS / "validate.json")
    args = ap.parse_args()
    cfg = make_config("uci_har", input=args.input)
    warm, rec = (next(iter(uci_har.read(args.input, experiments=[e])))
                 for e in (args.warm, args.experiment))
    packs = text.load_packs()
    first = one_round(warm, cfg, packs)
    prof = cProfile.Profile() if args.profile else None
    if prof:
        prof.enable()
    steady = one_round(rec, cfg, packs)
    if prof:
        prof.disable()

    def per_row(r: dict, key: str) -> float:
        return round(1e6 * r[key] / r["rows"], 1)

    figures = {
        "recording": rec.recording_id, "samples": int(rec.values.shape[0]),
        "rows": steady["rows"], "rejected": steady["rejected"],
        "us_per_row": {k: per_row(steady, k) for k in ("describe", "to_table", "check_table")},
        "first": {"recording": warm.recording_id, "rows": first["rows"],
                  "us_per_row": {k: per_row(first, k) for k in ("describe", "check_table")}},
    }
    figures["check_over_describe"] = round(
        figures["us_per_row"]["check_table"] / figures["us_per_row"]["describe"], 2)
    print(json.dumps(figures, indent=2))
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.profile)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
