"""Jobs: the background work behind alignments, training and evaluation (`/ttp/jobs`)."""

from __future__ import annotations

from synergos.http import Envelope
from synergos.jobs import JOBS_PREFIX, job_path
from synergos.resources.base import Resource, given


class Jobs(Resource):
    """List, inspect, wait for, cancel and resume background jobs (`driver.jobs`).

    A job record: `{"job_id", "kind", "status", "progress": {"current", "total", "unit",
    "message"}, "params", "error", "created_at", "started_at", "finished_at", "result"}`;
    `status` is one of queued, running, succeeded, failed, interrupted, cancelled.
    """

    def read_all(self, status: str | None = None, kind: str | None = None) -> Envelope:
        """List jobs, optionally filtered: `GET /ttp/jobs?status=&kind=`.

        Args:
            status: only jobs in this state, e.g. `"running"` (default None: all).
            kind: only jobs of this kind: `"alignment"`, `"training"`, `"optimization"`,
                `"validation"` or `"prediction"` (default None: all).

        Example:
            running = driver.jobs.read_all(status="running")["data"]
        """
        query = given(status=status, kind=kind)
        return self._transport.get(JOBS_PREFIX, query=query or None)

    def read(self, job_id: str) -> Envelope:
        """Read one job record: `GET /ttp/jobs/<job_id>`.

        Example:
            driver.jobs.read(job_id)["data"]["progress"]
        """
        return self._transport.get(job_path(job_id))

    def wait(self, job_id: str, timeout: float | None = None, progress: bool = True) -> Envelope:
        """Block until a job succeeds; return the envelope of its final job record.

        Args:
            job_id: the job to wait for.
            timeout: seconds before raising `JobTimeoutError` (default None: forever).
            progress: show a tqdm progress bar (default True).

        Raises:
            JobFailedError: the job failed, was cancelled or was interrupted.
            JobTimeoutError: `timeout` passed first (the job keeps running).

        Example:
            job = driver.models.create("test_project", wait=False)["data"]
            driver.jobs.wait(job["job_id"], timeout=3600)
        """
        return self._waiter.wait(job_id, timeout=timeout, progress=progress)

    def cancel(self, job_id: str) -> Envelope:
        """Ask the server to cancel a queued or running job: `POST /ttp/jobs/<job_id>/cancel`.

        Returns:
            The response envelope; `data` is the job record.

        Example:
            driver.jobs.cancel(job_id)
        """
        return self._transport.post(f"{job_path(job_id)}/cancel")

    def resume(
        self,
        job_id: str,
        wait: bool = True,
        timeout: float | None = None,
        progress: bool = True,
    ) -> Envelope:
        """Resume an interrupted job from its last checkpoint: `POST /ttp/jobs/<job_id>/resume`.

        Args:
            job_id: the interrupted (or failed) job.
            wait: wait until it ends (default True); False returns the answer at once.
            timeout: seconds before raising `JobTimeoutError` (default None: forever).
            progress: show a tqdm progress bar while waiting (default True).

        Returns:
            When waiting: the envelope of the final job record (as `jobs.wait`); otherwise the
            envelope of the resume call (`data` = the job record).

        Example:
            driver.jobs.resume(job_id, timeout=3600)
        """
        envelope = self._transport.post(f"{job_path(job_id)}/resume")
        if not wait:
            return envelope
        data = envelope.get("data")
        resumed_id = data.get("job_id", job_id) if isinstance(data, dict) else job_id
        return self._waiter.wait(resumed_id, timeout=timeout, progress=progress)
