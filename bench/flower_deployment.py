"""Synergos against Flower 1.41's deployment engine on the same task, side by side in one run.

Run from the repository root: `.venv/bin/python -m bench.flower_deployment [--clients 8 32]
[--rounds 3] [--isolations subprocess process] [--markdown out.md]`.

Task (`bench/common.py`): logistic regression on breast_cancer, IID split into N clients,
FedAvg over every client each round, R rounds, 1 local epoch, batch 32, SGD lr 0.1. Synergos
runs a TTP and N Workers as processes over loopback HTTP (`bench/synergos_grid.py`); Flower
runs a SuperLink and N SuperNodes as processes over loopback (`bench/flower_baseline/
deployment.py`, in `bench/.venv-flower`, created on first use), in each SuperNode isolation
mode asked for.

Columns: startup (nothing running -> round 1 starts), steady seconds per round (median of
rounds 2..R), time to a trained model (nothing running -> the R-round global model evaluated
on the test set; both systems train the same partitions for the same R rounds, and the test
accuracy each reached is shown beside it), submit -> trained (the training request -> that
evaluation: Synergos' `models.create`, Flower's `flwr run`), and Synergos / Flower ratios.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.flower_baseline.deployment import (
    ISOLATIONS,
    FlowerDeploymentError,
    run_flower_deployment,
)
from bench.report import publish
from bench.synergos_grid import run_synergos

RATIO_TARGET = 0.1  # Synergos round and time to a trained model <= 0.1x Flower deployment's
DEFAULT_CLIENTS = (8, 32)
DEFAULT_ROUNDS = 3


def measure_all(clients: list[int], rounds: int, isolations: list[str]) -> list[dict[str, Any]]:
    """Every system at every N, one after the other on this machine."""
    results = []
    for count in clients:
        with tempfile.TemporaryDirectory(prefix=f"synergos-bench-{count}-") as home:
            print(f"synergos: {count} clients x {rounds} rounds ...", file=sys.stderr, flush=True)
            results.append(run_synergos(count, Path(home), rounds=rounds))
        _progress(results[-1])
        for isolation in isolations:
            print(f"flower deployment ({isolation}): {count} clients ...", file=sys.stderr,
                  flush=True)
            try:
                results.append(run_flower_deployment(count, isolation, rounds=rounds,
                                                     timeout_s=600 + 60 * count * rounds))
            except FlowerDeploymentError as error:  # a row saying so; the other runs go on
                print(error, file=sys.stderr, flush=True)
                results.append({"system": f"flower deployment ({isolation})",
                                "clients": count, "failed": _last_error_line(str(error))})
            _progress(results[-1])
    return results


def _last_error_line(text: str) -> str:
    """The Python exception line of a failure's log (`module.SomeError: ...`), else its
    first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    return (raised or lines or ["unknown failure"])[0][:300]


def _progress(result: dict[str, Any]) -> None:
    """Each result as one JSON line on stderr as soon as it is measured."""
    summary = {key: value for key, value in result.items() if key != "rounds_detail"}
    print(json.dumps(summary), file=sys.stderr, flush=True)


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per system and N, with the Synergos / Flower ratios on the Flower rows."""
    lines = ["| system | N | startup s | s/round (median 2..R) | time to trained s "
             "| submit -> trained s | test acc | Synergos/Flower round "
             "| Synergos/Flower time to trained | Synergos/Flower submit -> trained "
             "| targets (<= 0.1x) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    ours = {r["clients"]: r for r in results if r["system"] == "synergos"}
    for result in results:
        if "failed" in result:
            failure = "failed: " + result["failed"].replace("|", "/")
            lines.append("| " + " | ".join([result["system"], str(result["clients"]), failure,
                                            *[""] * 8]) + " |")
            continue
        cells = ["", "", "", ""]
        synergos = ours.get(result["clients"])
        if result["system"] != "synergos" and synergos:
            ratios = [synergos[key] / result[key]
                      for key in ("steady_round_s", "total_s", "submit_to_trained_s")]
            cells = [f"{ratio:.3f}" for ratio in ratios] + [_verdict(*ratios[:2])]
        lines.append(
            f"| {result['system']} | {result['clients']} | {result['startup_s']:.2f} | "
            f"{result['steady_round_s']:.4f} | {result['total_s']:.2f} | "
            f"{result['submit_to_trained_s']:.2f} | {result['test_accuracy']:.4f} | "
            + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(round_ratio: float, total_ratio: float) -> str:
    return ", ".join(f"{name} {'met' if ratio <= RATIO_TARGET else 'MISSED'}"
                     for name, ratio in (("round", round_ratio), ("time to trained",
                                                                   total_ratio)))


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table (and write it with `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=list(DEFAULT_CLIENTS))
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--isolations", nargs="+", choices=ISOLATIONS, default=list(ISOLATIONS))
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    if any(count < 1 for count in args.clients) or args.rounds < 2:
        parser.error("--clients must be positive and --rounds at least 2")
    table = markdown_table(measure_all(args.clients, args.rounds, args.isolations))
    publish("Synergos vs Flower 1.41's deployment engine", "bench.flower_deployment", argv,
            table, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
