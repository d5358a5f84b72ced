"""Waiting for background jobs: poll `GET /ttp/jobs/<job_id>` with a tqdm progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tqdm import tqdm

from syncommon.backoff import Backoff
from synergos.errors import (
    JobFailedError,
    JobTimeoutError,
    ResponseTimeoutError,
    UnreachableError,
)
from synergos.http import Envelope, Transport

JOBS_PREFIX = "/ttp/jobs"
SUCCEEDED = "succeeded"
FAILED_STATES = frozenset({"failed", "cancelled", "interrupted"})
JOB_STATES = frozenset({"queued", "running", SUCCEEDED}) | FAILED_STATES


def job_path(job_id: str) -> str:
    """Return the route of one job, e.g. `/ttp/jobs/3f2a...`."""
    if not isinstance(job_id, str) or not job_id:
        raise ValueError(f"job_id must be a non-empty string, got {job_id!r}")
    return f"{JOBS_PREFIX}/{quote(job_id, safe='')}"


def is_job_record(data: Any) -> bool:
    """True when `data` looks like a job record (a dict with a `job_id` and a `status`)."""
    return isinstance(data, dict) and isinstance(data.get("job_id"), str) and "status" in data


class JobWaiter:
    """Polls a job until it ends, growing the interval from `initial_interval` to `max_interval`.

    Each poll is a long-poll (`?wait=<interval>`): the server answers as soon as the job ends,
    else after the interval, so the end is seen at once without polling faster. A server that
    answers at once is simply polled at the interval. `sleep` and `clock` are injectable so
    the waiting logic can be tested without real time.
    """

    def __init__(
        self,
        transport: Transport,
        initial_interval: float = 0.25,
        max_interval: float = 2.0,
        backoff: float = 1.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self.initial_interval = initial_interval
        self.max_interval = max_interval
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock

    def wait(self, job_id: str, timeout: float | None = None, progress: bool = True) -> Envelope:
        """Block until job `job_id` succeeds and return its final `GET /ttp/jobs/<id>` envelope.

        Raises `JobFailedError` when it ends failed/cancelled/interrupted and `JobTimeoutError`
        after `timeout` seconds (None waits forever; the job itself keeps running).
        """
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be None or >= 0 seconds, got {timeout!r}")
        path = job_path(job_id)
        deadline = None if timeout is None else self._clock() + timeout
        intervals = Backoff(initial=self.initial_interval, maximum=self.max_interval,
                            factor=self.backoff)
        with _JobProgressBar(job_id, enabled=progress) as bar:
            while True:
                interval = intervals.next_delay()
                asked = self._clock()
                hold = interval if deadline is None else max(min(interval, deadline - asked), 0)
                read_timeout = self._transport.read_timeout
                if read_timeout is not None:  # the server's hold must not time the call out
                    hold = min(hold, read_timeout / 2)
                envelope = self._poll(path, job_id, hold)
                job = envelope.get("data") or {}
                bar.show(job)
                status = job.get("status")
                if status == SUCCEEDED:
                    return envelope
                if status in FAILED_STATES:
                    raise JobFailedError(job)
                now = self._clock()
                pause = interval - (now - asked)  # what the server did not wait already
                if deadline is not None and timeout is not None:
                    remaining = deadline - now
                    if remaining <= 0:
                        raise JobTimeoutError(job, timeout)
                    pause = min(pause, remaining)
                if pause > 0:
                    self._sleep(pause)

    def _poll(self, path: str, job_id: str, hold: float) -> Envelope:
        try:
            return self._transport.get(path, query={"wait": f"{hold:.3f}"})
        except (UnreachableError, ResponseTimeoutError) as exc:
            exc.message += (
                f" while waiting for job {job_id}; the job may still be running: "
                f"wait again with driver.jobs.wait({job_id!r})"
            )
            raise


class _JobProgressBar:
    """A tqdm bar showing `progress.current / progress.total` of a job record."""

    def __init__(self, job_id: str, enabled: bool) -> None:
        self._bar = tqdm(total=None, desc=f"job {job_id[:8]}", unit="round", disable=not enabled,
                         leave=True, dynamic_ncols=True)

    def __enter__(self) -> _JobProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._bar.close()

    def show(self, job: dict[str, Any]) -> None:
        """Redraw the bar from a job record (kind, status, progress)."""
        if self._bar.disable:
            return
        progress = job.get("progress") or {}
        total, current = progress.get("total"), progress.get("current")
        if job.get("kind"):
            self._bar.set_description_str(f"{job['kind']} {str(job.get('job_id', ''))[:8]}",
                                          refresh=False)
        if isinstance(total, int) and total > 0:
            self._bar.total = total
        if isinstance(current, int) and current >= 0:
            self._bar.n = current
        if progress.get("unit"):
            self._bar.unit = str(progress["unit"])
        note = str(job.get("status", ""))
        if progress.get("message"):
            note = f"{note}: {progress['message']}"
        self._bar.set_postfix_str(note, refresh=False)
        self._bar.refresh()
