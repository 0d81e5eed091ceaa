"""Benchmark: build 6, 12 and 24 h Capture-24-format files through the flow; peak RSS and time."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

RATE_HZ = 100
START = "2016-11-13T02:18:00"
# Annotation stretches cycled through the day (one per 10 minutes), plus unannotated ones.
ANNOTATIONS = ["7030 sleeping;MET 0.95", "",
               "occupation;office and administrative support;11580 office/computer work general;"
               "MET 1.5", "home activity;miscellaneous;walking;17150 walking household without "
               "observable loads;MET 2.0"]


def generate(path: Path, hours: float, seed: int = 0) -> None:
    """Write ``hours`` of 100 Hz wrist acc in Capture-24 layout, one hour at a time."""
    rng = np.random.default_rng(seed)
    per_hour = 3600 * RATE_HZ
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(b"time,x,y,z,annotation\n")
        for hour in range(int(np.ceil(hours))):
            n = int(min(per_hour, hours * per_hour - hour * per_hour))
            index = hour * per_hour + np.arange(n)
            t = index / RATE_HZ
            xyz = np.column_stack([np.sin(2 * np.pi * f * t) * 0.5 for f in (0.5, 1.0, 2.0)])
            xyz = (xyz + rng.normal(0, 0.05, xyz.shape)).round(6)
            stamps = np.datetime64(START) + index * np.timedelta64(1_000_000 // RATE_HZ, "us")
            table = pa.table({
                "time": pc.replace_substring(np.datetime_as_string(stamps, unit="us"), "T", " "),
                "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
                "annotation": np.array(ANNOTATIONS)[(index // 60_000) % 4]})
            pacsv.write_csv(table, fh, options)


class PeakTreeRss:
    """Samples the summed RSS of this process and its descendants (psutil) in a thread.

    Each sample also keeps every process's CPU seconds so far (``cpu_s``: PID → user +
    system) and its parent and command line (``procs``), so that the CPU of processes this
    one never waits for (a fork server's workers) is counted, to within one interval.
    """

    def __init__(self, every_s: float = 0.2) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self._every = every_s
        self.peak = 0
        self.cpu_s: dict[int, float] = {}
        self.procs: dict[int, tuple[int, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for p in [self._me, *self._me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
                cpu = p.cpu_times()
                self.cpu_s[p.pid] = cpu.user + cpu.system
                if p.pid not in self.procs:
                    self.procs[p.pid] = (p.ppid(), " ".join(p.cmdline()))
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                pass  # a child that exited between listing and reading
        return total

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.peak = max(self.peak, self._sample())

    def __enter__(self) -> "PeakTreeRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def build(path: Path, out: Path, shard_s: float | None, stage: str) -> dict:
    """Build the file with preset ``capture24`` through the real flow; report time and RSS.

    Runs in its own process, so ``ru_maxrss`` of RUSAGE_SELF is the build's own peak (the
    Prefect API server it starts is a child process, measured apart).
    """
    # As the CLI does: a loaded machine can take longer than Prefect's 20 s default to start
    # the ephemeral API server.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from flows.build import run_build
    from flows.config import make_config

    cfg = make_config("capture24", input=path, name="bench", shard_s=shard_s, stage=stage)
    start = time.perf_counter()
    with PeakTreeRss() as tree:
        summary = run_build(cfg, out=str(out))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "flow_seconds": summary["seconds"], "counts": summary["counts"],
            "shards": summary["cache"]["shards"], "shard_s": cfg.shard_s, "stage": stage,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_children_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "peak_tree_rss_mb": tree.peak / 2**20}


def _child(*args: str) -> dict:
    """Run this script in a fresh process (so its peak RSS is its own) and parse its JSON."""
    done = subprocess.run([sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE,
                          text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, nargs="*", default=[6, 12, 24])
    parser.add_argument("--shard-s", type=float, default=None,
                        help="seconds per shard (default: the preset's)")
    parser.add_argument("--stage", default="all", help="1, 2 or all (as harqa build --stage)")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).parent / "results" / "capture24_stream.json")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        start = time.perf_counter()
        generate(args.generate, args.hours[0])
        print(json.dumps({"seconds": time.perf_counter() - start}))
        return
    if args.build:
        print(json.dumps(build(args.build, args.out, args.shard_s, args.stage)))
        return
    print(f"{'hours':>5} {'rows in':>8} {'shards':>6} {'gz MB':>6} {'build s':>8} {'s per h':>8} "
          f"{'peak RSS MB':>11} {'tree MB':>8}")
    results = {"cpu_count": os.cpu_count(), "load_avg_1m_at_start": os.getloadavg()[0],
               "builds": []}
    for hours in args.hours:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "P001.csv.gz"
            written = _child("--generate", str(path), "--hours", str(hours))
            extra = ["--stage", args.stage] + (["--shard-s", str(args.shard_s)] if args.shard_s
                                               else [])
            r = _child("--build", str(path), "--out", str(Path(tmp) / "out"), *extra)
            r.update(hours=hours, gz_mb=path.stat().st_size / 2**20,
                     generate_seconds=written["seconds"], seconds_per_hour=r["seconds"] / hours)
            results["builds"].append(r)
            print(f"{hours:5g} {r['counts']['rows_in']:8d} {r['shards']:6d} {r['gz_mb']:6.1f} "
                  f"{r['seconds']:8.1f} {r['seconds_per_hour']:8.1f} {r['peak_rss_mb']:11.0f} "
                  f"{r['peak_tree_rss_mb']:8.0f}", flush=True)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
