"""`python -m synergos_ttp` / `synergos-ttp`: start a TTP node.

parse flags -> bootstrap (caps, token, logging, sysmetrics) -> open the archive
`<data_dir>/database.json` -> job runner (jobs left unfinished by a previous process become
`interrupted`) -> federated engine with its MLflow tracker -> app -> (cluster mode: the essential
`cluster-jobs` loop) -> serve (once serving: torch and MLflow warm up in the background) until
SIGTERM/SIGINT or an essential loop ends (then exit 1) -> stop the job runner, close the
archive.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence

from synalgo.warmup import start_torch_warm_up
from synarchive import Archive
from synergos_ttp.app import create_ttp_app
from synergos_ttp.cluster.consumer import (
    SCRATCH_FOLDER,
    ClusterJobHandler,
    cluster_settings,
    mq_credentials,
    serve_cluster_jobs,
)
from synergos_ttp.cluster.progress import ProgressPublisher
from synergos_ttp.config import ROLE, TTPConfig, build_ttp_parser
from synergos_ttp.engine import EngineSettings, FederatedEngine
from synergos_ttp.jobs import JobRunner
from synergos_ttp.startup import open_node_archive, settle_unfinished_jobs
from synergos_ttp.tracking import MlflowTracker
from synlogger import register_secret
from synrest.bootstrap import NodeRuntime, run_node
from synrest.flags import NodeArgumentParser
from synrest.liveness import Liveness, app_liveness
from synrest.server import serve

SHUTDOWN_JOB_TIMEOUT = 30.0
SHUTDOWN_TRACKING_TIMEOUT = 10.0


def build_parser() -> NodeArgumentParser:
    """The full argument parser of this program (deployment files are checked against it)."""
    return build_ttp_parser()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the TTP until it is told to stop; returns the process exit code."""
    return run_node(build_ttp_parser(), ROLE, argv,
                    lambda ns, node: TTPConfig.from_args(ns, node=node), _serve)


def _serve(config: TTPConfig, runtime: NodeRuntime) -> int:
    logger = runtime.logger
    logger.info("ttp settings", extra=config.log_fields())
    node = config.node
    archive = open_node_archive(node, logger)
    if archive is None:
        return 1
    runner = JobRunner(archive, max_workers=config.job_workers)
    tracker = MlflowTracker(config.mlflow_uri, archive)
    stop_cluster = threading.Event()
    try:
        _register_stored_secrets(archive)
        settle_unfinished_jobs(runner, logger)
        settings = EngineSettings.from_ttp_config(config)
        engine = FederatedEngine(archive, runner, settings, tracker=tracker)
        app = create_ttp_app(config, archive, runner, mode=config.mode, token=runtime.token,
                             engine=engine)
        liveness = app_liveness(app)
        if config.queue is not None:
            _serve_cluster_jobs(config, settings, stop_cluster, liveness)
        serve(app, node, on_shutdown=lambda: runner.shutdown(timeout=SHUTDOWN_JOB_TIMEOUT),
              stop_event=liveness.dead,
              on_started=lambda: _warm_up(tracker, tracked=config.queue is None))
    finally:
        stop_cluster.set()
        runner.shutdown(timeout=SHUTDOWN_JOB_TIMEOUT)
        tracker.close(timeout=SHUTDOWN_TRACKING_TIMEOUT)
        archive.close()
        logging.getLogger(f"synergos.{ROLE}").info("ttp stopped")
    return 1 if liveness.failures else 0


def _serve_cluster_jobs(config: TTPConfig, settings: EngineSettings,
                        stop: threading.Event, liveness: Liveness) -> None:
    """Cluster mode: take jobs for sub-grid `--grid` from the queue (in the background)."""
    assert config.queue is not None
    progress = ProgressPublisher(config.queue.host, config.queue.port, **mq_credentials())
    handler = ClusterJobHandler(cluster_settings(settings, config.grid),
                                config.node.data_dir / SCRATCH_FOLDER, config.node.node_id,
                                progress=progress)
    serve_cluster_jobs(config.queue.host, config.queue.port, handler, stop, liveness)
    logging.getLogger(f"synergos.{ROLE}").info(
        "serving cluster jobs", extra={"grid": config.grid, "queue": config.queue.kind})


def _warm_up(tracker: MlflowTracker, tracked: bool) -> None:
    """Once serving: torch's first-step imports and (unless a cluster TTP, whose jobs the
    Director tracks) MLflow with its store, both in the background."""
    if tracked:
        tracker.warm_up()
    start_torch_warm_up()


def _register_stored_secrets(archive: Archive) -> None:
    """Mask the Worker tokens already in the archive in every log line of this process."""
    for participant in archive.table("Participant").read_all(include_relations=False):
        if isinstance(participant.get("token"), str):
            register_secret(participant["token"])
    for registration in archive.table("Registration").read_all(include_relations=False):
        for node in registration.get("nodes") or []:
            if isinstance(node.get("token"), str):
                register_secret(node["token"])


if __name__ == "__main__":
    sys.exit(main())
