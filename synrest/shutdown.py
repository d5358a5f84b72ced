"""The exit guarantee of every node: once told to stop, the process ends within
`EXIT_DEADLINE` seconds, whatever its threads are doing.

A node stops in order (its ports drain, its jobs are asked to stop and recorded, its stores
close), but a thread may still be busy then: a job between two of its stop checks, a call
blocked on a peer that never answers. Python joins every non-daemon thread before the process
exits (and every `ThreadPoolExecutor` thread, daemon or not), so one busy thread would keep the
process alive. Python's own finalization then collects every object of a process that loaded
torch and MLflow, seconds of CPU per pass (py-spy: `gc_collect_main`), with no Python signal
handler left to run. `ExitGuard` bounds all of it: `arm` (at the first SIGTERM or SIGINT)
starts the countdown of a watching thread started beforehand (`start`) and a second signal
ends it at once; `finish` (when the node's orderly
stop returned) gives the threads left over a short grace, closes the logging (bounded: a
stream may block) and ends the process with `os._exit`, skipping that finalization. The
threads still running are logged by name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import thread as futures_thread

from synlogger import shutdown_node_logging

EXIT_DEADLINE = 90.0  # from the first signal to the end of the process, at the latest
LEFTOVER_GRACE = 3.0  # what the threads still running after an orderly stop get
FLUSH_TIMEOUT = 5.0  # a log stream that blocks (a full pipe) must not hold the exit

logger = logging.getLogger("synrest.shutdown")


def leftover_threads() -> list[threading.Thread]:
    """What Python would wait for before the process ends, but the calling thread and the
    main one: live non-daemon threads, and every `ThreadPoolExecutor` thread (joined at
    exit even when daemon, as it is when its pool was started from a daemon thread)."""
    current = threading.current_thread()
    pooled = set(getattr(futures_thread, "_threads_queues", {}))
    return [thread for thread in threading.enumerate()
            if thread is not current and thread is not threading.main_thread()
            and thread.is_alive() and (not thread.daemon or thread in pooled)]


def bounded_log(level: int, message: str, *args: object, extra: dict | None = None,
                timeout: float = FLUSH_TIMEOUT) -> None:
    """Log one line and flush every root handler, giving up after `timeout` seconds: a log
    stream that blocks (a pipe nobody reads) must not hold the exit."""
    def write() -> None:
        logger.log(level, message, *args, extra=extra)
        for handler in list(logging.getLogger().handlers):
            with contextlib.suppress(Exception):  # nothing can be reported any more
                handler.flush()

    writer = threading.Thread(target=write, name="exit-log", daemon=True)
    writer.start()
    writer.join(timeout)


class ExitGuard:
    """Ends the process `deadline` seconds after `arm` at the latest (`exit(1)`), or as soon
    as `finish` saw the orderly stop through and the leftover threads' grace passed."""

    def __init__(self, deadline: float = EXIT_DEADLINE, grace: float = LEFTOVER_GRACE,
                 exit_process: Callable[[int], object] = os._exit) -> None:
        self.deadline = deadline
        self.grace = grace
        self._exit = exit_process
        self._expires: float | None = None
        self._armed = threading.Event()
        self._now = threading.Event()  # a second signal: do not wait for the deadline
        self._watcher: threading.Thread | None = None

    @property
    def armed(self) -> bool:
        """Whether the countdown runs."""
        return self._expires is not None

    def start(self) -> None:
        """Start the (idle) watching thread, before any signal handler may call `arm`: a
        handler must not start threads (it could interrupt one holding threading's locks)."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="exit-guard",
                                             daemon=True)
            self._watcher.start()

    def arm(self) -> None:
        """Start the countdown on the first call; on a later one, exit at once. Safe in a
        signal handler: it only sets events (`start` must have run)."""
        if self._armed.is_set():
            self._now.set()
            return
        self._expires = time.monotonic() + self.deadline
        self._armed.set()

    def finish(self, code: int) -> int:
        """The orderly stop returned with exit status `code`: give the threads still running
        `grace` seconds (never past the deadline), close the logging, and exit with `code`."""
        limit = time.monotonic() + self.grace
        if self._expires is not None:
            limit = min(limit, self._expires)
        for thread in leftover_threads():
            thread.join(max(limit - time.monotonic(), 0.0))
        stuck = leftover_threads()
        if stuck:
            names = sorted(thread.name for thread in stuck)
            bounded_log(logging.WARNING, "exiting without %d thread(s) still running: %s",
                        len(names), ", ".join(names), extra={"threads": names})
        self._end(code)
        return code  # only when `exit_process` returns (tests)

    def _watch(self) -> None:
        self._armed.wait()
        expires = self._expires
        assert expires is not None
        self._now.wait(max(expires - time.monotonic(), 0.0))
        names = sorted(thread.name for thread in leftover_threads())
        reason = ("a second signal" if self._now.is_set()
                  else f"the shutdown deadline ({self.deadline:g} s) passed")
        bounded_log(logging.ERROR, "stopping now: %s; threads still running: %s", reason,
                    ", ".join(names) or "none", extra={"threads": names})
        self._end(1)

    def _end(self, code: int) -> None:
        """Close the logging (queued GELF records leave) and the standard streams, each
        within `FLUSH_TIMEOUT`, then end the process."""
        def close() -> None:
            shutdown_node_logging()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()

        closer = threading.Thread(target=close, name="exit-close", daemon=True)
        closer.start()
        closer.join(FLUSH_TIMEOUT)
        self._exit(code)


EXIT_GUARD = ExitGuard()
