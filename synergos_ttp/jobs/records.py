"""Job records in the archive's `Job` table, and the public view of one job."""

from __future__ import annotations

import json
import uuid
from typing import Any

from synarchive import Archive
from syncommon.clock import utc_now

JOB_TABLE = "Job"
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "interrupted", "cancelled")
ACTIVE_STATUSES = frozenset({"queued", "running"})
TERMINAL_STATUSES = frozenset(JOB_STATUSES) - ACTIVE_STATUSES
RESUMABLE_STATUSES = frozenset({"interrupted", "failed"})

# Archive records carry their own `kind` (the table name) and `created_at`; the job's kind
# and submission time are stored under these names and renamed in `job_view`.
_STORED_KIND = "job_kind"
_STORED_CREATED = "submitted_at"


class JobError(Exception):
    """Base class of job-runner errors that the REST layer turns into 4xx envelopes."""


class JobNotFound(JobError):
    """No job with this id exists."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} does not exist")
        self.job_id = job_id


class JobStateConflict(JobError):
    """The job is not in a state that allows the requested operation (cancel, resume)."""


def ensure_json(value: Any, what: str) -> None:
    """Raise TypeError when `value` cannot be stored as JSON (the archive's format)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{what} must be JSON-serialisable: {error}") from error


def job_view(record: dict[str, Any]) -> dict[str, Any]:
    """The public shape of a job built from its archive record (no archive annotations)."""
    return {
        "job_id": record["key"]["job_id"],
        "kind": record.get(_STORED_KIND),
        "status": record.get("status"),
        "params": record.get("params") or {},
        "progress": record.get("progress") or empty_progress(),
        "error": record.get("error"),
        "result": record.get("result"),
        "created_at": record.get(_STORED_CREATED),
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"),
        "checkpoint": record.get("checkpoint"),
        "cancel_requested": bool(record.get("cancel_requested", False)),
        "attempts": int(record.get("attempts", 1)),
    }


def empty_progress() -> dict[str, Any]:
    """Progress of a job that has not reported any."""
    return {"current": 0, "total": None, "unit": "round", "message": ""}


class JobRecords:
    """Reads and writes job records in the archive's `Job` table (key `{job_id}`)."""

    def __init__(self, archive: Archive) -> None:
        self._table = archive.table(JOB_TABLE)

    def create(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """Store a new queued job and return its view."""
        job_id = uuid.uuid4().hex
        details = {
            _STORED_KIND: kind,
            "status": "queued",
            "params": params,
            "progress": empty_progress(),
            "error": None,
            "result": None,
            _STORED_CREATED: utc_now(),
            "started_at": None,
            "finished_at": None,
            "checkpoint": None,
            "cancel_requested": False,
            "attempts": 1,
        }
        return job_view(self._table.create({"job_id": job_id}, details))

    def read(self, job_id: str) -> dict[str, Any]:
        """The view of one job; raises `JobNotFound`."""
        record = self._find(job_id)
        if record is None:
            raise JobNotFound(job_id)
        return job_view(record)

    def read_all(self, status: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Views of every job, oldest first, optionally filtered by status and/or kind."""
        views = [job_view(record) for record in self._table.read_all()]
        if status is not None:
            views = [view for view in views if view["status"] == status]
        if kind is not None:
            views = [view for view in views if view["kind"] == kind]
        return sorted(views, key=lambda view: (view["created_at"] or "", view["job_id"]))

    def update(self, job_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply top-level `changes` to a job and return its new view; raises `JobNotFound`."""
        if self._find(job_id) is None:
            raise JobNotFound(job_id)
        if "kind" in changes:
            changes = {**changes, _STORED_KIND: changes["kind"]}
            del changes["kind"]
        return job_view(self._table.update({"job_id": job_id}, changes))

    def _find(self, job_id: str) -> dict[str, Any] | None:
        if not isinstance(job_id, str) or not job_id:
            return None
        try:
            return self._table.read({"job_id": job_id})
        except LookupError:
            return None
