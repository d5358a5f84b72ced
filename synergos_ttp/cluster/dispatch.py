"""The Director's engine: the same jobs and checks as a TTP's, but each job is published to
RabbitMQ and finished by a cluster TTP; the Director writes what comes back.

A job still runs on the Director's JobRunner (so `/ttp/jobs` shows its state across the
cluster): its target publishes the message, waits for the job's report on `completed`
(`CompletionBoard`), then upserts the returned records into the archive and replays them
into MLflow. Reports are matched by `job_id`, and records are upserts by key, so a job
delivered twice is archived once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from synergos_ttp.cluster.snapshot import load_snapshot, take_snapshot
from synergos_ttp.cluster.tracking import track_cluster_result
from synergos_ttp.engine import FederatedEngine
from synergos_ttp.engine.service import ALIGNMENT, PREDICTION, TRAINING, VALIDATION
from synergos_ttp.jobs import JobContext
from synergos_ttp.jobs.context import JobCancelled

logger = logging.getLogger(__name__)
# engine kind -> (queue, synmanager process name)
ROUTES = {ALIGNMENT: ("preprocess", "preprocess"), TRAINING: ("train", "train"),
          VALIDATION: ("evaluate", "validate"), PREDICTION: ("evaluate", "predict")}
WAIT_SLICE = 0.5


def _quiet(done: int, message: str) -> None:
    """The default progress hook of `run_on_cluster`: say nothing."""


class CompletionBoard:
    """Reports from the `completed` queue, by job id; `wait` blocks until one arrives."""

    def __init__(self) -> None:
        self._reports: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()

    def post(self, report: dict[str, Any]) -> None:
        """Record a report (the `completed` consumer's callback); later duplicates are kept
        out, so a redelivered job cannot change a finished one."""
        job_id = report.get("job_id")
        if not isinstance(job_id, str):
            logger.warning("completed report without a job_id ignored")
            return
        with self._changed:
            self._reports.setdefault(job_id, report)
            self._changed.notify_all()

    def wait(self, job_id: str, cancelled: Any) -> dict[str, Any]:
        """The report of `job_id`; raises JobCancelled if `cancelled.is_set()` first (an
        Event, or an optimisation trial's StopSignal)."""
        with self._changed:
            while job_id not in self._reports:
                if cancelled.is_set():
                    raise JobCancelled(f"job {job_id} was cancelled while queued on the cluster")
                self._changed.wait(WAIT_SLICE)
            return self._reports.pop(job_id)


class DispatchingEngine(FederatedEngine):
    """A FederatedEngine whose job targets run on the cluster TTPs through RabbitMQ."""

    def __init__(self, archive: Any, runner: Any, settings: Any, producers: dict[str, Any],
                 board: CompletionBoard, tracker: Any = None) -> None:
        self.producers = producers
        self.board = board
        self._publish_lock = threading.Lock()
        super().__init__(archive, runner, settings, tracker=tracker)

    def target_for(self, job: dict[str, Any]) -> Any:
        """Every engine kind becomes `publish, wait for completed, archive the records`."""
        kind = job["kind"]
        if kind not in ROUTES:
            raise ValueError(f"not an engine job kind: {kind!r}")
        return lambda context: self._dispatch(kind, context)

    def _dispatch(self, kind: str, context: JobContext) -> dict[str, Any]:
        def report(done: int, message: str) -> None:
            context.report_progress(done, 1, message, unit="job")

        return self.run_on_cluster(kind, context.params, context.job_id, context.cancelled,
                                   report)

    def run_on_cluster(self, kind: str, params: dict[str, Any], job_id: str,
                       cancelled: Any, report: Callable[[int, str], None] = _quiet
                       ) -> dict[str, Any]:
        """Publish one engine job (`kind`, `params`) under `job_id`, wait for its report,
        archive and track its records; returns the job's result. `cancelled.is_set()` stops
        the wait (JobCancelled); `report(done, message)` hears queued (0) and done (1)."""
        project_ids = params.get("project_ids") or [params["project_id"]]
        queue, process = ROUTES[kind]
        message = {"job_id": job_id, "process": process, "kind": kind,
                   "params": params, "snapshot": take_snapshot(self.env.archive, project_ids)}
        with self._publish_lock:  # pika channels are not thread-safe
            self.producers[queue].process(**message)
        report(0, f"queued on the cluster ({queue})")
        outcome = self.board.wait(job_id, cancelled)
        if outcome.get("status") != "succeeded":
            raise RuntimeError(f"the cluster could not run this job: {outcome.get('error')}")
        records = outcome.get("records") or {}
        load_snapshot(self.env.archive, records)
        track_cluster_result(self.env.tracker, self.env.archive, kind, params, records)
        report(1, f"done by {outcome.get('ttp')} (grid {outcome.get('grid')})")
        return {**(outcome.get("result") or {}), "ttp": outcome.get("ttp"),
                "grid": outcome.get("grid")}
