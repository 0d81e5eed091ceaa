"""Benchmark: a day of irregular 100 Hz phone clock onto the grid; throughput and peak RSS.

Writes a CSV of ``--hours`` of 3-axis acceleration stamped by ``synthetic.phone_clock``
(UNIX-ms stamps, duplicates, late samples, jitter; a 2 s gap every hour), then in a fresh
process reads it with the tabular reader (pandas chunks, then the clock policy) and
reports rows/s of the whole read, of the clock policy alone, and the reader process's
peak RSS (``ru_maxrss``), against the 1 GB build budget.

    python benchmarks/bench_resample.py --hours 24
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from generators.synthetic import phone_clock

SPEC = {"timestamp": {"column": "timestamp", "unit": "ms"}, "sample_rate_hz": 100,
        "channels": [{"column": c, "name": f"pocket_acc_{c}", "unit": "g"} for c in "xyz"]}


def generate(path: Path, hours: float, seed: int = 0) -> int:
    """Write the CSV one hour at a time; returns the rows written."""
    rows = 0
    options = pacsv.WriteOptions(include_header=False)
    with open(path, "wb") as fh:
        fh.write(b"timestamp,x,y,z\n")
        for hour in range(int(np.ceil(hours))):
            length = min(3600.0, hours * 3600 - hour * 3600)
            true_s, stamp_ms = phone_clock(seed + hour, length, gaps=[(length / 2, 2.0)])
            t = true_s + hour * 3600
            xyz = np.column_stack([0.5 * np.sin(2 * np.pi * f * t) for f in (0.7, 2.3, 4.9)])
            pacsv.write_csv(pa.table({"timestamp": 1_700_000_000_000 + hour * 3_600_000 + stamp_ms,
                                      "x": xyz[:, 0].round(5), "y": xyz[:, 1].round(5),
                                      "z": xyz[:, 2].round(5)}), fh, options)
            rows += len(t)
    return rows


def measure(path: str) -> None:
    """(In the child process.) Read the file, time the clock policy, print JSON."""
    from generators.readers import _clock, read

    spent = []
    regularize = _clock.regularize

    def timed(*args, **kwargs):
        start = time.perf_counter()
        parts, report = regularize(*args, **kwargs)
        parts = list(parts)
        spent.append(time.perf_counter() - start)
        return iter(parts), report

    _clock.regularize = timed
    start = time.perf_counter()
    reports = []
    grid = sum(r.n_samples for r in read("tabular", Path(path), spec=SPEC,
                                         on_clock=reports.append))
    total = time.perf_counter() - start
    print(json.dumps({"rows": reports[0].samples, "grid_samples": grid,
                      "parts": reports[0].parts, "read_s": round(total, 2),
                      "clock_s": round(sum(spent), 2),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "phone.csv"
        start = time.perf_counter()
        rows = generate(path, args.hours)
        print(f"wrote {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - start:.1f} s")
        out = subprocess.run([sys.executable, __file__, "--measure", str(path)], check=True,
                             capture_output=True, text=True).stdout
        result = json.loads(out)
        print(f"read {result['rows']:,} stamped rows -> {result['grid_samples']:,} grid samples "
              f"in {result['parts']} parts: {result['read_s']} s "
              f"({result['rows'] / result['read_s']:,.0f} rows/s), clock policy "
              f"{result['clock_s']} s ({result['rows'] / result['clock_s']:,.0f} rows/s); "
              f"peak RSS {result['peak_rss_mb']} MB (budget 1024 MB)")


if __name__ == "__main__":
    main()
