"""End-to-end build cost on real data: where the time goes, per row and per recorded hour.

Usage: ``python benchmarks/bench_build.py [--hours 24] [--workers 1 2] [--dask-local 2]
[--repeat 1] [--skip-flow] [--skip-hapt] [--skip-capture24] [--experiments 1,2,3]
[--seed-sample 300]``.

Two inputs: every HAPT recording under ``../shared/data/uci-hapt`` (preset ``uci_har``,
stage 1+2) and a generated Capture-24-format file of ``--hours`` hours at 100 Hz (preset
``capture24``; ``bench_capture24_stream.generate``). For each:

* **Stages, in process, without Prefect.** The flow's own task bodies run directly
  (``stage_recordings.fn``, ``process_shard.fn`` on every shard), then the dataset
  checks and the Great Expectations suites on the assembled parts, as ``_validate``
  does. The product's functions are wrapped with timers from outside (no timing code
  in the product): read/stage, cut, trends (``trends.detect_batch``), features
  (``features.summarize_windows`` less its trends), render (``qa.build_items``), Arrow
  (``items_to_table``), semantic check (``check_table``), Parquet write, dataset checks,
  GX. Figures are this process's CPU time (``time.process_time``): the machine may be
  shared, and waiting for a CPU does not count; wall seconds are kept beside them.
* **The real flow** (``flows.build.run_build``) in a fresh process per run, on one
  worker (threads), on each ``--workers`` count with the process pool and on each
  ``--dask-local`` cluster size, every run ``--repeat`` times (the machine may be shared:
  wall-clock ratios are noisy): wall seconds, CPU seconds of the whole process tree
  sampled per process with psutil (the Prefect API server, the fork server and each
  pool or cluster worker, reported apart), rows/s, peak RSS of the build process and of
  its tree, and each multi-worker run's speed-up over the one-worker run of its repeat.
  The Prefect API start is timed on its own (a fresh process starting and stopping
  ``SubprocessASGIServer``); the flow's CPU less the stages' CPU less that start is
  reported as Prefect overhead.
* **The seed-style generator** (``bench_speed.seed_style``) on an evenly spaced sample of
  the same channel-windows; the ratio compares it with describe (cut + trends + features
  + render) per channel-window.

Results go to ``benchmarks/results/build.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from bench_capture24_stream import PeakTreeRss, generate  # noqa: E402
from bench_speed import seed_style  # noqa: E402
from bench_trends import HAPT, RESULTS  # noqa: E402

#: Stages in report order: (label, module, attribute) of the function timed for it.
WRAPPED = (("cut", "generators.pipeline", "cut"),
           ("trends", "generators.trends", "detect_batch"),
           ("summarize", "generators.features", "summarize_windows"),
           ("render", "generators.qa", "build_items"),
           ("arrow", "generators.dataset", "items_to_table"),
           ("semantic_check", "validation.semantic", "check_table"),
           ("parquet_write", "generators.dataset", "write_parquet_atomic"),
           ("load_recording", "flows.build", "load_recording"))


class Clock:
    """CPU and wall seconds accumulated per label."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)

    @contextmanager
    def timing(self, label: str) -> Iterator[None]:
        """Add the CPU and wall time of the block to ``label``."""
        c, w = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu[label] += time.process_time() - c
            self.wall[label] += time.perf_counter() - w

    @contextmanager
    def wrapping(self, targets: tuple[tuple[str, str, str], ...]) -> Iterator[None]:
        """Time every call of each ``module.attribute`` under its label while inside."""
        import importlib

        saved = []
        for label, mod_name, attr in targets:
            mod = importlib.import_module(mod_name)
            fn = getattr(mod, attr)

            @functools.wraps(fn)
            def timed(*a, _fn=fn, _label=label, **kw):  # noqa: ANN002, ANN003, ANN202
                with self.timing(_label):
                    return _fn(*a, **kw)

            saved.append((mod, attr, fn))
            setattr(mod, attr, timed)
        try:
            yield
        finally:
            for mod, attr, fn in saved:
                setattr(mod, attr, fn)


