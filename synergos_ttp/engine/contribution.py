"""Per-round Shapley contributions during a training (`contribution: true` on a run).

Every round the TTP keeps each participant's local weights (`RoundUpdates`). The model of a
coalition S is the round's aggregation rule applied to S's local weights, which is the
global weights plus the aggregate of S's updates; the empty coalition's model is the
round's starting global model. A coalition's utility is the run's contribution metric on
the Workers' evaluate data, combined by sample count; each evaluating Worker measures every
coalition model of a batch in one data-port call (`…/coalitions`). Up to `EXACT_LIMIT`
participants the values are exact (every coalition, one batch a round when the models fit
in one call); above, GTG-Shapley. A round whose measurement fails is recorded with its
error and the training goes on.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import Executor
from typing import Any

import torch

from synalgo.aggregation import WeightedMeanAccumulator
from synalgo.codec import encode
from synalgo.contribution import (
    EXACT_LIMIT,
    Coalition,
    GTGSettings,
    RoundValues,
    all_coalitions,
    evaluate_in_batches,
    gtg_shapley,
)
from synalgo.contribution.shapley import shapley_from_utilities
from synalgo.contribution.utility import UNIT_RANGE, combine, resolve_metric, utility
from synalgo.errors import AlgoError
from synalgo.state import State
from synalgo.strategies.base import Strategy
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.parallel import call_all
from synergos_ttp.engine.worker_client import WorkerClient

logger = logging.getLogger(__name__)
MAX_MODELS_PER_CALL = 256  # the Worker's bound (synergos_worker.coalitions)
BATCH_BODY_BYTES = 256 * 1024 * 1024  # coalition models sent in one call, at most


class RoundUpdates:
    """Each participant's local weights and sample count of the current round (copies: the
    replies' tensors are views into buffers that are reused)."""

    def __init__(self) -> None:
        self.updates: dict[str, tuple[State, int]] = {}
        self._lock = threading.Lock()

    def observe(self, participant_id: str, tensors: State, n_samples: int) -> None:
        """Keep a copy of one reply."""
        copy = {name: tensor.detach().clone() for name, tensor in tensors.items()}
        with self._lock:
            self.updates[participant_id] = (copy, n_samples)

    def take(self) -> dict[str, tuple[State, int]]:
        """The round's updates, forgetting them."""
        with self._lock:
            updates, self.updates = self.updates, {}
        return updates


