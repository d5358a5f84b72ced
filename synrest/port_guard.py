"""Limits a port puts on its peers: a total and a per-address connection cap, deadlines
for a whole request head and for a body at a minimum rate, an idle keep-alive bound, and
refusals logged once per peer and reason per minute. `synrest.rest_server.GuardedH11Protocol`
enforces them on every port.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass

logger = logging.getLogger("synrest.server")
REFUSAL_LOG_INTERVAL = 60.0


@dataclass(frozen=True)
class PortLimits:
    """What one peer and all peers together may hold of a port.

    `head_timeout` bounds a whole request head from the accept (on a kept-alive connection:
    `idle_timeout + head_timeout` from the previous answer, and the connection is closed
    once idle for `idle_timeout`); a body of n bytes must arrive within
    `body_grace + n / min_body_rate` s.
    """

    max_connections: int = 64
    max_per_peer: int = 16
    head_timeout: float = 10.0
    idle_timeout: float = 30.0
    min_body_rate: float = 64 * 1024.0
    body_grace: float = 10.0

    def body_seconds(self, length: int) -> float:
        """How long a body of `length` bytes may take to arrive."""
        return self.body_grace + length / self.min_body_rate

    def problems(self, prefix: str) -> list[str]:
        """What makes these limits unusable, naming each flag (`--{prefix}...`)."""
        found = [f"--{prefix}{name} must be positive" for name, value in (
            ("max_connections", self.max_connections),
            ("max_connections_per_address", self.max_per_peer),
            ("head_timeout", self.head_timeout), ("idle_timeout", self.idle_timeout))
            if not value > 0]
        if self.max_per_peer > self.max_connections:
            found.append(f"--{prefix}max_connections_per_address exceeds "
                         f"--{prefix}max_connections")
        return found


# A REST port: cheap sockets on an event loop, few requests each; a data port: one kept-alive
# connection per TTP, so a small cap per address leaves room for every other peer.
REST_LIMITS = PortLimits(max_connections=4096, max_per_peer=1024, head_timeout=10.0,
                         idle_timeout=5.0)
DATA_LIMITS = PortLimits(max_connections=64, max_per_peer=16, head_timeout=10.0,
                         idle_timeout=30.0)


class RefusalLog:
    """Logs a refusal once per `(peer, reason)` per interval, with how many it held back."""

    def __init__(self, interval: float = REFUSAL_LOG_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}
        self._held: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def refused(self, peer: str, reason: str) -> None:
        """Note one refusal of `peer` for `reason`; log it unless logged within the interval."""
        key, now = (peer, reason), time.monotonic()
        with self._lock:
            if now - self._last.get(key, -self.interval) < self.interval:
                self._held[key] += 1
                return
            self._last[key] = now
            held = self._held.pop(key, 0)
            if len(self._last) > 10_000:  # forget peers long gone
                cutoff = now - self.interval
                self._last = {k: t for k, t in self._last.items() if t >= cutoff}
        logger.warning("refused a connection from %s: %s (%d more since the last report)",
                       peer, reason, held, extra={"peer": peer, "refusal": reason})