def stages(cfg, out: Path, seed_sample: int) -> dict:  # noqa: ANN001 (a BuildConfig)
    """Run the build's task bodies in process with every stage timed (see the module doc)."""
    from flows import build as fb
    from generators import pipeline, publish, shards as gs
    from validation import dataset_checks, gx_suites

    clock = Clock()
    described: list = []  # (recording, windows) for the seed-style comparison
    real_cut = pipeline.cut

    def cut_and_keep(rec, cfg, span=None):  # noqa: ANN001, ANN202
        wins = real_cut(rec, cfg, span)
        described.append((rec, wins))
        return wins

    with clock.timing("total"):
        with clock.timing("read_stage"):
            refs = fb.stage_recordings.fn(cfg, str(out))
        shards = gs.plan_shards(refs, cfg.shard_s)
        packs = gs.preflight(cfg)
        base = gs.rows_key(cfg, packs)
        pipeline.cut = cut_and_keep
        try:
            with clock.wrapping(WRAPPED), clock.timing("shards"):
                results = [fb.process_shard.fn(s, cfg, gs.shard_key(base, s), str(out))
                           for s in shards]
        finally:
            pipeline.cut = real_cut
        staging = out / "staging"
        publish.stage_parts(staging, results)
        with clock.timing("dataset_checks"):
            checks = dataset_checks.run_dataset_checks(staging, {"classes": cfg.classes})
        with clock.timing("great_expectations"):
            gx = gx_suites.run_suites(staging)
    assert all(c["passed"] for c in checks.values()) and gx["success"], (checks, gx)
    counts = publish.summary_counts([r["counts"] for r in results])
    cpu = dict(clock.cpu)
    cpu["features"] = cpu.pop("summarize") - cpu["trends"]
    cpu["read_stage"] += cpu.pop("load_recording")
    cpu["other"] = cpu["total"] - sum(v for k, v in cpu.items() if k not in ("total", "shards"))
    del cpu["shards"]
    rows = counts["rows_in"]
    hours = sum(r.n_samples / r.sample_rate_hz for r in refs) / 3600
    describe = sum(cpu[k] for k in ("cut", "trends", "features", "render"))
    channel_windows = [(rec, w, c) for rec, wins in described for w in wins
                       for c in range(len(rec.channels))]
    return {"rows": rows, "counts": counts, "recordings": len(refs), "shards": len(shards),
            "recorded_hours": hours, "cpu_s": cpu, "wall_s": dict(clock.wall),
            "us_per_row": {k: 1e6 * v / rows for k, v in cpu.items()},
            "s_per_recorded_hour": {k: v / hours for k, v in cpu.items()},
            "channel_windows": len(channel_windows),
            "describe_us_per_channel_window": 1e6 * describe / len(channel_windows),
            "seed_style": seed_side(channel_windows, seed_sample)}


def seed_side(channel_windows: list, sample: int) -> dict:
    """CPU µs per channel-window of the seed-style generator on an even sample of them."""
    pick = np.linspace(0, len(channel_windows) - 1, min(sample, len(channel_windows))).astype(int)
    start = time.process_time()
    for i in pick:
        rec, w, c = channel_windows[int(i)]
        seed_style(np.asarray(rec.values[w.start:w.end, c]), rec.sample_rate_hz, rec.channels[c].name)
    return {"timed_on": len(pick), "us_per_channel_window":
            1e6 * (time.process_time() - start) / len(pick)}


def flow_run(cfg, out: Path, workers: int, pool: str) -> dict:  # noqa: ANN001
    """One real flow run in this (fresh) process: wall, CPU of the tree, peak RSS.

    ``pool`` is ``thread``, ``process`` or ``dask`` (a local cluster of ``workers``). CPU
    seconds are sampled per process of the tree (:class:`PeakTreeRss`), so the workers a
    fork server starts count too, and are reported per role: this process (``main``),
    the API server, the fork server, each worker, the rest (resource tracker).
    """
    from flows.build import run_build

    runner = {"dask_local": workers} if pool == "dask" else {"workers": workers, "pool": pool}
    start = time.perf_counter()
    with PeakTreeRss() as tree:
        summary = run_build(cfg, out=str(out), **runner)
    wall = time.perf_counter() - start
    me = resource.getrusage(resource.RUSAGE_SELF)
    tree.cpu_s[os.getpid()] = me.ru_utime + me.ru_stime
    roles = cpu_roles(tree.cpu_s, tree.procs)
    return {"workers": workers, "pool": pool, "wall_s": wall, "flow_wall_s": summary["seconds"],
            "cpu_s": sum(tree.cpu_s.values()), "cpu_s_by_role": roles,
            "rows": summary["counts"]["rows_in"], "peak_rss_mb": me.ru_maxrss / 1024,
            "peak_tree_rss_mb": tree.peak / 2**20}


