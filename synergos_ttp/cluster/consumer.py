"""The cluster TTP's side of SynCluster: take jobs from RabbitMQ and run them on grid I.

Each job message carries the engine job (`kind`, `params`) and a snapshot of the archive
records it needs. The handler loads them into a scratch archive of its own, runs the very
same engine job there (node `--grid` of every registration), and returns the records the job
produced; synmanager publishes that to `completed` before acking, so a TTP that dies
mid-job leaves the message to be redelivered to another TTP.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

from synarchive import Archive
from synergos_ttp.cluster.progress import ProgressPublisher
from synergos_ttp.cluster.snapshot import RESULT_TABLES, load_snapshot, take_snapshot
from synergos_ttp.engine import EngineSettings, FederatedEngine
from synergos_ttp.engine.service import ALIGNMENT, CONTRIBUTION, TRAINING, VALIDATION
from synergos_ttp.jobs import JobRunner
from synergos_ttp.jobs.records import TERMINAL_STATUSES
from synrest.liveness import Liveness

logger = logging.getLogger(__name__)
SCRATCH_FOLDER = "cluster_jobs"
PROGRESS_INTERVAL = 0.5  # seconds between looks at a running job's progress
NEEDS_ALIGNED_GRID = (TRAINING, VALIDATION, CONTRIBUTION)  # prediction realigns by itself
MQ_USER_ENV, MQ_PASSWORD_ENV = "SYNERGOS_MQ_USER", "SYNERGOS_MQ_PASSWORD"


class ClusterJobFailed(RuntimeError):
    """The engine job ended without succeeding; synmanager retries, then dead-letters it."""


class ClusterJobHandler:
    """`handler(message) -> report` for synmanager's PriorityConsumer."""

    def __init__(self, settings: EngineSettings, scratch_dir: Path, node_id: str,
                 progress: ProgressPublisher | None = None) -> None:
        self.settings = settings
        self.scratch_dir = scratch_dir
        self.node_id = node_id
        self.progress = progress

    def __call__(self, message: dict[str, Any]) -> dict[str, Any]:
        job_id, kind, params = message["job_id"], message["kind"], message["params"]
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        path = self.scratch_dir / f"{_safe(job_id)}.json"
        _remove(path)
        archive = Archive(path)
        runner = JobRunner(archive, max_workers=1)
        try:
            load_snapshot(archive, message.get("snapshot") or {})
            engine = FederatedEngine(archive, runner, self.settings)
            logger.info("cluster job started", extra={"job_id": job_id, "kind": kind})
            project_ids = params.get("project_ids") or [params["project_id"]]
            if kind in NEEDS_ALIGNED_GRID:
                # The Workers of this sub-grid may never have been polled and aligned (the
                # alignment job ran on another TTP): align them, keeping the model as is.
                _run(runner, engine, ALIGNMENT, {"project_id": params["project_id"],
                                                 "auto_align": True, "auto_fix": False})
            done = _run(runner, engine, kind, params, self._forward(job_id))
            return {"status": "succeeded", "kind": kind, "ttp": self.node_id,
                    "grid": self.settings.grid, "result": done.get("result") or {},
                    "records": take_snapshot(archive, project_ids, RESULT_TABLES)}
        finally:
            runner.shutdown(timeout=30)
            archive.close()
            _remove(path)


    def _forward(self, job_id: str) -> Callable[[dict[str, Any]], None] | None:
        """What hears the engine job's progress: the Director's job `job_id`, if publishing."""
        if self.progress is None:
            return None
        progress = self.progress
        return lambda update: progress.publish(job_id, update)


def _run(runner: JobRunner, engine: FederatedEngine, kind: str, params: dict[str, Any],
         on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run one engine job on the scratch runner to its end, passing each new progress on."""
    job = runner.submit(kind, params, engine.target_for({"kind": kind, "params": params}))
    last = None
    while True:
        done = runner.wait(job["job_id"], timeout=None if on_progress is None
                           else PROGRESS_INTERVAL)
        if on_progress is not None and done.get("progress") not in (None, last):
            last = done["progress"]
            on_progress(last)
        if done["status"] in TERMINAL_STATUSES:
            break
    if done["status"] != "succeeded":
        raise ClusterJobFailed(done.get("error") or f"{kind} ended {done['status']}")
    return done


def serve_cluster_jobs(queue_host: str, queue_port: int, handler: ClusterJobHandler,
                       stop_event: threading.Event, liveness: Liveness) -> threading.Thread:
    """Serve preprocess > train > evaluate jobs on the essential thread `cluster-jobs` until
    `stop_event`; it reconnects to the broker by itself, so its end means the node is dead."""
    from synmanager import PriorityConsumer

    consumer = PriorityConsumer(queue_host, queue_port, **mq_credentials())
    return liveness.start_essential("cluster-jobs", lambda stop: consumer.run(handler, stop),
                                    stop_event)


class MQCredentials(TypedDict):
    """The RabbitMQ account every operator of a node logs in with."""

    username: str
    password: str


def mq_credentials() -> MQCredentials:
    """RabbitMQ account from `SYNERGOS_MQ_USER` / `SYNERGOS_MQ_PASSWORD` (default guest)."""
    return {"username": os.environ.get(MQ_USER_ENV, "guest"),
            "password": os.environ.get(MQ_PASSWORD_ENV, "guest")}


def cluster_settings(settings: EngineSettings, grid: int) -> EngineSettings:
    """The engine settings of a cluster TTP serving sub-grid `grid`, without MLflow (the
    Director tracks)."""
    return replace(settings, grid=grid, mlflow_uri="")


def _safe(job_id: str) -> str:
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in job_id)[:80]


def _remove(path: Path) -> None:
    for candidate in (path, *path.parent.glob(path.name + "*")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
