"""Limits a binary port puts on its peers: a total and a per-address connection cap,
deadlines for a whole request head and for a body at a minimum rate, and refusals logged
once per peer and reason per minute.

A thread-per-connection server gives every open socket a thread, so a peer that connects and
then dribbles or stays silent must lose its slot on a schedule, not only when a single read
stalls. `PortGuard` keeps each connection's deadline and a reaper thread shuts the sockets
whose deadline passed, which ends the blocked read of their serving thread.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass

logger = logging.getLogger("synrest.server")
REFUSAL_LOG_INTERVAL = 60.0
_REAP_INTERVAL = 0.25


@dataclass(frozen=True)
class PortLimits:
    """What one peer and all peers together may hold of a port.

    `head_timeout` bounds a whole request head from its first byte (from the accept for a
    new connection); `idle_timeout` bounds the wait for the next request on a kept-alive
    connection; a body of n bytes must arrive within `body_grace + n / min_body_rate` s.
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


class Slot:
    """One admitted connection: its socket, its peer and the deadline of what it is doing."""

    def __init__(self, sock: socket.socket, peer: str, deadline: float | None) -> None:
        self.sock = sock
        self.peer = peer
        self.deadline = deadline
        self.phase = "request head"
        self.busy = False
        self.reaped = False  # shut by the reaper: what its thread reads next is cut short


class PortGuard:
    """Admits connections within the caps and shuts the ones that overstay their phase."""

    def __init__(self, limits: PortLimits) -> None:
        self.limits = limits
        self.refusals = RefusalLog()
        self._slots: dict[int, Slot] = {}
        self._per_peer: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._reaper: threading.Thread | None = None

    def start(self) -> None:
        """Start the reaper thread."""
        self._reaper = threading.Thread(target=self._reap, daemon=True, name="port-reaper")
        self._reaper.start()

    def stop(self) -> None:
        """Stop the reaper."""
        self._stopping.set()
        if self._reaper is not None:
            self._reaper.join(timeout=2)

    def admit(self, sock: socket.socket, peer: str) -> Slot | str:
        """A `Slot` for a new connection from `peer`, or why it is refused."""
        with self._lock:
            if len(self._slots) >= self.limits.max_connections:
                reason = "too many connections"
            elif self._per_peer[peer] >= self.limits.max_per_peer:
                reason = "too many connections from this address"
            else:
                slot = Slot(sock, peer, time.monotonic() + self.limits.head_timeout)
                self._slots[id(slot)] = slot
                self._per_peer[peer] += 1
                return slot
        self.refusals.refused(peer, reason)
        return reason

    def release(self, slot: Slot) -> None:
        """Forget a closed connection."""
        with self._lock:
            if self._slots.pop(id(slot), None) is not None:
                self._per_peer[slot.peer] -= 1
                if self._per_peer[slot.peer] <= 0:
                    del self._per_peer[slot.peer]

    def phase(self, slot: Slot, name: str, seconds: float | None) -> None:
        """Start phase `name` of `slot`, which must end within `seconds` (None: no bound)."""
        with self._lock:
            slot.phase = name
            slot.deadline = None if seconds is None else time.monotonic() + seconds

    def slots(self) -> list[Slot]:
        """The admitted connections."""
        with self._lock:
            return list(self._slots.values())

    def _reap(self) -> None:
        while not self._stopping.wait(_REAP_INTERVAL):
            now = time.monotonic()
            with self._lock:
                late = [slot for slot in self._slots.values()
                        if slot.deadline is not None and slot.deadline < now]
                for slot in late:
                    slot.deadline, slot.reaped = None, True  # shut once
            for slot in late:
                self.refusals.refused(slot.peer, f"the {slot.phase} took too long")
                with contextlib.suppress(OSError):
                    slot.sock.shutdown(socket.SHUT_RDWR)
