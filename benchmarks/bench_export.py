"""Benchmark: export a Capture-24 build of ``--hours`` hours in every format; time, peak RSS.

Usage: ``python benchmarks/bench_export.py [--hours 24] [--formats chatts messages …]
[--dataset DIR]``.

A Capture-24-format file of each ``--hours`` (``bench_capture24_stream.generate``) is built
through the real flow (preset ``capture24``, both stages), or ``--dataset`` names a build
to export instead (building the 24 h file takes tens of minutes: build it once, e.g. with
``bench_capture24_stream.py --build``, and pass it). Each format is then exported by
``generators.export.export`` in a fresh process, so its ``ru_maxrss`` is that export's own
peak. Results go to ``benchmarks/results/export.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_capture24_stream import _child as capture24_child  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "export.json"
#: Formats to export; ``sensorllm+pickle`` is sensorllm with ``--series-file pickle``.
FORMATS = ["chatts", "jsonl", "messages", "opentslm", "sensorllm", "sensorllm+pickle"]


def export_once(dataset: Path, fmt: str, out: Path) -> dict:
    """Export ``dataset`` as ``fmt`` (``FORMATS``) into ``out`` in this process; seconds
    (wall and CPU), peak RSS, size written, files and the largest file."""
    from generators.export import export
    from generators.exporters import ExportOptions

    name, _, series_file = fmt.partition("+")
    start, cpu = time.perf_counter(), time.process_time()
    summary = export(dataset, name, str(out), ExportOptions(series_file=series_file or "npz"))
    sizes = [f.stat().st_size for f in out.rglob("*") if f.is_file()]
    return {"format": fmt, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "out_mb": sum(sizes) / 2**20, "largest_file_mb": max(sizes) / 2**20,
            "files": len(summary["files"])}


def _export_child(dataset: Path, fmt: str, out: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--export", str(dataset), "--format", fmt,
                           "--out", str(out)], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rows(dataset: Path) -> int:
    manifest = json.loads((dataset / "manifest.json").read_text())
    return sum(n for key, n in manifest["counts"].items() if key.startswith("stage"))


def bench(dataset: Path, formats: list[str], tmp: Path, label: dict) -> dict:
    """Export ``dataset`` in each format; print a line per format."""
    result = {**label, "rows": _rows(dataset),
              "dataset_mb": sum(f.stat().st_size for f in dataset.rglob("*.parquet")) / 2**20,
              "exports": []}
    for fmt in formats:
        out = tmp / f"export-{fmt}"
        r = _export_child(dataset, fmt, out)
        shutil.rmtree(out)
        result["exports"].append(r)
        print(f"{label.get('hours', '-'):>5} {result['rows']:8d} {fmt:>16} {r['seconds']:8.1f} "
              f"{r['cpu_seconds']:6.1f} {r['peak_rss_mb']:11.0f} {r['out_mb']:8.1f} "
              f"{r['files']:5d} {r['largest_file_mb']:8.1f}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, nargs="*", default=[24])
    parser.add_argument("--formats", nargs="*", default=FORMATS)
    parser.add_argument("--dataset", type=Path, help="export this build instead of building")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export:
        print(json.dumps(export_once(args.export, args.format, args.out)))
        return
    print(f"{'hours':>5} {'rows':>8} {'format':>16} {'export s':>8} {'CPU s':>6} "
          f"{'peak RSS MB':>11} {'out MB':>8} {'files':>5} {'max MB':>8}")
    results = {"cpu_count": os.cpu_count(), "load_avg_1m_at_start": os.getloadavg()[0],
               "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        if args.dataset:
            results["runs"].append(bench(args.dataset, args.formats, Path(tmp),
                                         {"dataset": str(args.dataset)}))
        for hours in [] if args.dataset else args.hours:
            path = Path(tmp) / "P001.csv.gz"
            capture24_child("--generate", str(path), "--hours", str(hours))
            built = capture24_child("--build", str(path), "--out", str(Path(tmp) / "out"))
            dataset = next((Path(tmp) / "out").glob("*/manifest.json")).parent
            run = bench(dataset, args.formats, Path(tmp),
                        {"hours": hours, "build_seconds": built["seconds"]})
            results["runs"].append(run)
            shutil.rmtree(Path(tmp) / "out")
            path.unlink()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