class ContributionMeter:
    """Measures the per-round Shapley values of one training's participants."""

    def __init__(self, strategy: Strategy, action: str, run: dict[str, Any],
                 evaluators: list[WorkerClient], route: str) -> None:
        if not strategy.sends_global_weights:
            raise EngineError(f"contribution: {strategy.name} has no coalition models")
        if not evaluators:
            raise EngineError("contribution needs at least one Worker with evaluate data")
        try:
            self.metric = resolve_metric(run.get("contribution_metric"), action)
        except ValueError as error:
            raise EngineError(str(error)) from None
        self.strategy = strategy
        self.evaluators = evaluators
        self.route = route
        self.seed = int(run["seed"])
        self.timeout = float(run["round_timeout"])
        self.method = run.get("contribution_method", "auto")
        self._mean_rule = isinstance(strategy.start_round({}), WeightedMeanAccumulator)
        self.updates = RoundUpdates()
        self.largest_change = 0.0

    def measure(self, round_number: int, global_state: State, executor: Executor | None
                ) -> dict[str, Any]:
        """The round's contribution entry: values, standard errors, evaluations (or error)."""
        started = time.monotonic()
        updates = self.updates.take()
        players = sorted(updates)
        method = self._method(len(players))
        entry: dict[str, Any] = {"method": method, "participants": players}
        try:
            values = self._values(players, updates, global_state, round_number, executor,
                                  method)
        except (EngineError, AlgoError, ValueError) as error:
            logger.warning("contribution of round %s failed: %s", round_number, error)
            entry["error"] = str(error)
        else:
            entry.update({
                "values": values.values, "standard_errors": values.standard_errors,
                "evaluations": values.evaluations, "calls": values.batches,
                "utility_empty": values.utility_empty, "utility_full": values.utility_full})
            if method == "gtg":
                entry.update({"permutations": values.permutations, "skipped": values.skipped})
        entry["seconds"] = round(time.monotonic() - started, 4)
        return entry

    def check_participants(self, count: int) -> None:
        """`EngineError` when the run asks for exact values of too many participants."""
        if self.method == "exact" and count > EXACT_LIMIT:
            raise EngineError(f"contribution_method 'exact' evaluates 2^N coalitions and is "
                              f"limited to {EXACT_LIMIT} participants; this grid has {count}: "
                              "use 'gtg' or 'auto'")

    def _method(self, count: int) -> str:
        if self.method == "auto":
            return "exact" if count <= EXACT_LIMIT else "gtg"
        return self.method

    def _values(self, players: list[str], updates: dict[str, tuple[State, int]],
                global_state: State, round_number: int, executor: Executor | None,
                method: str) -> RoundValues:
        if not players:
            raise EngineError("no participant answered this round")
        batch = self._batch_size(global_state)
        deadline = time.monotonic() + self.timeout

        stacked = self._stacked(players, updates) if self._mean_rule else None

        def evaluate(coalitions: list[Coalition]) -> list[float]:
            if stacked is not None:
                models = _coalition_means(coalitions, players, stacked, global_state)
            else:
                models = [self._coalition_model(c, updates, global_state) for c in coalitions]
            return self._utilities(models, deadline, executor)

        if method == "exact":
            utilities, calls = evaluate_in_batches(
                evaluate, [frozenset(), *all_coalitions(players)], batch)
            empty = utilities.pop(frozenset())
            result = shapley_from_utilities(players, utilities, empty, calls)
            result.evaluations += 1  # the empty coalition's model was evaluated too
            return result
        known, calls = evaluate_in_batches(evaluate, [frozenset(), frozenset(players)], batch)
        empty = known.pop(frozenset())
        change = abs(known[frozenset(players)] - empty)
        self.largest_change = max(self.largest_change, change)
        scale = 1.0 if self.metric in UNIT_RANGE else (self.largest_change or 1.0)
        settings = GTGSettings(metric_range=scale, seed=self.seed + round_number)
        result = gtg_shapley(players, _chunked(evaluate, batch), empty, settings, known)
        result.batches += calls
        result.evaluations += 1
        return result

    @staticmethod
    def _stacked(players: list[str], updates: dict[str, tuple[State, int]]
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The sample counts and, per weight, every player's values stacked (float64)."""
        counts = torch.tensor([float(updates[p][1]) for p in players], dtype=torch.float64)
        names = updates[players[0]][0]
        return counts, {name: torch.stack([updates[p][0][name].detach().to(
            torch.float64).reshape(-1) for p in players]) for name in names}

    def _coalition_model(self, coalition: Coalition, updates: dict[str, tuple[State, int]],
                         global_state: State) -> State:
        if not coalition:
            return global_state
        members = [updates[pid] for pid in sorted(coalition)]
        try:
            aggregator = self.strategy.start_round(global_state)
            for weights, n_samples in members:
                aggregator.add(weights, n_samples)
            return aggregator.result(like=global_state)
        except (AlgoError, ValueError):  # a robust rule undefined for so few members
            mean = WeightedMeanAccumulator()
            for weights, n_samples in members:
                mean.add(weights, max(n_samples, 1))
            return mean.result(like=global_state)

    def _utilities(self, models: list[State], deadline: float, executor: Executor | None
                   ) -> list[float]:
        tensors = {f"{k}/{name}": tensor for k, model in enumerate(models)
                   for name, tensor in model.items()}
        body = encode(tensors, {"models": len(models), "metric": self.metric,
                                "meta": "evaluate"})
        results, failures = call_all(self.evaluators, lambda c: c.coalitions(
            self.route, body, deadline), executor)
        if failures:
            raise EngineError("coalition evaluation failed on " + "; ".join(
                str(error) for error in failures.values()))
        per_worker = []
        for pid, answer in results.items():
            values, count = answer.get("values"), answer.get("n_samples")
            if not isinstance(values, list) or len(values) != len(models) or not isinstance(
                    count, int) or isinstance(count, bool) or count < 0:
                raise EngineError(f"{pid} answered a malformed coalition evaluation")
            if not all(isinstance(v, int | float) and not isinstance(v, bool)
                       and math.isfinite(v) for v in values):
                raise EngineError(f"{pid} answered a non-finite or non-numeric coalition value")
            per_worker.append((values, count))
        return [utility(self.metric, combine((float(values[k]), count)
                                             for values, count in per_worker))
                for k in range(len(models))]

    @staticmethod
    def _batch_size(global_state: State) -> int:
        model_bytes = sum(t.numel() * t.element_size() for t in global_state.values()) or 1
        return max(1, min(MAX_MODELS_PER_CALL, BATCH_BODY_BYTES // model_bytes))


def _coalition_means(coalitions: list[Coalition], players: list[str],
                     stacked: tuple[torch.Tensor, dict[str, torch.Tensor]],
                     global_state: State) -> list[State]:
    """The sample-weighted mean model of every coalition at once (one matrix product per
    weight); the empty coalition's model is the global state."""
    counts, values = stacked
    membership = torch.tensor([[1.0 if p in c else 0.0 for p in players] for c in coalitions],
                              dtype=torch.float64) * counts
    totals = membership.sum(dim=1, keepdim=True)
    mixing = membership / torch.where(totals > 0, totals, torch.ones_like(totals))
    means = {name: mixing @ matrix for name, matrix in values.items()}
    models = []
    for k, coalition in enumerate(coalitions):
        if not coalition:
            models.append(global_state)
            continue
        model = {}
        for name, reference in global_state.items():
            value = means[name][k].reshape(reference.shape)
            if not reference.is_floating_point():
                value = value.round()
            model[name] = value.to(reference.dtype)
        models.append(model)
    return models


def _chunked(evaluate: Any, batch: int) -> Any:
    """`evaluate` splitting a larger request into calls of at most `batch` models."""
    def chunked(coalitions: list[Coalition]) -> list[float]:
        values: list[float] = []
        for start in range(0, len(coalitions), batch):
            values.extend(evaluate(coalitions[start:start + batch]))
        return values
    return chunked