def cpu_roles(cpu_s: dict[int, float], procs: dict[int, tuple[int, str]]) -> dict:
    """CPU seconds of a build's process tree by role (see :func:`flow_run`)."""
    me = os.getpid()
    servers = {pid for pid, (ppid, cmd) in procs.items() if ppid == me and "forkserver" in cmd}
    out: dict = {"main": cpu_s.get(me, 0.0), "api_server": 0.0, "fork_server": 0.0,
                 "workers": [], "other": 0.0}
    for pid, (ppid, cmd) in procs.items():
        if pid == me:
            continue
        if "uvicorn" in cmd:
            out["api_server"] += cpu_s[pid]
        elif pid in servers:
            out["fork_server"] += cpu_s[pid]
        elif ppid in servers or ("spawn_main" in cmd and "resource_tracker" not in cmd):
            out["workers"].append(cpu_s[pid])
        else:
            out["other"] += cpu_s[pid]
    return out


def api_start() -> dict:
    """Wall and CPU seconds to start and stop Prefect's ephemeral API (fresh process)."""
    import prefect  # noqa: F401  (imported before the clock starts, as a build has it)
    from prefect.server.api.server import SubprocessASGIServer

    c0, w0 = time.process_time(), time.perf_counter()
    server = SubprocessASGIServer()
    server.start(timeout=120)
    up = time.perf_counter() - w0
    server.stop()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": up, "cpu_s": time.process_time() - c0 + kids.ru_utime + kids.ru_stime}


