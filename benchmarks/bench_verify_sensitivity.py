"""Benchmark: how much misalignment ``harqa verify --preset quick`` detects (a dose-response curve).

Usage: ``python benchmarks/bench_verify_sensitivity.py [DATASET] [--kinds swap,flip,shift]
[--doses 0,2,5,10,25,50,100] [--seeds 0,1,2] [--jobs N] [--work DIR] [--calibration PATH]``
(the defaults are the whole grid: 19 datasets × 3 seeds); ``--merge A.json B.json`` joins
the results of a grid run in parts.

Each corrupted dataset is a copy of ``DATASET`` (default the demo, ``output/uci_har``) in
which a fraction p of the stage-1 rows, in both splits, is wrong in one way:

- ``swap``: the answer (and its ``facts``) of a window of another subject, same QA type;
- ``flip``: the trend directions the answer states turned over (every up word of the
  pack's phrase list replaced by the down word at the same place, and back);
- ``shift``: the window's series moved in time by half its length (rotated: each half of
  the text then describes the other half of the signal).

The rows hit are those whose seeded row hash (``data.row_hash``, seed ``CORRUPTION_SEED``)
falls below p, so the rows corrupted at 2 % are among those at 5 %, and so on. The copy
is a dataset ``harqa verify`` reads like any other: the rewritten stage-1 parts replace
the old ones and ``manifest.json`` lists their new SHA-256, so the parts match the
manifest (``harqa validate`` would reject the corrupted rows' text, which is the point;
``verify`` runs no row checks). Each (kind, p) is verified with the quick preset at every
``--seeds`` seed (p = 0 is the one clean copy, shared by all kinds); the alignment score
(aligned − shuffled ``forced_trend_accuracy``) is reported per run and as mean and sample
standard deviation per dose. ``--calibration PATH`` also writes the curve ``harqa
verify``'s report reads (``validation/reference_model/calibration.json`` ships with it).
Writes ``benchmarks/results/verify_sensitivity.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generators.dataset import read_manifest, write_json_atomic, write_parquet_atomic  # noqa: E402
from validation.reference_model import settings_for, verify  # noqa: E402
from validation.reference_model.calibration import curve_document  # noqa: E402
from validation.reference_model.data import row_hash  # noqa: E402
from validation.reference_model.run import HEADLINE, OUTPUT_DIR  # noqa: E402

KINDS = ("swap", "flip", "shift")
"""The corruptions, in report order."""

DOSES = (0, 2, 5, 10, 25, 50, 100)
"""Percent of stage-1 rows corrupted."""

CORRUPTION_SEED = 27
"""Seed of the row hash that picks the corrupted rows (one fixed draw: the seeds vary
the verification, not which rows are wrong)."""


def _picked(row_ids: list[str], percent: float) -> np.ndarray:
    """Rows whose hash falls below ``percent``: nested as ``percent`` grows."""
    limit = percent / 100 * 2 ** 64
    return np.array([row_hash(CORRUPTION_SEED, r) < limit for r in row_ids], dtype=bool)


def _swap(table: pa.Table, picked: np.ndarray, _source: Path) -> pa.Table:
    """Answers and facts moved among the picked rows of one QA type, each to a window of
    another subject: the rows sorted by subject, then moved by the largest subject's count
    (a row that would keep its own subject, possible only where one subject holds more
    than half of a type's picked rows, keeps its answer)."""
    qa_type = table.column("qa_type").to_pylist()
    subject = table.column("subject").to_pylist()
    ids = table.column("row_id").to_pylist()
    answer = table.column("answer").to_pylist()
    facts = table.column("facts").to_pylist()
    new_answer, new_facts = list(answer), list(facts)
    for t in sorted({qa_type[i] for i in np.flatnonzero(picked)}):
        group = sorted((i for i in np.flatnonzero(picked) if qa_type[i] == t),
                       key=lambda i: (subject[i], row_hash(CORRUPTION_SEED, ids[i])))
        shift = max(sum(subject[i] == s for i in group) for s in {subject[i] for i in group})
        for k, i in enumerate(group):
            j = group[(k + shift) % len(group)]
            if subject[j] != subject[i]:
                new_answer[i], new_facts[i] = answer[j], facts[j]
    return _replace(_replace(table, "answer", new_answer), "facts", new_facts)


def flip_directions(text: str, words: dict[str, str]) -> str:
    """``text`` with every direction word of ``words`` (word → its opposite) replaced, a
    capital initial kept."""
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True))
                         + r")\b", re.IGNORECASE)

    def opposite(m: re.Match) -> str:
        word = words[m[0].lower()]
        return word[0].upper() + word[1:] if m[0][0].isupper() else word
    return pattern.sub(opposite, text)


def _flip(table: pa.Table, picked: np.ndarray, source: Path) -> pa.Table:
    words = opposite_words(source)
    answer = table.column("answer").to_pylist()
    return _replace(table, "answer", [flip_directions(a, words) if p else a
                                      for a, p in zip(answer, picked)])


