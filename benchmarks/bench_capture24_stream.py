"""Benchmark: stream and resample 6, 12 and 24 h Capture-24-format files; print peak RSS and time."""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
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


def read_and_resample(path: Path) -> dict:
    """Stream the file with the capture24 reader, resample to 50 Hz; report time and RSS."""
    from generators.readers import read
    from generators.resample import resample

    start = time.perf_counter()
    samples = out = 0
    for rec in read("capture24", path.parent):
        samples += rec.n_samples
        out += resample(rec, 50.0).n_samples
    return {"seconds": time.perf_counter() - start, "samples": samples, "samples_50hz": out,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(*args: str) -> dict:
    """Run this script in a fresh process (so its peak RSS is its own) and parse its JSON."""
    done = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, nargs="*", default=[6, 12, 24])
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        start = time.perf_counter()
        generate(args.generate, args.hours[0])
        print(json.dumps({"seconds": time.perf_counter() - start}))
        return
    if args.read:
        print(json.dumps(read_and_resample(args.read)))
        return
    print(f"{'hours':>5} {'rows':>10} {'gz MB':>7} {'write s':>8} {'read+resample s':>16} "
          f"{'s per h':>8} {'peak RSS MB':>12}")
    for hours in args.hours:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "P001.csv.gz"
            written = _child("--generate", str(path), "--hours", str(hours))
            result = _child("--read", str(path))
            print(f"{hours:5g} {result['samples']:10d} {path.stat().st_size / 2**20:7.1f} "
                  f"{written['seconds']:8.1f} {result['seconds']:16.1f} "
                  f"{result['seconds'] / hours:8.2f} {result['peak_rss_mb']:12.0f}", flush=True)


if __name__ == "__main__":
    main()