def _child(*args: str) -> dict:
    """Run this script in a fresh process and parse the JSON of its last line."""
    done = subprocess.run([sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE,
                          text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def config(name: str, source: Path, experiments: list[int] | None = None):  # noqa: ANN201
    """The build settings of one benchmark input (HAPT: all experiments, or those given)."""
    from flows.config import make_config

    options = {"experiments": experiments} if experiments and name == "hapt" else None
    return make_config("uci_har" if name == "hapt" else "capture24", input=source,
                       name=f"bench_{name}", reader_options=options)


def measure(name: str, source: Path, args: argparse.Namespace, tmp: Path) -> dict:
    """Stages in process (in a child), then the flow on each worker count (each a child)."""
    out: dict = {"input": str(source)}
    subset = [f"--experiments={','.join(map(str, args.experiments))}"] if args.experiments else []
    out["stages"] = _child("--stages", name, str(source), str(tmp / "stages"),
                           "--seed-sample", str(args.seed_sample), *subset)
    rows = out["stages"]["rows"]
    report_stages(name, out["stages"])
    if args.skip_flow:
        return out
    out["flows"] = []
    runs = [(w, "thread" if w == 1 else "process") for w in args.workers]
    runs += [(n, "dask") for n in args.dask_local]
    for repeat in range(args.repeat):
        for workers, pool in runs:
            target = tmp / f"flow{workers}{pool}"
            r = _child("--flow", name, str(source), str(target), str(workers), pool, *subset)
            shutil.rmtree(target, ignore_errors=True)
            r["repeat"] = repeat
            r["rows_per_s_wall"] = rows / r["wall_s"]
            r["rows_per_s_cpu"] = rows / r["cpu_s"]
            out["flows"].append(r)
            roles = r["cpu_s_by_role"]
            print(f"  flow, {workers} worker(s) ({pool}): {r['wall_s']:.1f} s wall "
                  f"({r['flow_wall_s']:.1f} s in the flow body), {r['cpu_s']:.1f} s CPU "
                  f"(main {roles['main']:.1f}, API {roles['api_server']:.1f}, fork server "
                  f"{roles['fork_server']:.1f}, workers "
                  f"{', '.join(f'{c:.1f}' for c in roles['workers']) or '-'}), "
                  f"{r['rows_per_s_wall']:,.0f} rows/s wall, peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(tree {r['peak_tree_rss_mb']:.0f} MB), load {os.getloadavg()[0]:.1f}",
                  flush=True)
    return out


def speedups(flows: list[dict]) -> dict[str, list[float]]:
    """Wall-clock speed-up of each multi-worker run over the one-worker run of its repeat."""
    one = {r["repeat"]: r["wall_s"] for r in flows if r["workers"] == 1 and r["pool"] == "thread"}
    out: dict[str, list[float]] = {}
    for r in flows:
        if r["workers"] > 1 or r["pool"] == "dask":
            out.setdefault(f"{r['workers']} {r['pool']}", []).append(
                one[r["repeat"]] / r["wall_s"])
    return out


def report_stages(name: str, s: dict) -> None:
    """Print one input's stage table."""
    print(f"{name}: {s['recordings']} recordings, {s['recorded_hours']:.2f} h recorded, "
          f"{s['rows']:,} rows, {s['shards']} shards (CPU time, in process, no Prefect)")
    print(f"  {'stage':<20}{'CPU s':>9}{'µs/row':>9}{'s/hour':>9}")
    for k, v in s["cpu_s"].items():
        print(f"  {k:<20}{v:9.2f}{s['us_per_row'][k]:9.1f}{s['s_per_recorded_hour'][k]:9.2f}")
    seed = s["seed_style"]["us_per_channel_window"]
    mine = s["describe_us_per_channel_window"]
    print(f"  describe {mine:.1f} µs per channel-window ({s['channel_windows']:,}); seed-style "
          f"{seed:,.0f} µs (on {s['seed_style']['timed_on']}): ratio {seed / mine:,.0f}×", flush=True)


def main() -> None:
    """Run the benchmark and write the results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=HAPT, help="the UCI HAPT directory")
    ap.add_argument("--hours", type=float, default=24.0, help="length of the Capture-24 file")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2],
                    help="flow runs: 1 on threads, more on a process pool")
    ap.add_argument("--dask-local", type=int, nargs="*", default=[2],
                    help="flow runs on a local Dask cluster of this many workers")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every flow this many times (wall-clock ratios are noisy)")
    ap.add_argument("--seed-sample", type=int, default=300)
    ap.add_argument("--experiments", type=lambda v: [int(x) for x in v.split(",")],
                    help="HAPT experiment numbers, comma-separated (default: all)")
    ap.add_argument("--skip-flow", action="store_true", help="stages only")
    ap.add_argument("--skip-hapt", action="store_true")
    ap.add_argument("--skip-capture24", action="store_true")
    ap.add_argument("--json", type=Path, default=RESULTS / "build.json")
    ap.add_argument("--stages", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--flow", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--api", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stages:
        name, source, out = args.stages
        print(json.dumps(stages(config(name, Path(source), args.experiments), Path(out),
                                args.seed_sample)))
        return
    if args.flow:
        name, source, out, workers, pool = args.flow
        print(json.dumps(flow_run(config(name, Path(source), args.experiments), Path(out),
                                  int(workers), pool)))
        return
    if args.api:
        print(json.dumps(api_start()))
        return
    results: dict = {"cpu_count": os.cpu_count(), "load_avg_1m_at_start": os.getloadavg()[0],
                     "times": "CPU seconds (process_time / rusage) unless named wall"}
    if not args.skip_flow:
        results["api_start"] = _child("--api")
        print(f"Prefect API start: {results['api_start']['wall_s']:.1f} s wall, "
              f"{results['api_start']['cpu_s']:.1f} s CPU", flush=True)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        if not args.skip_hapt:
            if not args.data.is_dir():
                sys.exit(f"{args.data} not found: the benchmark needs the real HAPT recordings")
            results["hapt"] = measure("hapt", args.data, args, tmp / "hapt")
        if not args.skip_capture24:
            c24 = tmp / "c24"
            c24.mkdir()
            generate(c24 / "P001.csv.gz", args.hours)
            results["capture24"] = measure("capture24", c24, args, tmp / "capture24")
            results["capture24"]["hours"] = args.hours
    for name in ("hapt", "capture24"):
        part = results.get(name)
        if part and "flows" in part:
            api = results["api_start"]["cpu_s"]
            one = part["flows"][0]
            staged = part["stages"]["cpu_s"]["total"]
            part["prefect_overhead_cpu_s"] = one["cpu_s"] - staged - api
            part["end_to_end_us_per_row_cpu_without_api"] = 1e6 * (one["cpu_s"] - api) / part[
                "stages"]["rows"]
            print(f"{name}: end to end {part['end_to_end_us_per_row_cpu_without_api']:.0f} µs "
                  f"CPU per row without the API start; Prefect overhead "
                  f"{part['prefect_overhead_cpu_s']:.1f} s CPU", end="")
            part["speedups"] = speedups(part["flows"])
            for label, ratios in part["speedups"].items():
                print(f"; {label}: {', '.join(f'{x:.2f}' for x in ratios)}× wall", end="")
            print()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
