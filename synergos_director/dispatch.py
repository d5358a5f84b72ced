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
from typing import TYPE_CHECKING, Any

from synarchive import Archive
from synergos_director.tracking import track_cluster_result
from synergos_ttp.cluster.progress import is_progress
from synergos_ttp.cluster.snapshot import Snapshot, load_snapshot, take_snapshot
from synergos_ttp.engine import FederatedEngine
from synergos_ttp.engine.contribution_record import apply_incentives
from synergos_ttp.engine.service import (
    ALIGNMENT,
    CONTRIBUTION,
    PREDICTION,
    TRAINING,
    VALIDATION,
)
from synergos_ttp.engine.settings import EngineSettings
from synergos_ttp.jobs import JobContext, JobRunner
from synergos_ttp.jobs.context import JobCancelled
from synergos_ttp.tracking import MlflowTracker

if TYPE_CHECKING:  # pika is loaded by the Director's entry point, not by the engine
    from synmanager import ProducerOperator

logger = logging.getLogger(__name__)
# engine kind -> (queue, synmanager process name)
ROUTES = {ALIGNMENT: ("preprocess", "preprocess"), TRAINING: ("train", "train"),
          VALIDATION: ("evaluate", "validate"), PREDICTION: ("evaluate", "predict"),
          CONTRIBUTION: ("train", "contribute")}  # a replayed training
WAIT_SLICE = 0.5


def _quiet(done: int, message: str) -> None:
    """The default progress hook of `run_on_cluster`: say nothing."""


