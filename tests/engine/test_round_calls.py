"""`run_round` on one call pool kept for a whole training: threads are reused across rounds,
and a Worker still stuck in a closed round does not hold up the next one."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from synalgo.run_config import normalise_run
from synalgo.strategies import get_strategy
from synergos_ttp.engine.parallel import call_pool
from synergos_ttp.engine.rounds import run_round

SPEC = [{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
         "structure": {"in_features": 3, "out_features": 1, "bias": True}}]


class ConstantClient:
    """Stands in for a `WorkerClient`: answers `fit` with a constant state (after `delays`
    seconds in the rounds listed there), remembering the threads that called it."""

    def __init__(self, participant_id: str, value: float, n_samples: int,
                 delays: dict[int, float] | None = None) -> None:
        self.participant_id = participant_id
        self.value = value
        self.n_samples = n_samples
        self.delays = delays or {}
        self.calls = 0
        self.threads: set[threading.Thread] = set()  # the objects: names and ids recur

    def fit(self, route: str, body: bytes, deadline: float, gate: threading.Lock,
            fold, size_limit: int | None = None, check=None) -> dict:
        self.calls += 1
        self.threads.add(threading.current_thread())
        time.sleep(self.delays.get(self.calls, 0.0))
        state = {"nnl_0_linear.weight": torch.full((1, 3), self.value),
                 "nnl_0_linear.bias": torch.full((1,), self.value)}
        header = {"n_samples": self.n_samples, "loss": self.value}
        checked = check(state, header) if check is not None else None
        with gate:
            fold(state, header, checked)
        return header


def strategy_and_state():
    run, errors = normalise_run({"algorithm": "FedAvg", "rounds": 5, "lr_scheduler": None})
    assert not errors
    strategy = get_strategy(run, spec=SPEC, n_classes=2)
    return strategy, strategy.initial_global_state(0)


def test_rounds_on_one_pool_reuse_its_threads_and_average_by_samples() -> None:
    strategy, state = strategy_and_state()
    clients = [ConstantClient("a", 1.0, 10), ConstantClient("b", 3.0, 30)]
    calls = call_pool(len(clients))
    try:
        for index in range(6):
            outcome = run_round(clients, strategy, "p/e/r", state, index, 10.0, 2,
                                threading.Event(), calls)
            state = outcome.state
    finally:
        calls.shutdown(wait=False, cancel_futures=True)
    expected = (1.0 * 10 + 3.0 * 30) / 40
    assert torch.allclose(state["nnl_0_linear.weight"], torch.full((1, 3), expected))
    assert outcome.train_loss == pytest.approx(expected)
    used = set().union(*(client.threads for client in clients))
    assert all(thread.name.startswith("ttp-call") for thread in used)
    assert len(used) <= 2 * len(clients)  # six rounds, no new threads per round


def test_a_worker_stuck_in_a_closed_round_does_not_hold_up_the_next() -> None:
    strategy, state = strategy_and_state()
    slow = ConstantClient("slow", 1.0, 10, delays={1: 1.5})
    clients = [slow, ConstantClient("b", 3.0, 30)]
    calls = call_pool(len(clients))
    try:
        first = run_round(clients, strategy, "p/e/r", state, 0, 0.4, 1, threading.Event(),
                          calls)
        assert first.participants["slow"]["status"] == "timeout"
        assert first.participants["b"]["status"] == "ok"
        started = time.monotonic()
        second = run_round(clients, strategy, "p/e/r", first.state, 1, 5.0, 2,
                           threading.Event(), calls)
        took = time.monotonic() - started
    finally:
        calls.shutdown(wait=False, cancel_futures=True)
    assert {report["status"] for report in second.participants.values()} == {"ok"}
    assert took < 1.0  # the stuck first call (1.5 s) kept one thread, not the round
