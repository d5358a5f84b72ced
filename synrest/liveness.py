"""Liveness: a node's essential background loops, and whether all of them still run.

A loop started with `Liveness.start_essential` must run until the node stops. When it returns
or raises while the node is still meant to run, the node is dead: `GET /health` answers 503
naming the loop, and `dead` is set so the serving loop stops and the process exits non-zero
(letting a container's restart policy start a fresh one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

logger = logging.getLogger("synrest.liveness")
EXTENSION_KEY = "synrest.liveness"


class Liveness:
    """The essential loops of one node and the failures of those that ended."""

    def __init__(self) -> None:
        self.dead = threading.Event()
        self._failures: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def failures(self) -> dict[str, str]:
        """Loop name -> why it ended; empty while the node is alive."""
        with self._lock:
            return dict(self._failures)

    def mark_dead(self, loop: str, reason: str) -> None:
        """Record that `loop` ended for `reason`; the node is no longer alive."""
        with self._lock:
            self._failures[loop] = reason
        logger.error("essential loop %r ended: %s; the node stops", loop, reason,
                     extra={"loop": loop, "reason": reason})
        self.dead.set()

    def start_essential(self, name: str, target: Callable[[threading.Event], object],
                        stop_event: threading.Event) -> threading.Thread:
        """Run `target(stop_event)` on a daemon thread named `name`; its end before
        `stop_event` is set (returning or raising) marks the node dead."""
        def guarded() -> None:
            try:
                target(stop_event)
            except BaseException as exc:  # reported through /health and the exit code
                if not stop_event.is_set():
                    self.mark_dead(name, f"{type(exc).__name__}: {exc}")
                    return
                raise
            if not stop_event.is_set():
                self.mark_dead(name, "returned while the node was running")

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        return thread


def app_liveness(app: Flask) -> Liveness:
    """The Liveness that `app`'s `/health` reports (created on first use)."""
    return app.extensions.setdefault(EXTENSION_KEY, Liveness())
