"""Benchmark: tabular preprocessing vs a plain `pandas.read_csv` of the same file.

Generates a CSV (default 1,000,000 rows x 50 feature columns, 10 of them categorical strings,
5 % missing cells, plus a binary `target`) in a temporary folder, then measures side by side,
each in a fresh subprocess: `pandas.read_csv(path)` and `preprocess_project` (read with the
schema, impute, one-hot, sort, summary statistics, cache written to disk). Prints a Markdown
table with the time and peak-memory ratios and PASS/MISS against the targets
(time <= 3x read_csv, peak memory < 4x the DataFrame's memory).

Usage: python bench/preprocess.py [--rows N] [--columns N] [--categorical N] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

TIME_TARGET = 3.0
MEMORY_TARGET = 4.0


def generate_dataset(folder: Path, rows: int, columns: int, categorical: int, missing: float,
                     seed: int) -> Path:
    """Write `<folder>/bench/train/{data.csv, schema.json, metadata.json}`; return the CSV."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    schema: dict[str, str] = {}
    for j in range(columns - categorical):
        values = np.round(rng.normal(loc=j, scale=1 + j % 7, size=rows), 3)
        values[rng.random(rows) < missing] = np.nan
        data[f"num_{j:02d}"] = values
        schema[f"num_{j:02d}"] = "float64"
    for j in range(categorical):
        n_levels = 3 + j % 6
        levels = np.array([f"level_{k}" for k in range(n_levels)] + [""], dtype=object)
        codes = rng.integers(0, n_levels, size=rows)
        codes[rng.random(rows) < missing] = n_levels  # the empty string: a missing cell
        data[f"cat_{j:02d}"] = levels[codes]
        schema[f"cat_{j:02d}"] = "category"
    first = data["num_00"]
    data["target"] = (np.nan_to_num(first) > 0).astype(np.int8)
    schema["target"] = "int32"
    dataset = folder / "bench" / "train"
    dataset.mkdir(parents=True)
    (dataset / "metadata.json").write_text(json.dumps({"datatype": "tabular"}))
    (dataset / "schema.json").write_text(json.dumps(schema))
    path = dataset / "data.csv"
    pd.DataFrame(data).to_csv(path, index=False)
    return path


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure_read_csv(path: Path) -> dict[str, float]:
    """Time `pandas.read_csv(path)`; report its DataFrame's deep memory and the RSS growth."""
    start_rss = psutil.Process().memory_info().rss
    started = time.perf_counter()
    frame = pd.read_csv(path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_bytes": _peak_rss_bytes() - start_rss,
            "frame_bytes": int(frame.memory_usage(deep=True).sum())}


def measure_pipeline(data_root: Path, outputs: Path) -> dict[str, float]:
    """Time a cold `preprocess_project` run, then a cached one; report the RSS growth."""
    from synergos_worker.datasets import load_prepared, preprocess_project

    start_rss = psutil.Process().memory_info().rss
    started = time.perf_counter()
    answer = preprocess_project(data_root, outputs, "bench", {"train": [["bench", "train"]]},
                                "classify")
    seconds = time.perf_counter() - started
    peak = _peak_rss_bytes() - start_rss
    started = time.perf_counter()
    preprocess_project(data_root, outputs, "bench", {"train": [["bench", "train"]]}, "classify")
    cached = time.perf_counter() - started
    prepared = load_prepared(outputs, "bench", "train")
    return {"seconds": seconds, "peak_bytes": peak, "cached_seconds": cached,
            "n_rows": answer["train"]["metadata"]["n_rows"],
            "n_features": answer["train"]["metadata"]["n_features"],
            "x_bytes": int(prepared.X.nbytes)}


def run_measurement(kind: str, *paths: Path) -> dict[str, float]:
    """Run one measurement in a fresh interpreter so peak RSS is its own."""
    command = [sys.executable, __file__, "--measure", kind, *map(str, paths)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(args: argparse.Namespace, csv_path: Path, baseline: list[dict], pipeline: list[dict]
           ) -> str:
    """The Markdown table of the best runs, with ratios and PASS/MISS."""
    read_s = min(run["seconds"] for run in baseline)
    pipe_s = min(run["seconds"] for run in pipeline)
    frame_bytes = baseline[0]["frame_bytes"]
    read_peak = max(run["peak_bytes"] for run in baseline)
    pipe_peak = max(run["peak_bytes"] for run in pipeline)
    cached_s = min(run["cached_seconds"] for run in pipeline)
    mib = 1024**2
    time_ratio = pipe_s / read_s
    memory_ratio = pipe_peak / frame_bytes
    lines = [
        f"Tabular preprocessing benchmark: {args.rows:,} rows x {args.columns} columns "
        f"({args.categorical} categorical, {args.missing:.0%} missing), CSV "
        f"{csv_path.stat().st_size / mib:,.0f} MiB, best of {args.repeats}, "
        f"{os.cpu_count()} CPU(s)",
        "",
        "| measure | pandas.read_csv | preprocess_project | ratio | target | result |",
        "|---|---|---|---|---|---|",
        f"| time (s) | {read_s:.2f} | {pipe_s:.2f} | {time_ratio:.2f}x | <= {TIME_TARGET:.0f}x "
        f"| {'PASS' if time_ratio <= TIME_TARGET else 'MISS'} |",
        f"| peak memory growth (MiB) | {read_peak / mib:,.0f} | {pipe_peak / mib:,.0f} | "
        f"{memory_ratio:.2f}x of the DataFrame ({frame_bytes / mib:,.0f} MiB) | "
        f"< {MEMORY_TARGET:.0f}x | {'PASS' if memory_ratio < MEMORY_TARGET else 'MISS'} |",
        "",
        f"Prepared X: {pipeline[0]['n_rows']:,} x {pipeline[0]['n_features']} float32 "
        f"({pipeline[0]['x_bytes'] / mib:,.0f} MiB); a cached re-poll takes {cached_s:.3f} s.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Generate the data, run the measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--categorical", type=int, default=10)
    parser.add_argument("--missing", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        kind, *paths = args.measure
        result = (measure_read_csv(Path(paths[0])) if kind == "read_csv"
                  else measure_pipeline(Path(paths[0]), Path(paths[1])))
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="synergos-bench-") as scratch:
        root = Path(scratch) / "data"
        started = time.perf_counter()
        csv_path = generate_dataset(root, args.rows, args.columns, args.categorical,
                                    args.missing, args.seed)
        print(f"generated {csv_path.stat().st_size / 1024**2:,.0f} MiB in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        baseline, pipeline = [], []
        for attempt in range(args.repeats):
            baseline.append(run_measurement("read_csv", csv_path))
            outputs = Path(scratch) / f"outputs_{attempt}"
            pipeline.append(run_measurement("pipeline", root, outputs))
        print(report(args, csv_path, baseline, pipeline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
