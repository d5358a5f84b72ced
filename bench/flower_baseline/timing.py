"""Wall-clock bookkeeping for one benchmark process: process start, round starts and ends."""

from __future__ import annotations

import os
import statistics
import threading
import time


def process_start_time() -> float:
    """Epoch seconds at which this process was started: its age from /proc/self/stat against
    CLOCK_BOOTTIME (10 ms resolution); the current time where that is unavailable."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat_file:
            # Field 22 (starttime, ticks after boot) follows the command name, which may
            # hold spaces.
            fields = stat_file.read().rsplit(")", 1)[1].split()
        started_after_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_after_boot
        return time.time() - max(0.0, age)
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time()


class RoundClock:
    """Records when each federated round starts and ends, how long its slowest client trained
    and how long aggregation took (thread-safe; rounds count from 1).

    Round 1 starts when its first client starts training: simulators hand out round 1 before
    their workers are up, and that warm-up is startup, not round time."""

    def __init__(self, started_at: float) -> None:
        self.started_at = started_at
        self._lock = threading.Lock()
        self._starts: dict[int, float] = {}
        self._ends: dict[int, float] = {}
        self._first_client_starts: dict[int, float] = {}
        self._slowest_fits: dict[int, float] = {}
        self._aggregations: dict[int, float] = {}

    def round_started(self, server_round: int) -> None:
        """Mark the start of `server_round` (the strategy configures it)."""
        with self._lock:
            self._starts.setdefault(server_round, time.time())

    def clients_reported(self, server_round: int, started_at: list[float],
                         fit_seconds: list[float]) -> None:
        """Record when the clients of `server_round` started training (their own clocks, same
        host) and how long each trained."""
        with self._lock:
            if started_at:
                self._first_client_starts[server_round] = min(started_at)
            if fit_seconds:
                self._slowest_fits[server_round] = max(fit_seconds)

    def round_ended(self, server_round: int, aggregation_seconds: float) -> None:
        """Mark the end of `server_round` (the strategy has aggregated it)."""
        with self._lock:
            self._ends[server_round] = time.time()
            self._aggregations[server_round] = aggregation_seconds

    def summary(self, finished_at: float) -> dict[str, float | list[float]]:
        """Startup seconds (process start -> round 1 starts), seconds per round (start ->
        aggregated), the median of rounds 2..R (steady state) of the round, of the slowest
        client's training and of aggregation, and total seconds (process start ->
        `finished_at`)."""
        with self._lock:
            rounds = sorted(self._starts)
            if not rounds or any(r not in self._ends for r in rounds):
                raise RuntimeError(f"incomplete rounds: started {rounds}, "
                                   f"ended {sorted(self._ends)}")
            starts = dict(self._starts)
            first = rounds[0]
            starts[first] = max(starts[first], self._first_client_starts.get(first, 0.0))
            round_seconds = [self._ends[r] - starts[r] for r in rounds]
            fits = [self._slowest_fits.get(r, 0.0) for r in rounds]
            aggregations = [self._aggregations[r] for r in rounds]
            startup = starts[first] - self.started_at
        return {
            "startup_s": round(startup, 4),
            "round_s": [round(s, 4) for s in round_seconds],
            "steady_round_s": _steady(round_seconds),
            "steady_client_fit_s": _steady(fits),
            "steady_aggregate_s": _steady(aggregations),
            "total_s": round(finished_at - self.started_at, 4),
        }


def _steady(per_round: list[float]) -> float:
    """Median of rounds 2..R (of round 1 alone when there is only one)."""
    return round(statistics.median(per_round[1:] or per_round), 4)
