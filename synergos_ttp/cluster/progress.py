"""Progress of cluster jobs, from the TTP running one to the Director's job record.

A cluster TTP publishes `{"job_id", "status": "progress", "progress"}` to `completed` whenever
the engine job's progress changes (round k of R); the Director's `CompletionBoard` hands it to
the waiting job, which shows it as its own. Progress is best effort: a lost message only
means a coarser bar, never a lost result (reports are separate messages).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)
PROGRESS_STATUS = "progress"


class ProgressPublisher:
    """Publishes progress messages on one connection of its own (use from one thread)."""

    def __init__(self, queue_host: str, queue_port: int, **credentials: str) -> None:
        from synmanager import CompletedProducerOperator

        self._producer = CompletedProducerOperator(queue_host, queue_port, **credentials)

    def publish(self, job_id: str, progress: dict[str, Any]) -> None:
        """Send the job's current progress; a failure is logged, never raised."""
        try:
            self._producer.process(job_id=job_id, status=PROGRESS_STATUS, progress=progress)
        except Exception as error:  # progress must never fail a job
            logger.debug("progress not published", extra={"job_id": job_id,
                                                          "error": str(error)})

    def close(self) -> None:
        """Close the connection."""
        self._producer.disconnect()


def is_progress(report: dict[str, Any]) -> bool:
    """Whether a `completed` message is a progress update rather than a job's report."""
    return report.get("status") == PROGRESS_STATUS and isinstance(report.get("progress"), dict)
