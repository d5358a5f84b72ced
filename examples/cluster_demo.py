"""`make cluster-demo` / `python -m examples.cluster_demo`: a SynCluster on this machine,
without Docker, with the RabbitMQ management UI to watch it.

Starts a private RabbitMQ on 127.0.0.1 with the management plugin, a Director, two cluster
TTPs (one per sub-grid) and four Workers (two participants x two sub-grids) on the
breast_cancer_iid example data; trains three runs of one project and a four-trial
optimisation through the Director; prints the UI's address and login and each queue's
message counts. With `--keep` it stays up until Ctrl-C so the UI can be browsed; every
process it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from synergos import Driver
from synergos_datasets.builder import build_examples
from synergos_testing.local_broker import RabbitBroker, running_broker
from synergos_testing.local_processes import LOOPBACK, Node, NodeProcesses, failure_exit

DATASET = "breast_cancer_iid"
PARTICIPANTS = ("party_1", "party_2")
GRIDS = 2
PROJECT = "cluster_demo"
RUNS = {f"run_{index}": {"algorithm": "FedAvg", "optimizer": "SGD", "lr": lr,
                         "lr_scheduler": None, "criterion": "BCELoss", "batch_size": 32,
                         "rounds": 3, "epochs": 1}
        for index, lr in enumerate((0.05, 0.1, 0.2), start=1)}
MODEL = [{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
          "structure": {"bias": True, "in_features": 30, "out_features": 1}}]
SEARCH_SPACE = {"lr": {"_type": "loguniform", "_value": [0.01, 0.5]}}
UI_LOGIN = ("guest", "guest")  # accepted from 127.0.0.1 only


def ui_address(broker: RabbitBroker) -> str:
    """The management UI's address."""
    return f"http://{LOOPBACK}:{broker.management_port}/"


def queue_counts(broker: RabbitBroker) -> dict[str, dict[str, int]]:
    """Queue name -> its message counts, from the management HTTP API."""
    answer = requests.get(ui_address(broker) + "api/queues", auth=UI_LOGIN, timeout=10)
    answer.raise_for_status()
    return {queue["name"]: {"ready": queue.get("messages_ready", 0),
                            "unacked": queue.get("messages_unacknowledged", 0),
                            "published": queue.get("message_stats", {}).get("publish", 0)}
            for queue in answer.json()}


def start_cluster(home: Path, broker: RabbitBroker, processes: NodeProcesses
                  ) -> tuple[Node, dict[str, list[Node]]]:
    """The Director, one cluster TTP per sub-grid and the Workers; waits for their health."""
    workers = {participant: [processes.start_worker(
                   f"{participant}_{grid}", home / "datasets" / f"party_{index}",
                   home / f"{participant}_{grid}", extra_args=("--cpus", "1"))
               for grid in range(GRIDS)]
               for index, participant in enumerate(PARTICIPANTS, start=1)}
    director = processes.start_director("director", home / "director", home / "outputs",
                                        broker.amqp_port)
    for grid in range(GRIDS):
        processes.start_ttp(f"ttp_{grid}", home / f"ttp_{grid}", home / "outputs",
                            extra_args=("--grid", str(grid), "--queue", "rabbitmq", LOOPBACK,
                                        str(broker.amqp_port)))
    processes.wait_healthy(timeout=300)
    return director, workers


def train_and_optimise(director: Node, workers: dict[str, list[Node]]) -> dict[str, Any]:
    """Three runs trained side by side, then an optimisation; returns what they reported."""
    with Driver(host=LOOPBACK, port=director.port, token=director.token, timeout=600) as driver:
        driver.projects.create(project_id=PROJECT, action="classify", incentives={})
        driver.experiments.create(project_id=PROJECT, expt_id="expt", model=MODEL)
        for run_id, run in RUNS.items():
            driver.runs.create(project_id=PROJECT, expt_id="expt", run_id=run_id, **run)
        for participant, nodes in workers.items():
            first = nodes[0]
            driver.participants.create(participant_id=participant, host=LOOPBACK,
                                       port=first.data_port, f_port=first.port,
                                       token=first.token)
            driver.registrations.create(
                project_id=PROJECT, participant_id=participant, role="host",
                nodes=[{"host": LOOPBACK, "port": node.data_port, "f_port": node.port,
                        "token": node.token} for node in nodes])
            driver.tags.create(project_id=PROJECT, participant_id=participant,
                               train=[[DATASET, "train"]], evaluate=[[DATASET, "evaluate"]])
        driver.alignments.create(project_id=PROJECT, progress=False, timeout=600)
        trained = driver.models.create(project_id=PROJECT, progress=False, timeout=1800)
        study = driver.optimizations.create(
            PROJECT, "expt", SEARCH_SPACE, base_run_id="run_1", metric="accuracy",
            optimize_mode="max", max_trial_num=4, trial_concurrency=2, seed=1,
            progress=False, timeout=1800)["data"][0]
    return {"models": len(trained["data"]), "study": study}


def run_demo(home: Path, keep: Callable[[RabbitBroker], None] | None = None) -> int:
    """The whole demo under `home` (emptied first); `keep(broker)` runs before stopping."""
    shutil.rmtree(home, ignore_errors=True)
    step(f"building the example data in {home / 'datasets'}")
    build_examples(home / "datasets", parties=len(PARTICIPANTS), names=[DATASET])
    step("starting RabbitMQ with the management plugin")
    with running_broker(home / "rabbitmq", management=True) as broker, \
            NodeProcesses(home / "logs") as processes:
        try:
            step("starting a Director, two cluster TTPs and four Workers on 127.0.0.1")
            director, workers = start_cluster(home, broker, processes)
            step(f"RabbitMQ management UI: {ui_address(broker)}  (login "
                 f"{UI_LOGIN[0]} / {UI_LOGIN[1]}, from this machine only)")
            step(f"training {len(RUNS)} runs, then a 4-trial optimisation, through the "
                 "Director")
            result = train_and_optimise(director, workers)
            step(f"{result['models']} models trained; best trial "
                 f"{result['study']['best']['value']:.3f} accuracy")
            print("queue         ready  unacked  published")
            for name, counts in sorted(queue_counts(broker).items()):
                print(f"{name:<12}{counts['ready']:>7}{counts['unacked']:>9}"
                      f"{counts['published']:>11}")
            if keep is not None:
                keep(broker)
        except (KeyboardInterrupt, Exception) as error:
            return failure_exit(processes, error, "cluster demo")
    return 0


def wait_for_interrupt(broker: RabbitBroker) -> None:
    """Keep everything up until Ctrl-C (or SIGTERM)."""
    step(f"up: browse {ui_address(broker)}#/queues; Ctrl-C stops everything")
    while True:
        time.sleep(3600)


def step(message: str) -> None:
    """Print one progress line."""
    print(f"-> {message}", flush=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the cluster demo; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m examples.cluster_demo",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("demo_run/cluster"),
                        help="folder for data, node folders and logs (emptied first)")
    parser.add_argument("--keep", action="store_true",
                        help="stay up after the training until Ctrl-C, to browse the UI")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    return run_demo(args.workdir.resolve(), wait_for_interrupt if args.keep else None)


if __name__ == "__main__":
    sys.exit(main())
