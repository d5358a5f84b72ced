"""Runs long TTP work (alignment, training, evaluation) in a thread pool, tracked as job records.

A target is a callable `target(context: JobContext) -> dict | None`. The runner stores the job
`queued`, runs the target on a worker thread (`running`), and always ends the job in a
terminal state: `succeeded` (the returned dict becomes `result`), `failed` (the exception's
message becomes `error`), `cancelled` (the target raised `JobCancelled` after `cancel`), or
`interrupted` (the runner shut down, or the TTP restarted, before the job finished).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any

from synarchive import Archive
from syncommon.clock import utc_now
from synergos_ttp.jobs.context import JobCancelled, JobContext
from synergos_ttp.jobs.records import (
    ACTIVE_STATUSES,
    RESUMABLE_STATUSES,
    TERMINAL_STATUSES,
    JobRecords,
    JobStateConflict,
    ensure_json,
)

JobTarget = Callable[[JobContext], "dict[str, Any] | None"]
ResumerFactory = Callable[[dict[str, Any]], JobTarget]

logger = logging.getLogger(__name__)


class JobRunner:
    """Thread-pool job runner whose jobs live in the archive's `Job` table.

    `submit` queues work; `cancel`, `resume`, `get`, `list_jobs` and `wait` manage it;
    `register_resumer(kind, factory)` makes jobs of `kind` resumable from their checkpoint;
    `mark_interrupted_on_startup` settles jobs a previous process left unfinished.
    """

    def __init__(self, archive: Archive, max_workers: int = 2) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be a positive integer, got {max_workers!r}")
        self.archive = archive
        self.records = JobRecords(archive)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ttp-job")
        self._lock = threading.RLock()
        self._events: dict[str, threading.Event] = {}
        self._futures: dict[str, Future] = {}
        self._ended: dict[str, threading.Event] = {}  # set when the job's thread returns
        self._user_cancelled: set[str] = set()
        self._resumers: dict[str, ResumerFactory] = {}
        self._closed = False
        self._interrupting = False

    # ----------------------------------------------------------------- submitting work
    def submit(self, kind: str, params: dict[str, Any], target: JobTarget) -> dict[str, Any]:
        """Store a queued job of `kind` with `params`, schedule `target`, return the job view."""
        if not isinstance(kind, str) or not kind.strip():
            raise ValueError("job kind must be a non-empty string")
        if not isinstance(params, dict):
            raise TypeError(f"job params must be a dict, got {type(params).__name__}")
        if not callable(target):
            raise TypeError("job target must be callable")
        ensure_json(params, "job params")
        with self._lock:
            self._ensure_open()
            job = self.records.create(kind, params)
            self._schedule(job, target)
        logger.info("job queued", extra={"job_id": job["job_id"], "job_kind": kind})
        return job

    def register_resumer(self, kind: str, factory: ResumerFactory) -> None:
        """Make interrupted/failed jobs of `kind` resumable: `factory(job) -> target`.

        The new target receives the job's stored checkpoint as `context.checkpoint`.
        """
        if not callable(factory):
            raise TypeError("resumer factory must be callable")
        self._resumers[kind] = factory

    def resume(self, job_id: str) -> dict[str, Any]:
        """Requeue an interrupted/failed job (same id) with its resumer's target.

        Raises `JobNotFound`, or `JobStateConflict` when the job is not resumable.
        """
        with self._lock:
            self._ensure_open()
            job = self.records.read(job_id)
            if job["status"] not in RESUMABLE_STATUSES:
                raise JobStateConflict(
                    f"job {job_id} is {job['status']}; only interrupted or failed jobs resume"
                )
            factory = self._resumers.get(job["kind"])
            if factory is None:
                raise JobStateConflict(f"jobs of kind {job['kind']!r} cannot be resumed")
            target = factory(job)
            job = self.records.update(job_id, {
                "status": "queued", "error": None, "result": None, "started_at": None,
                "finished_at": None, "cancel_requested": False, "attempts": job["attempts"] + 1,
            })
            self._user_cancelled.discard(job_id)
            self._schedule(job, target)
        logger.info("job resumed", extra={"job_id": job_id, "job_kind": job["kind"]})
        return job

    # ----------------------------------------------------------------- reading and control
    def get(self, job_id: str) -> dict[str, Any]:
        """The current view of one job; raises `JobNotFound`."""
        return self.records.read(job_id)

    def list_jobs(self, status: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Views of all jobs, oldest first, optionally filtered by status and/or kind."""
        return self.records.read_all(status=status, kind=kind)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued job at once, or ask a running one to stop (it ends `cancelled`).

        Raises `JobNotFound`, or `JobStateConflict` when the job already finished.
        """
        with self._lock:
            job = self.records.read(job_id)
            if job["status"] in TERMINAL_STATUSES:
                raise JobStateConflict(f"job {job_id} already ended {job['status']}")
            future = self._futures.get(job_id)
            event = self._events.get(job_id)
            self._user_cancelled.add(job_id)
            if event is not None:
                event.set()
            if future is None or future.cancel() or job["status"] == "queued":
                # Not started (or owned by no live thread of this process): settle it now.
                job = self._finish(job_id, "cancelled", error="cancelled before it started")
            else:
                job = self.records.update(job_id, {"cancel_requested": True})
        logger.info("job cancel requested", extra={"job_id": job_id})
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Block until the job's thread finished (or `timeout` s passed); return its view.
        Waiting adds nothing per call, so clients may long-poll a job for hours."""
        with self._lock:
            ended = self._ended.get(job_id)
        if ended is not None:
            ended.wait(timeout)
        return self.records.read(job_id)

    def mark_interrupted_on_startup(self) -> list[dict[str, Any]]:
        """Turn jobs left queued/running by a previous process into `interrupted`; return them."""
        settled = []
        with self._lock:
            for job in self.records.read_all():
                if job["status"] in ACTIVE_STATUSES and job["job_id"] not in self._futures:
                    settled.append(self._finish(
                        job["job_id"], "interrupted",
                        error=f"the TTP restarted while the job was {job['status']}",
                    ))
        if settled:
            logger.warning("jobs interrupted by a restart", extra={"count": len(settled)})
        return settled

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop taking jobs; queued jobs and (at their next check) running ones end interrupted.

        With `wait`, block until the worker threads return, at most `timeout` seconds (None:
        no limit); jobs still running then are recorded `interrupted` right away.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._interrupting = True
            pending = dict(self._futures)
        for job_id, future in pending.items():
            with self._lock:
                if future.cancel():
                    self._finish(job_id, "interrupted", error="the TTP shut down before it ran")
                elif job_id in self._events:
                    self._events[job_id].set()
        if wait:
            futures_wait(list(pending.values()), timeout=timeout)
            with self._lock:
                for job_id, future in pending.items():
                    if not future.done():
                        self._finish(job_id, "interrupted",
                                     error="the TTP shut down while the job was running")
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ----------------------------------------------------------------- internals
    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError("the job runner is shut down")

    def _schedule(self, job: dict[str, Any], target: JobTarget) -> None:
        job_id = job["job_id"]
        event = threading.Event()
        ended = threading.Event()
        self._events[job_id] = event
        self._ended[job_id] = ended
        future = self._pool.submit(self._run, job, target, event)
        self._futures[job_id] = future
        future.add_done_callback(lambda _future: self._mark_ended(job_id, ended))

    def _mark_ended(self, job_id: str, ended: threading.Event) -> None:
        ended.set()
        with self._lock:
            if self._ended.get(job_id) is ended:  # not already rescheduled by `resume`
                del self._ended[job_id]

    def _run(self, job: dict[str, Any], target: JobTarget, event: threading.Event) -> None:
        job_id = job["job_id"]
        try:
            with self._lock:
                job = self.records.read(job_id)
                if job["status"] != "queued":
                    return  # settled meanwhile (cancelled while waiting for a thread)
                if event.is_set():
                    self._finish(job_id, *self._stop_status(job_id, "before it started"))
                    return
                job = self.records.update(job_id, {"status": "running", "started_at": utc_now()})
            context = JobContext(
                job_id=job_id, kind=job["kind"], params=job["params"], archive=self.archive,
                cancelled=event, checkpoint=job["checkpoint"],
                update_record=lambda changes: self._update_quietly(job_id, changes),
            )
            outcome = self._call_target(job_id, target, context)
            with self._lock:
                self._finish(job_id, *outcome)
        except BaseException as error:  # a job must always reach a terminal state
            logger.exception("job bookkeeping failed", extra={"job_id": job_id})
            self._finish_last_resort(job_id, error)
        finally:
            with self._lock:
                if self._events.get(job_id) is event:  # not already rescheduled by `resume`
                    self._events.pop(job_id, None)
                    self._futures.pop(job_id, None)

    def _call_target(
        self, job_id: str, target: JobTarget, context: JobContext
    ) -> tuple[str, str | None, dict[str, Any] | None]:
        """Run the target; return (status, error, result)."""
        try:
            result = target(context)
        except JobCancelled:
            status, error = self._stop_status(job_id, "while running")
            return status, error, None
        except BaseException as error:  # reported on the job record
            logger.warning("job failed", extra={"job_id": job_id, "error": repr(error)})
            return "failed", _describe(error), None
        if result is not None and not isinstance(result, dict):
            return "failed", f"job target returned {type(result).__name__}, not a dict", None
        try:
            ensure_json(result, "job result")
        except TypeError as error:
            return "failed", str(error), None
        return "succeeded", None, result

    def _stop_status(self, job_id: str, when: str) -> tuple[str, str]:
        if job_id in self._user_cancelled:
            return "cancelled", f"cancelled {when}"
        if self._interrupting:
            return "interrupted", f"the TTP shut down {when}"
        return "cancelled", f"stopped {when}"

    def _finish(
        self, job_id: str, status: str, error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        self._user_cancelled.discard(job_id)
        return self.records.update(job_id, {
            "status": status, "error": error, "result": result, "finished_at": utc_now(),
        })

    def _finish_last_resort(self, job_id: str, error: BaseException) -> None:
        try:
            with self._lock:
                self._finish(job_id, "failed", error=f"job runner error: {_describe(error)}")
        except Exception:  # nothing else can be done; it is logged
            logger.exception("could not record the failure of a job", extra={"job_id": job_id})

    def _update_quietly(self, job_id: str, changes: dict[str, Any]) -> None:
        ensure_json(changes, "job progress/checkpoint")
        with self._lock:
            self.records.update(job_id, changes)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