class CompletionBoard:
    """Reports from the `completed` queue, by job id; `wait` blocks until one arrives, and
    progress updates go to whoever `listen`s for the job."""

    def __init__(self) -> None:
        self._reports: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._listeners: dict[str, Callable[[dict[str, Any]], None]] = {}

    def listen(self, job_id: str, on_progress: Callable[[dict[str, Any]], None] | None
               ) -> None:
        """Hand the job's progress updates to `on_progress` (None stops listening)."""
        with self._changed:
            if on_progress is None:
                self._listeners.pop(job_id, None)
            else:
                self._listeners[job_id] = on_progress

    def post(self, report: dict[str, Any]) -> None:
        """Record a report (the `completed` consumer's callback); later duplicates are kept
        out, so a redelivered job cannot change a finished one. Progress updates are passed
        to the job's listener, if any, and not kept."""
        job_id = report.get("job_id")
        if not isinstance(job_id, str):
            logger.warning("completed report without a job_id ignored")
            return
        if is_progress(report):
            with self._changed:
                listener = self._listeners.get(job_id)
            if listener is not None:
                try:
                    listener(report["progress"])
                except Exception:  # a progress hook must not drop the message loop
                    logger.warning("progress update not shown", exc_info=True)
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

    def __init__(self, archive: Archive, runner: JobRunner, settings: EngineSettings,
                 producers: dict[str, ProducerOperator], board: CompletionBoard,
                 tracker: MlflowTracker | None = None) -> None:
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
        params = context.params
        if kind == TRAINING and len(params["combinations"]) > 1:
            return self._train_each_on_the_cluster(context)

        def report(done: int, message: str) -> None:
            context.report_progress(done, 1, message, unit="job")

        def on_progress(update: dict[str, Any]) -> None:  # the cluster TTP's own progress
            context.report_progress(int(update.get("current") or 0), update.get("total"),
                                    str(update.get("message", "")),
                                    unit=str(update.get("unit", "round")))

        return self.run_on_cluster(kind, params, context.job_id, context.cancelled, report,
                                   on_progress)

    def _train_each_on_the_cluster(self, context: JobContext) -> dict[str, Any]:
        """A training of several runs becomes one cluster job per run, all published at
        once, so the cluster TTPs train them side by side (each on its own sub-grid)."""
        params = context.params
        parts = [(f"{context.job_id}-run-{index}", {**params, "combinations": [combination]})
                 for index, combination in enumerate(params["combinations"], start=1)]
        total = len(parts)
        done: list[dict[str, Any]] = []

        def on_progress(update: dict[str, Any]) -> None:
            context.report_progress(len(done), total, f"{len(done)} of {total} runs trained; "
                                    f"{update.get('message', '')}", unit="run")

        for part_id, part in parts:
            self.board.listen(part_id, on_progress)
            self.publish(TRAINING, part, part_id)
        context.report_progress(0, total, f"{total} runs queued on the cluster", unit="run")
        try:
            for index, (part_id, part) in enumerate(parts, start=1):
                done.append(self.collect(TRAINING, part, part_id, context.cancelled))
                context.report_progress(index, total, f"{index} of {total} runs trained",
                                        unit="run")
        finally:
            for part_id, _ in parts:
                self.board.listen(part_id, None)
        return {"models": params["combinations"], "ttps": [part["ttp"] for part in done],
                "grids": sorted({part["grid"] for part in done})}

    def run_on_cluster(self, kind: str, params: dict[str, Any], job_id: str,
                       cancelled: Any, report: Callable[[int, str], None] = _quiet,
                       on_progress: Callable[[dict[str, Any]], None] | None = None
                       ) -> dict[str, Any]:
        """Publish one engine job (`kind`, `params`) under `job_id`, wait for its report,
        archive and track its records; returns the job's result. `cancelled.is_set()` stops
        the wait (JobCancelled); `report(done, message)` hears queued (0) and done (1);
        `on_progress` the running job's own progress (`{current, total, unit, message}`)."""
        self.board.listen(job_id, on_progress)
        try:
            queue = self.publish(kind, params, job_id)
            report(0, f"queued on the cluster ({queue})")
            result = self.collect(kind, params, job_id, cancelled)
        finally:
            self.board.listen(job_id, None)
        report(1, f"done by {result['ttp']} (grid {result['grid']})")
        return result

    def publish(self, kind: str, params: dict[str, Any], job_id: str) -> str:
        """Publish one engine job with the archive records it needs; returns the queue."""
        project_ids = params.get("project_ids") or [params["project_id"]]
        queue, process = ROUTES[kind]
        message = {"job_id": job_id, "process": process, "kind": kind,
                   "params": params, "snapshot": take_snapshot(self.env.archive, project_ids)}
        with self._publish_lock:  # pika channels are not thread-safe
            self.producers[queue].process(**message)
        return queue

    def collect(self, kind: str, params: dict[str, Any], job_id: str,
                cancelled: Any) -> dict[str, Any]:
        """Wait for a published job's report, archive and track the records it produced;
        returns its result with the `ttp` and `grid` that ran it."""
        outcome = self.board.wait(job_id, cancelled)
        if outcome.get("status") != "succeeded":
            raise RuntimeError(f"the cluster could not run this job: {outcome.get('error')}")
        records = own_records(kind, params, outcome.get("records") or {})
        load_snapshot(self.env.archive, records)
        for contribution in records.get("Contribution", []):
            apply_incentives(self.env.archive, contribution["key"]["project_id"],
                             contribution["details"]["tiers"])
        track_cluster_result(self.env.tracker, self.env.archive, kind, records)
        return {**(outcome.get("result") or {}), "ttp": outcome.get("ttp"),
                "grid": outcome.get("grid")}


def own_records(kind: str, params: dict[str, Any], records: Snapshot) -> Snapshot:
    """The records a job may write back: a training's report also carries the project's
    other models and contributions as they were when it was published (inputs, maybe stale
    by now: another run of the project may have been trained meanwhile), so only its own are
    kept; a contribution job writes back only its Contribution records."""
    if kind not in (TRAINING, CONTRIBUTION):
        return records
    trained = [(entry["project_id"], entry["expt_id"], entry["run_id"])
               for entry in params.get("combinations") or []]

    def own(table: str) -> list[dict[str, Any]]:
        return [record for record in records.get(table, [])
                if (record["key"]["project_id"], record["key"]["expt_id"],
                    record["key"]["run_id"]) in trained]
    if kind == CONTRIBUTION:  # a replay: the models it read are inputs, not results
        return {"Contribution": own("Contribution")}
    return {**records, "Model": own("Model"), "Contribution": own("Contribution")}
