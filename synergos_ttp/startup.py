"""Start-up steps the TTP and the Director share: open the node's folders and archive, and
settle the jobs a previous process left unfinished."""

from __future__ import annotations

import logging

from synarchive import Archive, ArchiveError
from synergos_ttp.jobs import JobRunner
from synrest.node_config import NodeConfig

ARCHIVE_FILENAME = "database.json"


def open_node_archive(node: NodeConfig, logger: logging.Logger) -> Archive | None:
    """Create the data and outputs folders and open the archive; None (logged) when either
    cannot be done, so the caller exits with status 1."""
    try:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        node.outputs_dir.mkdir(parents=True, exist_ok=True)
        return Archive(node.data_dir / ARCHIVE_FILENAME)
    except (OSError, ArchiveError) as error:
        logger.error("cannot open the archive: %s", error)
        return None


def settle_unfinished_jobs(runner: JobRunner, logger: logging.Logger) -> None:
    """Mark the jobs a previous process left queued or running as `interrupted`."""
    interrupted = runner.mark_interrupted_on_startup()
    if interrupted:
        logger.warning("jobs left unfinished by the previous run are now interrupted",
                       extra={"job_ids": [job["job_id"] for job in interrupted]})
