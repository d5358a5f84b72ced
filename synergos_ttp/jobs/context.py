"""What a running job's target sees: its id, parameters, progress/checkpoint hooks, cancel flag."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from synarchive import Archive


class JobCancelled(Exception):
    """Raised by a job target (via `JobContext.raise_if_cancelled`) when it was asked to stop."""


class JobContext:
    """Handed to every job target; the target's only channel back to the job record.

    A target reports progress with `report_progress`, stores resume information with
    `save_checkpoint_info`, and checks `cancelled` between rounds (`raise_if_cancelled()`
    raises `JobCancelled`). `checkpoint` holds the checkpoint info the job was resumed from
    (None on a first attempt).
    """

    def __init__(
        self,
        job_id: str,
        kind: str,
        params: dict[str, Any],
        archive: Archive,
        cancelled: threading.Event,
        update_record: Callable[[dict[str, Any]], None],
        checkpoint: dict[str, Any] | None = None,
    ) -> None:
        self.job_id = job_id
        self.kind = kind
        self.params = params
        self.archive = archive
        self.cancelled = cancelled
        self.checkpoint = checkpoint
        self._update_record = update_record

    def report_progress(
        self, current: int, total: int | None, message: str = "", unit: str = "round"
    ) -> None:
        """Store `{current, total, unit, message}` as the job's progress (e.g. round 3 of 10)."""
        self._update_record({"progress": self.progress_entry(current, total, message, unit)})

    @staticmethod
    def progress_entry(current: int, total: int | None, message: str = "",
                       unit: str = "round") -> dict[str, Any]:
        """The checked `{current, total, unit, message}` that `report_progress` stores."""
        if isinstance(current, bool) or not isinstance(current, int) or current < 0:
            raise ValueError(f"progress 'current' must be a non-negative integer, got {current!r}")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
            raise ValueError(f"progress 'total' must be an integer or None, got {total!r}")
        return {"current": current, "total": total, "unit": str(unit), "message": str(message)}

    def save_checkpoint_info(self, info: dict[str, Any],
                             progress: dict[str, Any] | None = None) -> None:
        """Store `info` (JSON-serialisable) on the job record so a resumer can continue from it,
        with the job's new `progress` (from `progress_entry`) in the same write when given."""
        if not isinstance(info, dict):
            raise TypeError(f"checkpoint info must be a dict, got {type(info).__name__}")
        changes: dict[str, Any] = {"checkpoint": info}
        if progress is not None:
            changes["progress"] = progress
        self._update_record(changes)
        self.checkpoint = info

    def raise_if_cancelled(self) -> None:
        """Raise `JobCancelled` when cancellation (or a shutdown interrupt) was requested."""
        if self.cancelled.is_set():
            raise JobCancelled(f"job {self.job_id} was asked to stop")
