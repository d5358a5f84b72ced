"""Run a job off the connection's thread while the connection thread keeps heartbeats going."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pika

from synmanager.connection import CONNECTION_LOST_ERRORS

logger = logging.getLogger(__name__)


@dataclass
class JobResult:
    """What a job returned, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None


def run_with_heartbeats(connection: pika.BlockingConnection, job: Callable[[], Any],
                        poll_interval: float = 1.0, name: str = "synmanager-job") -> JobResult:
    """Run `job()` in a worker thread; meanwhile pump `process_data_events` on this (the
    connection's) thread so heartbeats flow however long the job takes.

    The worker wakes the connection thread through `add_callback_threadsafe` when it ends,
    so a finished job is noticed at once. The job's own exception is returned, not raised;
    if the connection is lost meanwhile, this waits for the job to end and re-raises the
    connection error (the unacknowledged message will be redelivered).
    """
    outcome = JobResult()
    finished = threading.Event()

    def work() -> None:
        try:
            outcome.value = job()
        except BaseException as exc:  # reported to the caller, never lost
            outcome.error = exc
        finally:
            finished.set()
            try:
                connection.add_callback_threadsafe(_wake_up)
            except Exception:  # connection already closed: nothing to wake
                logger.debug("connection closed before the job finished", exc_info=True)

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    try:
        while not finished.is_set():
            connection.process_data_events(time_limit=poll_interval)
    except CONNECTION_LOST_ERRORS:
        logger.warning("RabbitMQ connection lost while a job runs; waiting for the job to end, "
                       "its message will be redelivered")
        worker.join()
        raise
    worker.join()
    return outcome


def _wake_up() -> None:
    """No-op dispatched on the connection thread: its arrival ends the wait."""
