"""Jobs: `/ttp/jobs` (list), `/ttp/jobs/<job_id>` (read), `.../cancel` and `.../resume`."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from synergos_ttp.api.connect.common import document_errors
from synergos_ttp.api.models import job_models
from synergos_ttp.api.services import current_services
from synergos_ttp.jobs import (
    JOB_STATUSES,
    TERMINAL_STATUSES,
    JobNotFound,
    JobRunner,
    JobStateConflict,
)
from synrest.envelope import Envelope, success
from synrest.errors import ApiError, Conflict, NotFound, ValidationFailed

JOBS_PREFIX = "/ttp/jobs"
MAX_WAIT_SECONDS = 10.0  # a long-poll holds one server thread: keep it short


def _runner() -> JobRunner:
    runner = current_services().job_runner
    if runner is None:
        raise ApiError(503, "this node runs no jobs")
    return runner


def list_jobs() -> Envelope:
    """Every job, oldest first; query `status` and/or `kind` filter the list."""
    status = request.args.get("status")
    kind = request.args.get("kind")
    if status is not None and status not in JOB_STATUSES:
        raise ValidationFailed({"status": "must be one of " + ", ".join(JOB_STATUSES)})
    return success(200, "jobs.get", _runner().list_jobs(status=status, kind=kind))


def read_job(job_id: str) -> Envelope:
    """One job with its progress, timings, error and result; query `wait=S` holds the answer
    until the job ends or S seconds pass (a long-poll: waiters see the end at once)."""
    seconds = _wait_seconds(request.args.get("wait"))
    try:
        job = _runner().get(job_id)
        if seconds > 0 and job["status"] not in TERMINAL_STATUSES:
            job = _runner().wait(job_id, timeout=seconds)
        return success(200, "job.get", job)
    except JobNotFound as error:
        raise NotFound(str(error)) from None


def _wait_seconds(value: str | None) -> float:
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT_SECONDS:  # NaN fails this too
        raise ValidationFailed({"wait": f"must be a number of seconds from 0 to "
                                        f"{MAX_WAIT_SECONDS:g}"})
    return seconds


def cancel_job(job_id: str) -> Envelope:
    """Cancel a queued job, or ask a running one to stop; 409 once it has ended."""
    try:
        return success(200, "job.cancel", _runner().cancel(job_id))
    except JobNotFound as error:
        raise NotFound(str(error)) from None
    except JobStateConflict as error:
        raise Conflict(str(error)) from None


def resume_job(job_id: str) -> Envelope:
    """Requeue an interrupted/failed job from its checkpoint; 409 if it cannot resume."""
    try:
        return success(202, "job.resume", _runner().resume(job_id))
    except JobNotFound as error:
        raise NotFound(str(error)) from None
    except JobStateConflict as error:
        raise Conflict(str(error)) from None


def build_jobs_namespace() -> Namespace:
    """A fresh `jobs` namespace (mount it at `/ttp/jobs`)."""
    ns = Namespace("jobs", description="Background jobs: alignment, training, evaluation")
    single, listed = job_models(ns)

    @ns.route("", endpoint="jobs")
    class Jobs(Resource):
        @ns.param("status", "only jobs in this state", _in="query", enum=list(JOB_STATUSES))
        @ns.param("kind", "only jobs of this kind (e.g. training)", _in="query")
        @ns.response(200, "the jobs, oldest first", listed)
        @document_errors(ns, 401, 422)
        def get(self) -> Envelope:
            """List jobs, optionally filtered by status and kind."""
            return list_jobs()

    @ns.route("/<string:job_id>", endpoint="job")
    class Job(Resource):
        @ns.param("wait", f"hold the answer until the job ends, at most this many seconds "
                  f"(0 to {MAX_WAIT_SECONDS:g})", _in="query", type=float)
        @ns.response(200, "the job", single)
        @document_errors(ns, 401, 404, 422)
        def get(self, job_id: str) -> Envelope:
            """Read one job: status, progress (e.g. round k of R), timings, error, result."""
            return read_job(job_id)

    @ns.route("/<string:job_id>/cancel", endpoint="job_cancel")
    class JobCancel(Resource):
        @ns.response(200, "the job (cancelled, or cancel_requested while it stops)", single)
        @document_errors(ns, 401, 404, 409)
        def post(self, job_id: str) -> Envelope:
            """Cancel a queued or running job."""
            return cancel_job(job_id)

    @ns.route("/<string:job_id>/resume", endpoint="job_resume")
    class JobResume(Resource):
        @ns.response(202, "the job, queued again from its checkpoint", single)
        @document_errors(ns, 401, 404, 409)
        def post(self, job_id: str) -> Envelope:
            """Resume an interrupted (or failed) job from its last checkpoint."""
            return resume_job(job_id)

    return ns
