"""Calling every Worker of a grid at once and collecting each one's outcome."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from synergos_ttp.engine.errors import EngineError, WorkerCallError
from synergos_ttp.engine.worker_client import WorkerClient

T = TypeVar("T")


def call_all(clients: Iterable[WorkerClient], call: Callable[[WorkerClient], T]
             ) -> tuple[dict[str, T], dict[str, WorkerCallError]]:
    """Run `call(client)` for every client in parallel: `(results, failures)` by participant."""
    clients = list(clients)
    results: dict[str, T] = {}
    failures: dict[str, WorkerCallError] = {}
    if not clients:
        return results, failures
    with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="ttp-call") as pool:
        futures = {client.participant_id: pool.submit(_guarded, client, call)
                   for client in clients}
        for participant_id, future in futures.items():
            outcome = future.result()
            if isinstance(outcome, WorkerCallError):
                failures[participant_id] = outcome
            else:
                results[participant_id] = outcome
    return results, failures


def call_all_or_fail(clients: Iterable[WorkerClient], call: Callable[[WorkerClient], T],
                     what: str) -> dict[str, T]:
    """`call_all`, raising one `EngineError` naming every Worker that failed."""
    results, failures = call_all(clients, call)
    if failures:
        raise EngineError(f"{what} failed on {len(failures)} worker(s): "
                          + "; ".join(str(error) for error in failures.values()))
    return results


def _guarded(client: WorkerClient, call: Callable[[WorkerClient], Any]) -> Any:
    try:
        return call(client)
    except WorkerCallError as error:
        return error
    except Exception as error:  # reported per Worker, never lost in a thread
        return WorkerCallError(client.participant_id, f"{type(error).__name__}: {error}")
