"""Archive throughput: synarchive's journal storage vs TinyDB's default JSONStorage.

Run: `.venv/bin/python bench/archive.py [--sizes 1000 10000] [--ops 1000]`. For each size it
creates that many Run records in a fresh archive (timed), then reads, updates and deletes
`--ops` random records, and prints a Markdown table of operations per second. Every journal
write is fsync'ed; TinyDB's JSONStorage rewrites the whole file per
write without fsync, and re-parses it per read.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB

from synarchive import Archive

TARGET_CREATES_PER_S = 500
MAX_SLOWDOWN = 3.0


def run_details(index: int) -> dict[str, Any]:
    """A realistic Run record: the default run fields."""
    return {
        "algorithm": "FedProx", "rounds": 2 + index % 5, "epochs": 1, "lr": 0.001,
        "batch_size": None, "weight_decay": 0.0, "lr_decay": 0.1, "mu": 0.1, "l1_lambda": 0.0,
        "l2_lambda": 0.0, "optimizer": "SGD", "criterion": "NLLLoss", "lr_scheduler": "CyclicLR",
        "base_lr": 0.0005, "max_lr": 0.005, "delta": 0.0, "patience": 10, "seed": 42,
        "is_condensed": True, "precision_fractional": 5, "is_snn": False,
    }


def run_key(index: int) -> dict[str, str]:
    """Keys spread over 10 projects x 10 experiments."""
    return {"project_id": f"project_{index % 10}", "expt_id": f"expt_{index // 10 % 10}",
            "run_id": f"run_{index}"}


def timed(count: int, action: Callable[[int], Any], order: list[int]) -> float:
    """Operations per second of `action(i)` over `order[:count]`."""
    started = time.perf_counter()
    for index in order[:count]:
        action(index)
    return count / (time.perf_counter() - started)


def bench_journal(folder: Path, size: int, ops: int) -> dict[str, float]:
    """Throughputs of synarchive (journal storage, durable) at `size` records."""
    path = folder / f"journal_{size}.json"
    archive = Archive(path)
    runs = archive.table("Run")
    sample = random.Random(size).sample(range(size), min(ops, size))
    result = {"create": timed(size, lambda i: runs.create(run_key(i), run_details(i)),
                              list(range(size)))}
    result["read"] = timed(len(sample), lambda i: runs.read(run_key(i)), sample)
    result["update"] = timed(len(sample), lambda i: runs.update(run_key(i), {"epochs": 3}), sample)
    archive.close()
    started = time.perf_counter()
    archive = Archive(path)
    result["open"] = time.perf_counter() - started
    runs = archive.table("Run")
    result["delete"] = timed(len(sample), lambda i: runs.delete(run_key(i)), sample)
    archive.close()
    return result


def bench_tinydb_default(folder: Path, size: int, ops: int) -> dict[str, float]:
    """Throughputs of plain TinyDB with its default JSONStorage (not fsync'ed)."""
    path = folder / f"tinydb_{size}.json"
    database = TinyDB(path)
    runs = database.table("Run")
    record = Query()
    sample = random.Random(size).sample(range(size), min(ops, size))

    def create(i: int) -> None:
        runs.insert({**run_details(i), "key": run_key(i), "kind": "Run"})

    result = {"create": timed(size, create, list(range(size)))}
    result["read"] = timed(len(sample), lambda i: runs.get(record.key == run_key(i)), sample)
    result["update"] = timed(
        len(sample), lambda i: runs.update({"epochs": 3}, record.key == run_key(i)), sample
    )
    started = time.perf_counter()
    database.close()
    database = TinyDB(path)
    runs = database.table("Run")
    runs.all()
    result["open"] = time.perf_counter() - started
    result["delete"] = timed(len(sample), lambda i: runs.remove(record.key == run_key(i)), sample)
    database.close()
    return result


def markdown(rows: list[tuple[str, int, bool, dict[str, float]]]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| storage | records | durable | create/s | read/s | update/s | delete/s | open (s) |",
        "|---|---:|:---:|---:|---:|---:|---:|---:|",
    ]
    for name, size, durable, result in rows:
        lines.append(
            f"| {name} | {size:,} | {'yes' if durable else 'no'} | {result['create']:,.0f} | "
            f"{result['read']:,.0f} | {result['update']:,.0f} | {result['delete']:,.0f} | "
            f"{result['open']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--ops", type=int, default=1000, help="reads/updates/deletes per size")
    parser.add_argument("--baseline-size", type=int, default=1000)
    parser.add_argument("--baseline-ops", type=int, default=200)
    args = parser.parse_args(argv)
    rows: list[tuple[str, int, bool, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="synarchive-bench-") as folder:
        for size in args.sizes:
            rows.append(("synarchive journal", size, True,
                         bench_journal(Path(folder), size, args.ops)))
        baseline = bench_tinydb_default(Path(folder), args.baseline_size, args.baseline_ops)
        rows.append(("TinyDB JSONStorage", args.baseline_size, False, baseline))
    print(markdown(rows))
    print()
    journal = {size: result for name, size, _, result in rows if name.startswith("synarchive")}
    small, large = min(journal), max(journal)
    for op in ("create", "read", "update", "delete"):
        slowdown = journal[small][op] / journal[large][op]
        speedup = journal[small][op] / baseline[op] if small == args.baseline_size else None
        versus = f"; {speedup:.1f}x TinyDB JSONStorage at {small:,}" if speedup else ""
        print(f"- {op}: {slowdown:.2f}x slower at {large:,} than at {small:,}{versus}")
    creates = journal[small]["create"]
    slowdown = journal[small]["create"] / journal[large]["create"]
    verdict = creates >= TARGET_CREATES_PER_S and slowdown <= MAX_SLOWDOWN
    print(f"- target (>= {TARGET_CREATES_PER_S} durable creates/s at {small:,}, <= "
          f"{MAX_SLOWDOWN:.0f}x slower at {large:,}): {'met' if verdict else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
