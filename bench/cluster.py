"""SynCluster against one basic TTP, and the queue's own overhead, side by side in one run.

Run from the repository root: `.venv/bin/python -m bench.cluster [--jobs 100] [--rounds 5]
[--markdown out.md]`.

* Queue overhead: the Director's own path (`DispatchingEngine.run_on_cluster` inside a
  `JobRunner` job, real RabbitMQ, a `PriorityConsumer` whose handler does nothing, the
  `completed` listener) timed from submit to the job archived as succeeded, one job at a time.
* Four runs: one project with four equal FedAvg runs on breast_cancer (2 participants),
  trained by one POST, timed until all four are archived. Once on a basic TTP with one
  Worker per participant (it trains the runs one after the other: the Workers hold one
  training of a project at a time), once on a Director with two cluster TTPs, each with its
  own sub-grid of one Worker per participant (the Director publishes a job per run).
  Alignment is done before the clock starts on both. A fifth project trained alone first
  gives one job's time on each setup, the cluster's per-job overheads included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.report import publish
from synergos import Driver
from synergos_datasets.builder import build_examples
from synergos_testing.local_broker import running_broker
from synergos_testing.local_processes import LOOPBACK, Node, NodeProcesses

QUEUE_TARGET_MS = 50.0
CLUSTER_TARGET = 0.65  # four runs on 2 cluster TTPs <= 0.65x one basic TTP
PARTICIPANTS = ("party_a", "party_b")
DATASET = "breast_cancer_iid"
MODEL = [{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
          "structure": {"bias": True, "in_features": 1, "out_features": 1}}]
PROJECT = "bench_cluster"
RUNS = [f"run_{index}" for index in range(1, 5)]
SOLO = "bench_cluster_solo"  # one run trained alone first: one job's time, overheads included


def measure_queue_overhead(home: Path, jobs: int) -> dict[str, float]:
    """Seconds per empty job through the Director's dispatch path, one job at a time."""
    from synarchive import Archive
    from synergos_director.dispatch import CompletionBoard, DispatchingEngine
    from synergos_ttp.engine import EngineSettings
    from synergos_ttp.engine.service import TRAINING
    from synergos_ttp.jobs import JobRunner
    from synmanager import CompletedConsumerOperator, PriorityConsumer, TrainProducerOperator

    with running_broker(home / "rabbitmq") as broker:
        port = broker.amqp_port
        stop = threading.Event()
        archive = Archive(home / "director.json")
        runner = JobRunner(archive, max_workers=1)
        producer = TrainProducerOperator(LOOPBACK, port)
        producer.connect()
        board = CompletionBoard()
        listener = CompletedConsumerOperator(LOOPBACK, port)
        consumer = PriorityConsumer(LOOPBACK, port)
        threads = [threading.Thread(target=listener.listen_message, args=(board.post, stop),
                                    daemon=True),
                   threading.Thread(target=consumer.run, args=(_empty_job, stop), daemon=True)]
        for thread in threads:
            thread.start()
        engine = DispatchingEngine(archive, runner, EngineSettings(home / "outputs"),
                                   {"train": producer}, board)
        params = {"project_id": "empty", "combinations": []}
        seconds = []
        try:
            for index in range(jobs + 5):  # the first five warm the connections up
                started = time.perf_counter()
                job = runner.submit(TRAINING, params, lambda context: engine.run_on_cluster(
                    TRAINING, context.params, context.job_id, context.cancelled))
                done = runner.wait(job["job_id"], timeout=30)
                if done["status"] != "succeeded":
                    raise RuntimeError(f"empty job {index} ended {done['status']}: "
                                       f"{done.get('error')}")
                if index >= 5:
                    seconds.append(time.perf_counter() - started)
        finally:
            stop.set()
            runner.shutdown(timeout=10)
            producer.disconnect()
            for thread in threads:
                thread.join(timeout=10)
            archive.close()
    ordered = sorted(seconds)
    return {"jobs": jobs, "median_s": statistics.median(ordered),
            "p95_s": ordered[int(0.95 * (len(ordered) - 1))], "mean_s": statistics.fmean(ordered)}


def _empty_job(message: dict[str, Any]) -> dict[str, Any]:
    """A cluster job that does nothing and produces no records."""
    return {"status": "succeeded", "kind": message.get("kind"), "ttp": "bench", "grid": 0,
            "result": {}, "records": {}}


def measure_basic(home: Path, rounds: int) -> dict[str, Any]:
    """Four runs on one basic TTP with one Worker per participant."""
    build_examples(home / "datasets", parties=2, names=[DATASET])
    with NodeProcesses(home / "logs") as processes:
        workers = _start_workers(processes, home, grids=1)
        ttp = processes.start_ttp("ttp", home / "ttp" / "data", home / "ttp" / "outputs")
        processes.wait_healthy(timeout=300)
        return _four_runs(ttp, workers, rounds, grids=1)


def measure_cluster(home: Path, rounds: int) -> dict[str, Any]:
    """Four runs on a Director with two cluster TTPs (a sub-grid each)."""
    build_examples(home / "datasets", parties=2, names=[DATASET])
    with running_broker(home / "rabbitmq") as broker, NodeProcesses(home / "logs") as processes:
        workers = _start_workers(processes, home, grids=2)
        director = processes.start_director("director", home / "director",
                                            home / "outputs", broker.amqp_port)
        for grid in range(2):
            processes.start_ttp(f"ttp_{grid}", home / f"ttp_{grid}", home / "outputs",
                                extra_args=("--grid", str(grid), "--queue", "rabbitmq",
                                            LOOPBACK, str(broker.amqp_port)))
        processes.wait_healthy(timeout=300)
        return _four_runs(director, workers, rounds, grids=2)


