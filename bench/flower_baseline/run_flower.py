"""Run the benchmark task on Flower 1.41 (in `bench/.venv-flower`) and print ONE JSON line.

Run from anywhere: `bench/.venv-flower/bin/python bench/flower_baseline/run_flower.py
--clients 8 --path legacy --model logreg`. The JSON holds startup seconds (process start ->
round 1 starts), seconds per round, the median of rounds 2..R, total seconds (process start ->
final evaluation done), and the global model's accuracy and loss on the held-out test set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
# Ray's workers import `bench.*` and `synergos_datasets.*` by name: they inherit this at `ray.init`.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

PATHS = ("legacy", "run_simulation")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the Flower benchmark run."""
    from bench import common

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, required=True, help="number of clients N")
    parser.add_argument("--path", choices=PATHS, required=True,
                        help="legacy start_simulation or run_simulation (ServerApp/ClientApp)")
    parser.add_argument("--model", choices=common.MODEL_NAMES, default="logreg")
    parser.add_argument("--rounds", type=int, default=common.ROUNDS)
    parser.add_argument("--local_steps", type=int, default=None,
                        help="stop local training after this many batches (default: 1 epoch)")
    parser.add_argument("--cpus", type=float, default=float(os.cpu_count() or 1),
                        help="CPUs Ray may use (default: all)")
    parser.add_argument("--actors", type=int, default=None,
                        help="concurrent client actors (default: min(N, CPUs)); each "
                             "client asks Ray for cpus/actors CPUs")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.rounds < 1:
        parser.error("--clients and --rounds must be at least 1")
    if args.local_steps is not None and args.local_steps < 1:
        parser.error("--local_steps must be at least 1")
    if args.cpus <= 0 or (args.actors is not None and args.actors < 1):
        parser.error("--cpus must be positive and --actors at least 1")
    return args


def quiet_logs() -> None:
    """Keep Flower, Ray and deprecation chatter off the terminal."""
    warnings.filterwarnings("ignore")
    for name in ("flwr", "ray"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run one simulation and return the measurements as a JSON-ready dict."""
    import flwr

    from bench import common
    from bench.flower_baseline.client_work import evaluate_arrays
    from bench.flower_baseline.timing import RoundClock, process_start_time

    actors = args.actors or max(1, min(args.clients, int(args.cpus)))
    client_resources = {"num_cpus": args.cpus / actors, "num_gpus": 0.0}
    ray_init_args = {"num_cpus": args.cpus, "include_dashboard": False,
                     "ignore_reinit_error": True, "logging_level": logging.ERROR,
                     "log_to_driver": False, "configure_logging": True}
    clock = RoundClock(process_start_time())
    if args.path == "legacy":
        from bench.flower_baseline.legacy_sim import run_legacy as simulate
    else:
        from bench.flower_baseline.message_sim import run_message_api as simulate
    final_arrays = simulate(args.model, args.clients, args.rounds, args.local_steps, clock,
                            ray_init_args, client_resources)
    evaluation = evaluate_arrays(args.model, final_arrays)
    finished_at = time.time()
    return {
        "system": "flower", "flower_version": flwr.__version__, "path": args.path,
        "clients": args.clients, "model": args.model,
        "parameters": common.count_parameters(common.build_model(args.model)),
        "rounds": args.rounds, "local_steps": args.local_steps,
        "local_epochs": common.LOCAL_EPOCHS, "batch_size": common.BATCH_SIZE,
        "lr": common.LEARNING_RATE, "actors": actors, "client_cpus": client_resources["num_cpus"],
        **clock.summary(finished_at),
        "test_accuracy": round(evaluation["accuracy"], 6),
        "test_loss": round(evaluation["loss"], 6),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print one JSON line; exit without waiting on Ray's timers."""
    args = parse_args(argv)
    quiet_logs()
    result = run(args)
    print(json.dumps(result), flush=True)
    import ray

    ray.shutdown()
    sys.stderr.flush()
    # start_simulation leaves a 10 s resource-polling timer thread behind; don't wait for it.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