def _shift(table: pa.Table, picked: np.ndarray, _source: Path) -> pa.Table:
    series = table.column("series").to_pylist()
    moved = [[c[len(c) // 2:] + c[:len(c) // 2] for c in s] if p else s
             for s, p in zip(series, picked)]
    return _replace(table, "series", moved)


CORRUPTIONS = {"swap": _swap, "flip": _flip, "shift": _shift}


def _replace(table: pa.Table, name: str, values: list) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


def opposite_words(dataset: Path) -> dict[str, str]:
    """Each up and down word of the dataset's stored phrase lists → the word at the same
    place of the other list (lower case)."""
    from generators.text import load_saved_packs

    phrases = next(iter(load_saved_packs(dataset).values())).phrases
    pairs = list(zip(phrases["up"], phrases["down"]))
    return {**{u.lower(): d.lower() for u, d in pairs}, **{d.lower(): u.lower() for u, d in pairs}}


def corrupt(source: Path, target: Path, kind: str, percent: float) -> dict:
    """Copy ``source`` to ``target`` with ``percent`` % of its stage-1 rows corrupted by
    ``kind`` (at 0 %, a plain copy).

    Returns:
        ``rows`` (stage 1), ``picked`` (rows chosen) and ``changed`` (rows whose answer or
        series now differ: a flip changes no answer without a direction word).
    """
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(OUTPUT_DIR))
    parts = sorted(target.glob("stage1/*/*.parquet"))
    tables = [pq.read_table(p) for p in parts]
    whole = pa.concat_tables(tables)
    picked = _picked(whole.column("row_id").to_pylist(), percent)
    if not picked.any():
        return {"rows": whole.num_rows, "picked": 0, "changed": 0}
    changed = CORRUPTIONS[kind](whole, picked, source)
    idx = pa.array(np.flatnonzero(picked))
    before, after = ([list(zip(*(t.column(c).take(idx).to_pylist() for c in ("answer", "series"))))
                      for t in (whole, changed)])
    differs = sum(x != y for x, y in zip(before, after))
    manifest = read_manifest(target)
    start = 0
    for path, part in zip(parts, tables):
        rel = path.relative_to(target).as_posix()
        manifest["files"][rel] = write_parquet_atomic(changed.slice(start, part.num_rows), path)
        start += part.num_rows
    write_json_atomic(manifest, target / "manifest.json")
    return {"rows": whole.num_rows, "picked": int(picked.sum()), "changed": differs}


def _verify_one(job: tuple) -> dict:
    """One verification of one corrupted copy (in a worker process): its score, the two
    models' ``HEADLINE`` metric, wall and process CPU seconds."""
    kind, dose, seed, target, device, preset, threads = job
    settings = settings_for(device, preset=preset, seed=seed, threads=threads)
    t0, cpu0 = time.perf_counter(), time.process_time()
    report = verify(Path(target), settings)
    st1 = report.stage1
    return {"kind": kind, "dose": dose, "seed": seed, "score": report.alignment_gap,
            "aligned": st1["aligned"][HEADLINE], "shuffled": st1["shuffled"][HEADLINE],
            "seconds": round(time.perf_counter() - t0, 1),
            "cpu_seconds": round(time.process_time() - cpu0, 1)}


def summary(scores: list[float]) -> dict:
    """Mean and sample standard deviation (ddof 1; 0 for one score) of one dose's scores."""
    a = np.asarray(scores, dtype=float)
    return {"mean": round(float(a.mean()), 4),
            "std": round(float(a.std(ddof=1)) if len(a) > 1 else 0.0, 4), "n": len(a)}


def verdicts(curve: dict[int, dict], by_seed: dict[int, dict[int, float]]) -> dict:
    """Whether the mean falls with every dose, and how far 5 % lies below 0 % (target:
    more than 3 standard deviations): unpaired, against the pooled seed standard deviation
    of the two doses; paired, the per-seed drop (the same seed at both doses: the same
    initialisation and batch order) against its own standard deviation."""
    doses = sorted(curve)
    means = [curve[d]["mean"] for d in doses]
    out = {"monotone": all(a >= b for a, b in zip(means, means[1:]))}
    if 0 in curve and 5 in curve:
        pooled = np.sqrt((curve[0]["std"] ** 2 + curve[5]["std"] ** 2) / 2)
        drop = curve[0]["mean"] - curve[5]["mean"]
        out["drop_at_5"] = round(drop, 4)
        out["sds_at_5"] = round(drop / pooled, 2) if pooled else None
        out["separated_at_5"] = bool(drop > 3 * pooled)
        pairs = np.array([by_seed[0][k] - by_seed[5][k] for k in by_seed[0] if k in by_seed[5]])
        if len(pairs) > 1:
            sd = float(pairs.std(ddof=1))
            out["paired_drops_at_5"] = [round(float(x), 4) for x in pairs]
            out["paired_sds_at_5"] = round(float(pairs.mean()) / sd, 2) if sd else None
            out["paired_separated_at_5"] = bool(pairs.mean() > 3 * sd)
    return out


def results(args: argparse.Namespace, kinds: list[str], doses: list[int], seeds: list[int],
            runs: list[dict], corrupted: dict) -> dict:
    """The results document of the runs so far: per kind, each dose's score summary (the
    clean runs are every kind's dose 0) and the verdicts."""
    runs = sorted(runs, key=lambda r: (KINDS.index(r["kind"]) if r["kind"] in KINDS else -1,
                                       r["dose"], r["seed"]))
    curves = {}
    for kind in kinds:
        by_seed: dict[int, dict[int, float]] = {}
        for r in runs:
            if r["kind"] in (kind, "clean"):
                by_seed.setdefault(r["dose"], {})[r["seed"]] = r["score"]
        curve = {d: summary(list(by_seed[d].values())) for d in doses if d in by_seed}
        curves[kind] = {"doses": sorted(curve), **{k: [curve[d][k] for d in sorted(curve)]
                                                   for k in ("mean", "std", "n")},
                        **verdicts(curve, by_seed)}
    return {"dataset": str(args.dataset), "preset": args.preset, "metric": f"gap {HEADLINE}",
            "seeds": seeds, "corruption_seed": CORRUPTION_SEED, "curves": curves,
            "corrupted": corrupted, "runs": runs,
            "cpu_seconds_runs": round(sum(r["cpu_seconds"] for r in runs), 1),
            "jobs": args.jobs, "settings": settings_for(args.device, preset=args.preset).to_dict()}


def _write(args: argparse.Namespace, doc: dict) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    if args.calibration:
        args.calibration.write_text(json.dumps(curve_document(doc), indent=2) + "\n")


def _merge(args: argparse.Namespace) -> None:
    docs = [json.loads(p.read_text()) for p in args.merge]
    runs = [r for d in docs for r in d["runs"]]
    kinds = [k for k in KINDS if any(r["kind"] == k for r in runs)]
    doses = sorted({r["dose"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    args.dataset, args.jobs = Path(docs[0]["dataset"]), [d["jobs"] for d in docs]
    doc = results(args, kinds, doses, seeds, runs,
                  {k: v for d in docs for k, v in d["corrupted"].items()})
    doc["seconds_total"] = [d.get("seconds_total") for d in docs]
    _write(args, doc)
    print(json.dumps(doc["curves"], indent=2))


def main() -> None:
    """Corrupt, verify every (kind, dose, seed) and write the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dataset", nargs="?", type=Path, default=ROOT / "output/uci_har")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--doses", default=",".join(map(str, DOSES)))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (processes)")
    ap.add_argument("--work", type=Path, default=None,
                    help="folder for the corrupted copies (default: a temporary one, removed)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/verify_sensitivity.json")
    ap.add_argument("--calibration", type=Path, default=None,
                    help="also write the calibration curve here")
    ap.add_argument("--merge", type=Path, nargs="+", default=None, metavar="RESULTS",
                    help="run nothing: the curves of the runs in these results files (a grid "
                         "split across processes or machines), written to --out")
    args = ap.parse_args()
    if args.merge:
        return _merge(args)
    if not (args.dataset / "stage1").is_dir():
        raise SystemExit(f"{args.dataset}: no dataset; run `harqa build` first")
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise SystemExit(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")
    doses = sorted({int(d) for d in args.doses.split(",")})
    seeds = [int(s) for s in args.seeds.split(",")]
    work = Path(args.work or tempfile.mkdtemp(prefix="harqa-sensitivity-"))
    # the smaller doses first: an interrupted grid has the curves' start for every kind
    grid = [("clean", 0)] * (0 in doses) + [(k, d) for d in doses if d for k in kinds]
    t_start = time.perf_counter()
    # one copy per run: runs at once never share an output folder (the copies of one
    # kind and dose are identical: the seeds vary the verification only)
    corrupted = {}
    for kind, dose in grid:
        for seed in seeds:
            corrupted[f"{kind}_{dose}"] = corrupt(args.dataset, work / f"{kind}_{dose}_{seed}",
                                                  kind, dose)
    jobs = [(kind, dose, seed, str(work / f"{kind}_{dose}_{seed}"), args.device, args.preset,
             args.threads) for kind, dose in grid for seed in seeds]
    runs: list[dict] = []
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        for future in as_completed([pool.submit(_verify_one, job) for job in jobs]):
            runs.append(future.result())
            print(json.dumps(runs[-1]), flush=True)
            # after every run, so that an interrupted grid leaves what ran
            doc = results(args, kinds, doses, seeds, runs, corrupted)
            doc["seconds_total"] = round(time.perf_counter() - t_start, 1)
            _write(args, doc)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        for job in jobs:
            shutil.rmtree(job[3], ignore_errors=True)
    print(json.dumps(doc["curves"], indent=2))


if __name__ == "__main__":
    main()