def _start_workers(processes: NodeProcesses, home: Path, grids: int
                   ) -> dict[str, list[Node]]:
    """One Worker per participant and sub-grid, each on one CPU thread."""
    return {participant: [processes.start_worker(
                f"{participant}_{grid}", home / "datasets" / f"party_{index}",
                home / f"{participant}_{grid}", extra_args=("--cpus", "1"))
            for grid in range(grids)]
            for index, participant in enumerate(PARTICIPANTS, start=1)}


def _four_runs(front: Node, workers: dict[str, list[Node]], rounds: int,
               grids: int) -> dict[str, Any]:
    run = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.1, "lr_scheduler": None,
           "criterion": "BCELoss", "batch_size": 32, "epochs": 1, "rounds": rounds,
           "patience": rounds + 1}
    with Driver(host=LOOPBACK, port=front.port, token=front.token, timeout=600) as driver:
        _register(driver, SOLO, workers, {"run": run}, grids)
        _register(driver, PROJECT, workers, {run_id: run for run_id in RUNS}, grids)
        aligned = [driver.alignments.create(project_id=p, wait=False)["data"]
                   for p in (SOLO, PROJECT)]
        for job in aligned:
            driver.jobs.wait(job["job_id"], timeout=600, progress=False)
        started = time.perf_counter()
        solo = driver.models.create(project_id=SOLO, wait=False)["data"]
        driver.jobs.wait(solo["job_id"], timeout=600, progress=False)
        solo_s = time.perf_counter() - started
        started = time.perf_counter()
        job = driver.models.create(project_id=PROJECT, wait=False)["data"]
        done = driver.jobs.wait(job["job_id"], timeout=1800, progress=False)["data"]
        wall = time.perf_counter() - started
        rounds_done = [model["rounds_completed"]
                       for model in driver.models.read_all(PROJECT, "expt")["data"]]
    if done["status"] != "succeeded" or rounds_done != [rounds] * len(RUNS):
        raise RuntimeError(f"four runs did not all train: {done.get('error') or rounds_done}")
    result = done.get("result") or {}
    return {"wall_s": wall, "solo_s": solo_s, "grids": result.get("grids", [0])}


def _register(driver: Driver, project_id: str, workers: dict[str, list[Node]],
              runs: dict[str, dict[str, Any]], grids: int) -> None:
    driver.projects.create(project_id=project_id, action="classify", incentives={})
    driver.experiments.create(project_id=project_id, expt_id="expt", model=MODEL)
    for run_id, run in runs.items():
        driver.runs.create(project_id=project_id, expt_id="expt", run_id=run_id, **run)
    for participant, nodes in workers.items():
        first = nodes[0]
        driver.participants.create(participant_id=participant, host=LOOPBACK,
                                   port=first.data_port, f_port=first.port, token=first.token)
        extra = {}
        if grids > 1:
            extra["nodes"] = [{"host": LOOPBACK, "port": node.data_port, "f_port": node.port,
                               "token": node.token} for node in nodes]
        driver.registrations.create(project_id=project_id, participant_id=participant,
                                    role="host", **extra)
        driver.tags.create(project_id=project_id, participant_id=participant,
                           train=[[DATASET, "train"]], evaluate=[[DATASET, "evaluate"]])


def markdown_tables(queue: dict[str, float], basic: dict[str, Any],
                    cluster: dict[str, Any], rounds: int) -> str:
    """The queue-overhead table and the four-runs table, with the targets' verdicts."""
    median_ms = 1000 * queue["median_s"]
    ratio = cluster["wall_s"] / basic["wall_s"]
    return "\n".join([
        f"Queue overhead per empty job ({queue['jobs']} jobs, one at a time)", "",
        "| median ms | p95 ms | mean ms | target |", "|---:|---:|---:|---|",
        f"| {median_ms:.1f} | {1000 * queue['p95_s']:.1f} | {1000 * queue['mean_s']:.1f} | "
        f"<= {QUEUE_TARGET_MS:.0f} ms {'met' if median_ms <= QUEUE_TARGET_MS else 'MISSED'} |",
        "", f"Four FedAvg runs of one project ({rounds} rounds, 2 participants), one POST", "",
        "| setup | one run alone s | four runs s | grids used | cluster / basic | target |",
        "|---|---:|---:|---|---:|---|",
        f"| basic TTP, 2 Workers | {basic['solo_s']:.2f} | "
        f"{basic['wall_s']:.2f} | {basic['grids']} | | |",
        f"| Director + 2 cluster TTPs, 4 Workers | {cluster['solo_s']:.2f} | "
        f"{cluster['wall_s']:.2f} | {cluster['grids']} | {ratio:.2f} | <= {CLUSTER_TARGET} "
        f"{'met' if ratio <= CLUSTER_TARGET else 'MISSED'} |",
    ])


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables (and write them with `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.rounds < 1:
        parser.error("--jobs and --rounds must be positive")
    with tempfile.TemporaryDirectory(prefix="synergos-bench-cluster-") as scratch:
        home = Path(scratch)
        print("queue overhead ...", file=sys.stderr, flush=True)
        queue = measure_queue_overhead(home / "queue", args.jobs)
        print("four runs on a basic TTP ...", file=sys.stderr, flush=True)
        basic = measure_basic(home / "basic", args.rounds)
        print("four runs on the cluster ...", file=sys.stderr, flush=True)
        cluster = measure_cluster(home / "cluster", args.rounds)
    publish("SynCluster vs one basic TTP", "bench.cluster", argv,
            markdown_tables(queue, basic, cluster, args.rounds), args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
