"""Exponential delays between tries: reconnecting to the broker, polling a Worker or a job."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """Exponential backoff delays: initial, initial*factor, ... capped at `maximum`."""

    initial: float = 0.25
    maximum: float = 10.0
    factor: float = 2.0
    _next: float = 0.0

    def next_delay(self) -> float:
        """The delay to wait before the next attempt."""
        delay = self._next or self.initial
        self._next = min(delay * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a success)."""
        self._next = 0.0
