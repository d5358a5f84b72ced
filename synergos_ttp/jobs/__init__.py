"""TTP job infrastructure: job records in the archive and the thread-pool `JobRunner`.

Usage by the federated engine::

    def train(context: JobContext) -> dict:
        for round_index in range(start, rounds):
            context.raise_if_cancelled()
            ...
            context.report_progress(round_index + 1, rounds, message="aggregated")
            context.save_checkpoint_info({"round": round_index + 1, "path": ...})
        return {"model": ...}

    job = runner.submit("training", {"project_id": ...}, train)   # -> job view (queued)
    runner.register_resumer("training", lambda job: train)        # resume from checkpoint
"""

from __future__ import annotations

from synergos_ttp.jobs.context import JobCancelled, JobContext
from synergos_ttp.jobs.records import (
    JOB_STATUSES,
    TERMINAL_STATUSES,
    JobError,
    JobNotFound,
    JobStateConflict,
)
from synergos_ttp.jobs.runner import JobRunner, JobTarget, ResumerFactory

__all__ = [
    "JOB_STATUSES",
    "TERMINAL_STATUSES",
    "JobCancelled",
    "JobContext",
    "JobError",
    "JobNotFound",
    "JobRunner",
    "JobStateConflict",
    "JobTarget",
    "ResumerFactory",
]
