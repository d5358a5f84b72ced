"""Calling every Worker of a grid at once and collecting each one's outcome; a job's stop
event ends the wait (the calls in flight are aborted and `JobCancelled` is raised)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ALL_COMPLETED, Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from typing import Any, TypeVar

from synergos_ttp.engine.errors import EngineError, WorkerCallError
from synergos_ttp.engine.worker_client import WorkerClient
from synergos_ttp.jobs import JobCancelled

T = TypeVar("T")
Abort = Callable[[WorkerClient], None]
WAIT_SLICE = 0.25  # how soon a stop is noticed while calls are in flight


def call_pool(n_workers: int) -> ThreadPoolExecutor:
    """Threads for calling `n_workers` Workers at once, meant to be kept for a whole training
    (starting N threads every round is CPU on the TTP's critical path). Twice N, so calls
    still stuck in a closed round never hold up the next one."""
    return ThreadPoolExecutor(max_workers=max(2 * n_workers, 1), thread_name_prefix="ttp-call")


@contextmanager
def executor_for(n_workers: int, executor: Executor | None) -> Iterator[Executor]:
    """`executor` itself, or a pool for this one call that is shut down (without waiting for
    stuck calls) on exit."""
    if executor is not None:
        yield executor
        return
    pool = call_pool(n_workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def call_all(clients: Iterable[WorkerClient], call: Callable[[WorkerClient], T],
             executor: Executor | None = None, cancelled: threading.Event | None = None,
             abort: Abort = WorkerClient.abort_calls
             ) -> tuple[dict[str, T], dict[str, WorkerCallError]]:
    """Run `call(client)` for every client in parallel (on `executor` when given):
    `(results, failures)` by participant. When `cancelled` is set meanwhile, `abort(client)`
    ends each client's calls in flight (default: its data-port calls) and `JobCancelled` is
    raised without waiting for them."""
    clients = list(clients)
    results: dict[str, T] = {}
    failures: dict[str, WorkerCallError] = {}
    if not clients:
        return results, failures
    with executor_for(len(clients), executor) as pool:
        futures = {client.participant_id: pool.submit(_guarded, client, call)
                   for client in clients}
        if cancelled is not None:
            _wait_unless_cancelled(list(futures.values()), clients, cancelled, abort)
        for participant_id, future in futures.items():
            outcome = future.result()
            if isinstance(outcome, WorkerCallError):
                failures[participant_id] = outcome
            else:
                results[participant_id] = outcome
    return results, failures


def call_all_or_fail(clients: Iterable[WorkerClient], call: Callable[[WorkerClient], T],
                     what: str, cancelled: threading.Event | None = None,
                     abort: Abort = WorkerClient.abort_calls) -> dict[str, T]:
    """`call_all`, raising one `EngineError` naming every Worker that failed."""
    results, failures = call_all(clients, call, cancelled=cancelled, abort=abort)
    if failures:
        raise EngineError(f"{what} failed on {len(failures)} worker(s): "
                          + "; ".join(str(error) for error in failures.values()))
    return results


def wait_for_calls(futures: Iterable[Future], cancelled: threading.Event,
                   deadline: float | None = None) -> None:
    """Wait until every call is done, `cancelled` is set or `deadline` (a monotonic time)
    passes: one wake-up when the last call ends (or a slice later, to notice a stop), not one
    per call."""
    pending = set(futures)
    while pending and not cancelled.is_set():
        remaining = WAIT_SLICE if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            return
        _, pending = wait_futures(pending, timeout=min(WAIT_SLICE, remaining),
                                  return_when=ALL_COMPLETED)


def _wait_unless_cancelled(futures: list[Future], clients: list[WorkerClient],
                           cancelled: threading.Event, abort: Abort) -> None:
    """Wait for every call; on `cancelled`, cancel those not started, abort those in flight
    and raise `JobCancelled`."""
    wait_for_calls(futures, cancelled)
    if not cancelled.is_set():
        return
    for future in futures:
        future.cancel()
    for client in clients:
        abort(client)
    raise JobCancelled("stopped while waiting for the workers")


def _guarded(client: WorkerClient, call: Callable[[WorkerClient], Any]) -> Any:
    try:
        return call(client)
    except WorkerCallError as error:
        return error
    except Exception as error:  # reported per Worker, never lost in a thread
        return WorkerCallError(client.participant_id, f"{type(error).__name__}: {error}")
