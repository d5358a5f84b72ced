"""Run the Flower baseline sweep and print Markdown tables (project venv, from the repo root):

    .venv/bin/python -m bench.flower_baseline [--clients 2 8 32] [--paths legacy run_simulation]
        [--model_size] [--json results.json] [--markdown results.md]

The task is `bench/common.py`'s; `--model_size` adds the MLPs (about 1 M and 25 M parameters)
with 4 clients and one local step, as in `bench/model_size.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench import common
from bench.flower_baseline.driver import PATHS, run_flower_baseline


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the sweep."""
    parser = argparse.ArgumentParser(description="Flower 1.41 baseline sweep")
    parser.add_argument("--clients", type=int, nargs="+", default=list(common.CLIENT_COUNTS))
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--model_size", action="store_true",
                        help="also run mlp1m and mlp25m with 4 clients and 1 local step")
    parser.add_argument("--rounds", type=int, default=common.ROUNDS)
    parser.add_argument("--json", type=Path, help="write the raw results here")
    parser.add_argument("--markdown", type=Path, help="write the Markdown tables here")
    return parser.parse_args(argv)


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per run: path, model, N, startup, steady round, total, accuracy, loss."""
    lines = ["| path | model | params | N | startup s | s/round (median 2..R) | round 1 s "
             "| total s | test acc | test loss |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['path']} | {r['model']} | {r['parameters']:,} | {r['clients']} "
            f"| {r['startup_s']:.2f} | {r['steady_round_s']:.3f} | {r['round_s'][0]:.2f} "
            f"| {r['total_s']:.2f} | {r['test_accuracy']:.4f} | {r['test_loss']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every requested configuration, one at a time, and print the tables."""
    args = parse_args(argv)
    plan = [(n, path, "logreg", None) for path in args.paths for n in args.clients]
    if args.model_size:
        plan += [(common.MODEL_SIZE_CLIENTS, path, model, common.MODEL_SIZE_LOCAL_STEPS)
                 for model in common.MODEL_SIZE_MODELS for path in args.paths]
    results = []
    for n, path, model, steps in plan:
        print(f"flower {path} model={model} N={n} ...", file=sys.stderr, flush=True)
        results.append(run_flower_baseline(n, path, model, rounds=args.rounds,
                                           local_steps=steps))
    table = markdown_table(results)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
