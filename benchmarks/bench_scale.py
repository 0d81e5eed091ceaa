"""Scale benchmark: real HAPT and an N× synthetic copy; rows/s, peak RSS, 1 vs N workers, Prefect overhead.

Usage (sizes are parameters; run what the machine allows)::

    python benchmarks/bench_scale.py --input ../shared/data/uci-hapt --experiments 16 \
        --scale 10 --scale-experiments 2 --stage 2 --workers 1,2 \
        --json benchmarks/results/scale.json

Every build gets a fresh output root (cold cache); then the first configuration is rebuilt
once more to show the cached rebuild. All builds share one Prefect API started up front,
whose start-up time is reported separately with the per-flow and per-task orchestration
overhead measured on no-op tasks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import numpy as np  # noqa: E402
import psutil  # noqa: E402


class PeakRSS:
    """Samples the resident memory of this process and all its children (summed)."""

    def __init__(self, every_s: float = 0.2) -> None:
        self.every_s, self.peak, self._stop = every_s, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.every_s)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def synthetic_hapt(src: Path, dst: Path, copies: int, experiments: list[int], seed: int = 0
                   ) -> list[str]:
    """Write ``copies`` noisy copies of HAPT experiments in the raw layout.

    Copy ``k`` of experiment ``e`` of user ``u`` becomes experiment ``e + 100k`` of user
    ``u + 100k`` (new subjects, so splits stay by subject), with Gaussian noise of 1 % of
    each channel's standard deviation so no two copies render the same rows.

    Returns:
        The test subjects: the copies of the preset's test users.
    """
    from generators import presets

    raw_src, raw = src / "RawData", dst / "RawData"
    raw.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "activity_labels.txt", dst / "activity_labels.txt")
    spans = np.loadtxt(raw_src / "labels.txt", dtype=np.int64, ndmin=2)
    spans = spans[np.isin(spans[:, 0], experiments)]
    rng = np.random.default_rng(seed)
    rows = []
    for exp, user in sorted({(int(e), int(u)) for e, u in spans[:, :2]}):
        stem = f"exp{exp:02d}_user{user:02d}"
        data = {s: np.loadtxt(raw_src / f"{s}_{stem}.txt") for s in ("acc", "gyro")}
        for k in range(copies):
            new = f"exp{exp + 100 * k:02d}_user{user + 100 * k:02d}"
            for s, x in data.items():
                noisy = x + rng.normal(0, 0.01, x.shape) * x.std(axis=0)
                np.savetxt(raw / f"{s}_{new}.txt", noisy, fmt="%.8e")
            mine = spans[(spans[:, 0] == exp) & (spans[:, 1] == user)].copy()
            mine[:, 0] += 100 * k
            mine[:, 1] += 100 * k
            rows.append(mine)
    np.savetxt(raw / "labels.txt", np.concatenate(rows), fmt="%d")
    test = set(presets.load("uci_har").settings()["test_subjects"])
    users = {int(u) for u in spans[:, 1]}
    return sorted(str(u + 100 * k) for u in users if str(u) in test for k in range(copies))


def prefect_overhead(n_tasks: int = 100, repeats: int = 3) -> dict:
    """Wall time of an empty flow and per no-op task (API already running; best of
    ``repeats``, since other load on the machine only ever adds time)."""
    from prefect import flow, task
    from prefect.cache_policies import NONE

    @task(cache_policy=NONE)
    def noop(i: int) -> int:
        return i

    @flow(log_prints=False)
    def empty_flow(n: int) -> int:
        return sum(f.result() for f in [noop.submit(i) for i in range(n)])

    def best(n: int) -> float:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            empty_flow(n)
            times.append(time.perf_counter() - t)
        return min(times)

    empty_flow(0)  # warm imports and the flow registration
    flow_s, tasks_s = best(0), best(n_tasks)
    return {"empty_flow_s": round(flow_s, 3),
            "per_task_s": round((tasks_s - flow_s) / n_tasks, 4)}


def run_one(label: str, cfg, workers: int, root: Path) -> dict:
    """One cold build (fresh output root) on ``workers`` (threads for 1, processes else)."""
    out = root / f"{label}-w{workers}"
    shutil.rmtree(out, ignore_errors=True)
    pool = "process" if workers > 1 else "thread"
    with PeakRSS() as rss:
        t = time.perf_counter()
        manifest = build_manifest(cfg, out, workers=workers, pool=pool)
        wall = time.perf_counter() - t
    rows = manifest["counts"]["rows_in"]
    return {"dataset": label, "workers": workers, "pool": pool,
            "recordings": manifest["cache"]["recordings"], "rows_in": rows,
            "rows_kept": rows - manifest["counts"]["rejected"],
            "validation_passed": manifest["passed"], "wall_s": round(wall, 1),
            "rows_per_s": round(rows / wall, 1), "peak_rss_mib": round(rss.peak / 2**20),
            "out": str(out)}


def build_manifest(cfg, out: Path, **runner) -> dict:
    """Build and return the manifest, also when validation fails (speed is measured either
    way; the checks' verdict is reported as ``passed``)."""
    from flows.build import run_build
    from generators.dataset import staging_dir
    from generators.publish import ValidationFailed

    try:
        cache = run_build(cfg, out=str(out), **runner)["cache"]
        path, passed = out / cfg.dataset, True
    except ValidationFailed:
        cache, path, passed = None, staging_dir(out, cfg.dataset), False
    manifest = json.loads((path / "manifest.json").read_text())
    return {**manifest, "cache": cache or manifest["cache"], "passed": passed}


def main() -> None:
    """Run the benchmark and print (and optionally save) the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", type=Path, default=Path("../shared/data/uci-hapt"))
    ap.add_argument("--experiments", type=int, default=16, help="first N HAPT experiments")
    ap.add_argument("--scale", type=int, default=10, help="synthetic copies (0: skip)")
    ap.add_argument("--scale-experiments", type=int, default=2,
                    help="experiments the synthetic copies are made of")
    ap.add_argument("--stage", default="2")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--trend-method", default=None, help="default: the preset's")
    ap.add_argument("--work", type=Path, default=None, help="scratch directory")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from prefect.server.api.server import SubprocessASGIServer

    from flows.config import make_config
    from flows.runners import shared_api

    work = args.work or Path(tempfile.mkdtemp(prefix="harqa-scale-"))
    workers = [int(w) for w in args.workers.split(",")]
    results: dict = {"cpu_count": os.cpu_count(), "stage": args.stage, "builds": []}
    t = time.perf_counter()
    server = SubprocessASGIServer()
    server.start(timeout=300)
    results["api_startup_s"] = round(time.perf_counter() - t, 1)
    server.stop()
    tm = args.trend_method
    configs = [("hapt", make_config("uci_har", input=args.input, stage=args.stage,
                                    trend_method=tm, reader_options={"experiments": list(
                                        range(1, args.experiments + 1))}))]
    if args.scale:
        syn = work / "synthetic"
        test = synthetic_hapt(args.input, syn, args.scale,
                              list(range(1, args.scale_experiments + 1)))
        configs.append((f"synthetic_x{args.scale}",
                        make_config("uci_har", input=syn, stage=args.stage, trend_method=tm,
                                    test_subjects=",".join(test), name="synthetic")))
    with shared_api():
        results["prefect"] = prefect_overhead()
        for label, cfg in configs:
            cfg = dataclasses.replace(cfg, min_pass_rate=0.0)  # speed, not the checks
            for w in workers:
                r = run_one(label, cfg, w, work)
                results["builds"].append(r)
                print(json.dumps(r), flush=True)
            first = results["builds"][-len(workers)]
            t = time.perf_counter()
            again = build_manifest(cfg, Path(first["out"]))
            first["cached_rebuild_s"] = round(time.perf_counter() - t, 2)
            first["cached_hits"] = again["cache"]["hits"]
    for label, _ in configs:
        mine = {r["workers"]: r for r in results["builds"] if r["dataset"] == label}
        if 1 in mine and len(mine) > 1:
            best = max(w for w in mine if w > 1)
            results.setdefault("speedup", {})[label] = {
                f"1→{best}": round(mine[1]["wall_s"] / mine[best]["wall_s"], 2)}
    print(json.dumps({k: v for k, v in results.items() if k != "builds"}, indent=2))
    print(f"{'dataset':<16}{'workers':>8}{'recs':>6}{'rows':>9}{'wall s':>9}{'rows/s':>9}"
          f"{'peak MiB':>10}{'cached s':>10}")
    for r in results["builds"]:
        print(f"{r['dataset']:<16}{r['workers']:>8}{r['recordings']:>6}{r['rows_in']:>9}"
              f"{r['wall_s']:>9}{r['rows_per_s']:>9}{r['peak_rss_mib']:>10}"
              f"{r.get('cached_rebuild_s', ''):>10}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
