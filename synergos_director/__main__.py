"""`python -m synergos_director --queue rabbitmq HOST PORT` / `synergos-director`.

parse flags (the TTP's, with `--queue` required) -> bootstrap -> archive -> job runner ->
RabbitMQ producers for preprocess/train/evaluate and a `completed` listener -> the TTP app
with a dispatching engine and an optimisation service whose trials run on the cluster, up to
`trial_concurrency` at once -> serve until SIGTERM/SIGINT, or until the essential `completed`
listener ends (then exit 1: `synrest.liveness`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Sequence

from synalgo.warmup import start_torch_warm_up
from synergos_director import ROLE
from synergos_director.dispatch import CompletionBoard, DispatchingEngine
from synergos_director.trials import cluster_executor_factory
from synergos_ttp.app import create_ttp_app
from synergos_ttp.cluster.consumer import mq_credentials
from synergos_ttp.config import TTPConfig, build_ttp_parser
from synergos_ttp.engine import EngineSettings
from synergos_ttp.jobs import JobRunner
from synergos_ttp.optimization import OptimizationService
from synergos_ttp.startup import open_node_archive, settle_unfinished_jobs
from synergos_ttp.tracking import MlflowTracker
from synmanager import CompletedConsumerOperator, ProducerOperator
from synmanager.topology import JOB_QUEUES_BY_PRIORITY
from synrest.bootstrap import NodeRuntime, run_node
from synrest.liveness import app_liveness
from synrest.server import serve

SHUTDOWN_JOB_TIMEOUT = 30.0


def build_parser() -> argparse.ArgumentParser:
    """The Director's flags: the TTP's node flags, `--queue rabbitmq HOST PORT` required."""
    parser = build_ttp_parser()
    parser.prog = "synergos-director"
    parser.description = ("Synergos Director: the SynCluster front door; publishes jobs to "
                          "RabbitMQ for the cluster TTPs and archives their results")
    for action in parser._actions:
        if action.dest == "queue":
            action.required = True
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Director until it is told to stop; returns the process exit code."""
    return run_node(build_parser(), ROLE, argv,
                    lambda ns, node: TTPConfig.from_args(ns, node=node), _serve)


def _serve(config: TTPConfig, runtime: NodeRuntime) -> int:
    logger = runtime.logger
    node = config.node
    assert config.queue is not None
    archive = open_node_archive(node, logger)
    if archive is None:
        return 1
    runner = JobRunner(archive, max_workers=max(config.job_workers, 8))
    tracker = MlflowTracker(config.mlflow_uri, archive)
    stop = threading.Event()
    credentials = mq_credentials()
    queue = config.queue
    producers = {name: ProducerOperator(queue.host, queue.port, queue=name, **credentials)
                 for name in JOB_QUEUES_BY_PRIORITY}
    board = CompletionBoard()
    listener = CompletedConsumerOperator(queue.host, queue.port, **credentials)
    try:
        for producer in producers.values():
            producer.connect()
        settle_unfinished_jobs(runner, logger)
        engine = DispatchingEngine(archive, runner, EngineSettings.from_ttp_config(config),
                                   producers, board, tracker=tracker)
        optimizations = OptimizationService(
            engine, executor_factory=cluster_executor_factory(engine))
        app = create_ttp_app(config, archive, runner, mode="cluster", token=runtime.token,
                             engine=engine, optimizations=optimizations)
        liveness = app_liveness(app)
        liveness.start_essential("completed-listener",
                                 lambda stop_event: listener.listen_message(board.post, stop_event),
                                 stop)
        # once serving, in the background: MLflow with its store, and torch's first-step
        # imports (the first run POST dry-builds an optimizer: 1.3 s cold)
        serve(app, node, on_shutdown=lambda: runner.shutdown(timeout=SHUTDOWN_JOB_TIMEOUT),
              stop_event=liveness.dead,
              on_started=lambda: _warm_up(tracker))
    finally:
        stop.set()
        runner.shutdown(timeout=SHUTDOWN_JOB_TIMEOUT)
        for producer in producers.values():
            producer.disconnect()
        tracker.close(timeout=10)
        archive.close()
        logging.getLogger(f"synergos.{ROLE}").info("director stopped")
    return 1 if liveness.failures else 0

def _warm_up(tracker: MlflowTracker) -> None:
    """Once serving: MLflow with its store, then torch's first-step imports."""
    tracker.warm_up()
    start_torch_warm_up()


if __name__ == "__main__":
    sys.exit(main())
