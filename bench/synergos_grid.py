"""Synergos side of the side-by-side benchmarks: `bench/common.py`'s task on a real local grid.

`write_partitions` turns the task's IID partitions (the same `partition_iid` Flower's clients
use) into Worker dataset folders; `run_synergos` starts a TTP and N Workers as processes on
127.0.0.1, trains through the Driver and evaluates the final global weights on the held-out
test set, timing it the way `bench/flower_baseline/run_flower.py` times Flower.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from safetensors.torch import load_file

from bench import common
from synalgo.model_spec import build_model
from synergos import Driver
from synergos_datasets.builder import write_tabular_folder
from synergos_testing.local_processes import LOOPBACK, NodeProcesses

PROJECT, EXPERIMENT, RUN = "bench", "model", "fedavg"
DATASET = "bench_task"


def write_partitions(root: Path, n_clients: int, max_rows: int | None = None) -> list[Path]:
    """One data folder per client holding its partition as `<DATASET>/train`; returns them."""
    folders = []
    for index in range(n_clients):
        features, labels = common.client_data(index, n_clients)
        if max_rows is not None:
            features, labels = features[:max_rows], labels[:max_rows]
        frame = pd.DataFrame(features, columns=[f"x{j:02d}" for j in range(features.shape[1])])
        frame["target"] = labels.astype(int)
        schema = {name: "float32" for name in frame.columns} | {"target": "int32"}
        folder = root / f"client_{index}"
        write_tabular_folder(folder / DATASET / "train", frame, schema)
        folders.append(folder)
    return folders


def run_fields(rounds: int, batch_size: int | None) -> dict[str, Any]:
    """The task's hyperparameters as Synergos run fields (FedAvg, SGD, BCE, no scheduler)."""
    return {"algorithm": "FedAvg", "optimizer": common.OPTIMIZER, "lr": common.LEARNING_RATE,
            "lr_scheduler": None, "criterion": common.CRITERION, "batch_size": batch_size,
            "epochs": common.LOCAL_EPOCHS, "rounds": rounds, "seed": common.SEED,
            "patience": rounds + 1}


def run_synergos(n_clients: int, home: Path, model: str = "logreg",
                 rounds: int = common.ROUNDS, max_rows: int | None = None,
                 worker_cpus: int = 1, extra_run_fields: dict[str, Any] | None = None,
                 during_training: Callable[[list[Any], Any], AbstractContextManager[Any]]
                 | None = None) -> dict[str, Any]:
    """Train the task on a fresh local grid; startup/round/total seconds and test metrics.

    `extra_run_fields` are added to the run (e.g. `secure_aggregation`).
    `during_training(workers, ttp)`, when given, is a context entered after the alignment and
    left once the training job ended (e.g. an attack on the nodes' ports).

    `startup_s`: nothing running -> round 1 starts (processes, connect, alignment, initialise);
    `steady_round_s`: median start-to-start time of rounds 2..R (the last round: its length);
    `total_s`: nothing running -> final weights evaluated on the test set;
    `submit_to_trained_s`: the training job submitted -> final weights evaluated.
    """
    started = time.time()
    folders = write_partitions(home / "data", n_clients, max_rows)
    spec = common.model_spec(model)
    with NodeProcesses(home / "logs") as processes:
        # One CPU thread per Worker, as Flower's clients get cpus/actors: several torch
        # thread pools on the same 2 cores would only fight each other.
        workers = [processes.start_worker(f"w{index}", folder, home / f"w{index}",
                                          extra_args=("--cpus", str(worker_cpus)))
                   for index, folder in enumerate(folders)]
        ttp = processes.start_ttp("ttp", home / "ttp" / "data", home / "ttp" / "outputs")
        processes.wait_healthy(timeout=600)
        with Driver(host=LOOPBACK, port=ttp.port, token=ttp.token, timeout=600) as driver:
            _connect(driver, workers, spec, {**run_fields(rounds, common.BATCH_SIZE),
                                             **(extra_run_fields or {})})
            driver.alignments.create(project_id=PROJECT, progress=False, timeout=600)
            with during_training(workers, ttp) if during_training else nullcontext():
                submitted = time.time()
                job = driver.models.create(project_id=PROJECT, wait=False)["data"]
                ended = driver.jobs.wait(job["job_id"], timeout=3600, progress=False)["data"]
            if ended["status"] != "succeeded":
                raise RuntimeError(f"the training ended {ended['status']}: {ended.get('error')}")
            record = driver.models.read(PROJECT, EXPERIMENT, RUN)["data"][0]
        evaluation = evaluate_weights(spec, Path(record["global"]["path"]))
        finished = time.time()  # before the processes are stopped: that is not the job's time
    starts = [_epoch(report["started_at"]) for report in record["rounds"]]
    ends = [start + report["seconds"] for start, report in zip(starts, record["rounds"],
                                                                 strict=True)]
    spans = [later - earlier for earlier, later in zip(starts, starts[1:] + [ends[-1]],
                                                        strict=True)]
    return {
        "system": "synergos", "clients": n_clients, "model": model,
        "parameters": common.count_parameters(common.build_model(model)),
        "rounds": len(starts), "startup_s": starts[0] - started,
        "round_s": spans, "steady_round_s": statistics.median(spans[1:] or spans),
        "total_s": finished - started, "submit_to_trained_s": finished - submitted,
        "rounds_detail": record["rounds"],
        "test_accuracy": evaluation["accuracy"], "test_loss": evaluation["loss"],
    }


def _connect(driver: Driver, workers: list[Any], spec: list[dict[str, Any]],
             run: dict[str, Any]) -> None:
    driver.projects.create(project_id=PROJECT, action="classify", incentives={})
    driver.experiments.create(project_id=PROJECT, expt_id=EXPERIMENT, model=spec)
    driver.runs.create(project_id=PROJECT, expt_id=EXPERIMENT, run_id=RUN, **run)
    for index, node in enumerate(workers):
        participant_id = f"client_{index}"
        driver.participants.create(participant_id=participant_id, host=LOOPBACK,
                                   port=node.data_port, f_port=node.port, token=node.token)
        driver.registrations.create(project_id=PROJECT, participant_id=participant_id,
                                    role="host")
        driver.tags.create(project_id=PROJECT, participant_id=participant_id,
                           train=[[DATASET, "train"]])


def evaluate_weights(spec: list[dict[str, Any]], weights: Path) -> dict[str, float]:
    """Accuracy and BCE of the saved global weights on the task's held-out test set."""
    network = build_model(spec)
    network.load_state_dict(load_file(str(weights)))
    network.eval()
    _, _, x_test, y_test = common.load_task()
    with torch.no_grad():
        probabilities = network(torch.from_numpy(x_test.copy())).numpy()
    return common.evaluate_probabilities(probabilities, y_test)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
