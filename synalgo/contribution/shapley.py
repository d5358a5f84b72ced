"""Exact per-round Shapley values over coalitions of participants.

A coalition is a `frozenset` of participant ids; its utility comes from a batch evaluator
`evaluate(coalitions) -> values` so that a caller can send every coalition model of a round
to the Workers in as few calls as possible. The empty coalition's utility is the round's
starting model, given separately.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

Coalition = frozenset[str]
BatchEvaluator = Callable[[list[Coalition]], list[float]]


@dataclass
class RoundValues:
    """One round's Shapley values, their standard errors (0 for exact) and evaluation count."""

    values: dict[str, float]
    standard_errors: dict[str, float]
    evaluations: int
    batches: int
    utility_empty: float
    utility_full: float
    skipped: bool = False
    permutations: int = 0
    utilities: dict[Coalition, float] = field(default_factory=dict, repr=False)


def all_coalitions(players: Sequence[str]) -> list[Coalition]:
    """Every non-empty coalition of `players`, smallest first (2^N - 1 of them)."""
    ordered = sorted(players)
    return [frozenset(subset) for size in range(1, len(ordered) + 1)
            for subset in itertools.combinations(ordered, size)]


def evaluate_in_batches(evaluate: BatchEvaluator, coalitions: Iterable[Coalition],
                        batch_size: int) -> tuple[dict[Coalition, float], int]:
    """Utilities of `coalitions` with at most `batch_size` per evaluator call:
    `(utilities, calls)`."""
    pending = list(dict.fromkeys(coalitions))
    utilities: dict[Coalition, float] = {}
    calls = 0
    for start in range(0, len(pending), batch_size):
        chunk = pending[start:start + batch_size]
        values = evaluate(chunk)
        if len(values) != len(chunk):
            raise ValueError(f"the evaluator answered {len(values)} values for "
                             f"{len(chunk)} coalitions")
        utilities.update(zip(chunk, (float(value) for value in values), strict=True))
        calls += 1
    return utilities, calls


def exact_shapley(players: Sequence[str], evaluate: BatchEvaluator, utility_empty: float,
                  batch_size: int = 256) -> RoundValues:
    """Exact Shapley values of `players` given the empty coalition's utility; evaluates the
    2^N - 1 non-empty coalitions in calls of at most `batch_size`."""
    coalitions = all_coalitions(players)
    utilities, calls = evaluate_in_batches(evaluate, coalitions, batch_size)
    return shapley_from_utilities(players, utilities, utility_empty, calls)


def shapley_from_utilities(players: Sequence[str], utilities: dict[Coalition, float],
                           utility_empty: float, calls: int = 0) -> RoundValues:
    """Exact Shapley values from a complete table of coalition utilities."""
    ordered = sorted(players)
    n = len(ordered)
    table = dict(utilities)
    table[frozenset()] = float(utility_empty)
    weights = [math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
               for size in range(n)]
    values: dict[str, float] = {}
    for player in ordered:
        others = [other for other in ordered if other != player]
        total = 0.0
        for size in range(n):
            for subset in itertools.combinations(others, size):
                coalition = frozenset(subset)
                total += weights[size] * (table[coalition | {player}] - table[coalition])
        values[player] = total
    full = table[frozenset(ordered)] if ordered else float(utility_empty)
    return RoundValues(values, dict.fromkeys(ordered, 0.0), len(utilities), calls,
                       float(utility_empty), full, utilities=utilities)
