"""Per-round time of Synergos federated training with 2 and 8 Workers (Synergos side only).

Run: `.venv/bin/python bench/round_overhead.py [--workers 2 8] [--rounds 20]`. For each
Worker count it builds breast_cancer_iid split over that many parties, starts a TTP and the
Workers on 127.0.0.1, trains logistic regression with FedAvg (1 local epoch, batch 32, SGD,
no evaluate data) and prints a Markdown table from the Model record's round reports:

* round: wall time of a round at the TTP (send weights, local fits, aggregation);
* last reply: when the slowest Worker's update had been folded;
* TTP overhead: round - last reply (finishing the aggregate after the last reply);
* cadence: time from one round's start to the next one's (adds the checkpoint, job progress
  and MLflow queueing between rounds);
* job start-up: from the job's start to its first round (initialising every Worker).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from examples.datasets import build_examples
from examples.local_processes import LOOPBACK, NodeProcesses
from synergos import Driver

RUN = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.1, "lr_scheduler": None,
       "criterion": "BCELoss", "batch_size": 32, "epochs": 1, "seed": 1}
MODEL = [{"is_input": True, "l_type": "Linear", "activation": "sigmoid",
          "structure": {"in_features": 30, "out_features": 1}}]


def measure(workers: int, rounds: int, home: Path) -> dict[str, Any]:
    """Train once with `workers` Workers; returns the timing summary."""
    build_examples(home / "datasets", parties=workers, names=["breast_cancer_iid"])
    with NodeProcesses(home / "logs") as processes:
        nodes = {f"w{index}": processes.start_worker(
            f"w{index}", home / "datasets" / f"party_{index}", home / f"w{index}")
            for index in range(1, workers + 1)}
        ttp = processes.start_ttp("ttp", home / "ttp" / "data", home / "ttp" / "outputs")
        processes.wait_healthy()
        with Driver(host=LOOPBACK, port=ttp.port, token=ttp.token) as driver:
            driver.projects.create(project_id="bench", action="classify", incentives={})
            driver.experiments.create(project_id="bench", expt_id="lr", model=MODEL)
            driver.runs.create(project_id="bench", expt_id="lr", run_id="fedavg",
                               rounds=rounds, **RUN)
            for participant_id, node in nodes.items():
                driver.participants.create(participant_id=participant_id, host=LOOPBACK,
                                           port=node.data_port, f_port=node.port,
                                           token=node.token)
                driver.registrations.create(project_id="bench", participant_id=participant_id,
                                            role="host")
                driver.tags.create(project_id="bench", participant_id=participant_id,
                                   train=[["breast_cancer_iid", "train"]])
            driver.alignments.create(project_id="bench", progress=False, timeout=600)
            time.sleep(3)  # let the TTP finish opening its MLflow store in the background
            job = driver.models.create(project_id="bench", wait=False)["data"]
            done = driver.jobs.wait(job["job_id"], timeout=1800, progress=False)["data"]
            model = driver.models.read("bench", "lr", "fedavg")["data"][0]
    reports = model["rounds"]
    round_seconds = [report["seconds"] for report in reports]
    last_reply = [max(entry["seconds"] for entry in report["participants"].values())
                  for report in reports]
    starts = [_time(report["started_at"]) for report in reports]
    return {
        "workers": workers, "rounds": len(reports),
        "rows_per_worker": round(statistics.mean(
            entry["n_samples"] for entry in reports[0]["participants"].values())),
        "round_median": statistics.median(round_seconds),
        "round_p90": sorted(round_seconds)[int(0.9 * (len(round_seconds) - 1))],
        "last_reply_median": statistics.median(last_reply),
        "overhead_median": statistics.median(
            total - reply for total, reply in zip(round_seconds, last_reply, strict=True)),
        "cadence_median": statistics.median(
            later - earlier for earlier, later in itertools.pairwise(starts)),
        "startup": starts[0] - _time(done["started_at"]),
    }


def _time(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def markdown(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (times in milliseconds)."""
    lines = ["| Workers | rows/Worker | rounds | round median (ms) | round p90 (ms) | "
             "last reply median (ms) | TTP overhead median (ms) | cadence median (ms) | "
             "job start-up (s) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        lines.append(
            f"| {result['workers']} | {result['rows_per_worker']} | {result['rounds']} | "
            f"{1000 * result['round_median']:.1f} | {1000 * result['round_p90']:.1f} | "
            f"{1000 * result['last_reply_median']:.1f} | "
            f"{1000 * result['overhead_median']:.2f} | {1000 * result['cadence_median']:.1f} | "
            f"{result['startup']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    if any(count < 1 for count in args.workers) or args.rounds < 1:
        parser.error("--workers and --rounds must be positive")
    results = []
    for count in args.workers:
        with tempfile.TemporaryDirectory(prefix=f"synergos-bench-{count}-") as home:
            print(f"measuring {count} workers x {args.rounds} rounds ...", file=sys.stderr)
            results.append(measure(count, args.rounds, Path(home)))
    print("Synergos per-round time, breast_cancer_iid logistic regression, FedAvg, 1 epoch, "
          "batch 32 (all nodes on this machine, 127.0.0.1)\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
