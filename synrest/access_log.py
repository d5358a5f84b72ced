"""One access line per answered request, on every port (REST and binary), at DEBUG level:
`synrest.access` with method, route, status and duration."""

from __future__ import annotations

import logging
import time

access_logger = logging.getLogger("synrest.access")


def log_access(method: str, path: str, status: int, started: float | None) -> None:
    """Log an answered request (`started`: its `time.perf_counter()` at arrival, if known)."""
    if not access_logger.isEnabledFor(logging.DEBUG):
        return
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    access_logger.debug("%s %s -> %s", method, path, status,
                        extra={"http_method": method, "route": path, "status": status,
                               "duration_ms": elapsed_ms})
