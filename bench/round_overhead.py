"""Round time of Synergos against Flower 1.41 on the same task, side by side in one run.

Run from the repository root: `.venv/bin/python -m bench.round_overhead [--clients 2 8 32]
[--rounds 10] [--paths legacy run_simulation] [--markdown out.md]`; with `--phases
logreg mlp10m:int8` it measures instead where a Synergos round's time goes, phase by phase
(`bench/round_phases.py`).

Task (`bench/common.py`): logistic regression on breast_cancer (standardised, stratified 80/20,
seed 42), IID split into N clients by the shared `partition_iid`, FedAvg over every client each
round, R rounds, 1 local epoch, batch 32, SGD lr 0.1. Synergos runs a TTP and N Workers as
processes over loopback HTTP; Flower runs its simulation engine (Ray) in `bench/.venv-flower`
(created on first use), through the legacy `start_simulation` and `run_simulation`.
For each system and N the table gives startup (nothing running -> round 1 starts), steady
seconds per round (median of rounds 2..R), total wall time (nothing running -> trained model
evaluated on the test set), test accuracy and loss, and Synergos / Flower ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import common
from bench.flower_baseline import run_flower_baseline
from bench.flower_baseline.driver import PATHS
from bench.report import publish
from bench.round_phases import case_names, measure_phases, phases_table
from bench.synergos_grid import run_synergos

ROUND_TARGET = 0.25  # Synergos steady round <= 0.25x Flower's
TOTAL_TARGET = 0.5   # Synergos time to a trained model <= 0.5x Flower's (N = 8)
ACCURACY_POINTS = 1.0


def measure_all(clients: list[int], rounds: int, paths: list[str]) -> list[dict[str, Any]]:
    """Every system at every N, one after the other on this machine."""
    results = []
    for count in clients:
        with tempfile.TemporaryDirectory(prefix=f"synergos-bench-{count}-") as home:
            print(f"synergos: {count} clients x {rounds} rounds ...", file=sys.stderr, flush=True)
            results.append(run_synergos(count, Path(home), rounds=rounds))
        for path in paths:
            print(f"flower {path}: {count} clients ...", file=sys.stderr, flush=True)
            result = run_flower_baseline(count, path, rounds=rounds, timeout_s=900)
            result["system"] = f"flower {path}"
            results.append(result)
    return results


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per system and N, with the Synergos / Flower ratios on the Flower rows."""
    lines = ["| system | N | startup s | s/round (median 2..R) | total s | test acc | test loss "
             "| Synergos/Flower round | Synergos/Flower total | targets |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    ours = {r["clients"]: r for r in results if r["system"] == "synergos"}
    for result in results:
        ratios = ["", "", ""]
        synergos = ours.get(result["clients"])
        if result["system"] != "synergos" and synergos:
            round_ratio = synergos["steady_round_s"] / result["steady_round_s"]
            total_ratio = synergos["total_s"] / result["total_s"]
            ratios = [f"{round_ratio:.2f}", f"{total_ratio:.2f}",
                      _verdict(synergos, result, round_ratio, total_ratio)]
        lines.append(
            f"| {result['system']} | {result['clients']} | {result['startup_s']:.2f} | "
            f"{result['steady_round_s']:.4f} | {result['total_s']:.2f} | "
            f"{result['test_accuracy']:.4f} | {result['test_loss']:.4f} | " + " | ".join(ratios)
            + " |")
    return "\n".join(lines)


def _verdict(synergos: dict[str, Any], flower: dict[str, Any], round_ratio: float,
             total_ratio: float) -> str:
    checks = []
    if synergos["clients"] >= 8:
        checks.append(("round<=0.25x", round_ratio <= ROUND_TARGET))
    if synergos["clients"] == 8:
        checks.append(("total<=0.5x", total_ratio <= TOTAL_TARGET))
    gap = 100 * abs(synergos["test_accuracy"] - flower["test_accuracy"])
    checks.append(("acc±1pt", gap <= ACCURACY_POINTS))
    return ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table (and write it with `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=list(common.CLIENT_COUNTS))
    parser.add_argument("--rounds", type=int, default=common.ROUNDS)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--phases", nargs="+", metavar="MODEL[:COMPRESSION]",
                        help="Synergos only: the phases of a round for each case, at the "
                             "first --clients count")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    if any(count < 1 for count in args.clients) or args.rounds < 2:
        parser.error("--clients must be positive and --rounds at least 2")
    if args.phases:
        results = []
        for model, mode in case_names(args.phases):
            print(f"synergos phases: {model} {mode} ...", file=sys.stderr, flush=True)
            results.append(measure_phases(model, mode, args.clients[0], args.rounds))
        publish("Phases of a Synergos round on loopback", "bench.round_overhead", argv,
                phases_table(results), args.markdown)
        return 0
    table = markdown_table(measure_all(args.clients, args.rounds, args.paths))
    publish("Round time, Synergos vs Flower 1.41", "bench.round_overhead", argv, table,
            args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
