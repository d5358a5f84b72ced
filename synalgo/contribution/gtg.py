"""GTG-Shapley (Liu et al. 2022): Monte-Carlo Shapley values of one round, guided and truncated.

Permutations are sampled with participant `k mod N` first (guided sampling); a permutation's
walk stops evaluating once its prefix is within `epsilon` of the full coalition's utility
(within-round truncation: later members get a marginal of 0). A round whose full-coalition
utility differs from the starting model's by less than `round_threshold` is skipped (every
value 0). Sampling stops after at least `min_permutations` once no estimate moved more than
`tolerance` (relative) over the last `window` permutations, or at `max_permutations`.

Evaluations are batched: permutations are walked in blocks (the first `min_permutations`
at once, then `window` at a time), one position at a time, so each evaluator call carries
every new prefix of the block at that position (at most N calls per block instead of one per
prefix).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from synalgo.contribution.shapley import BatchEvaluator, Coalition, RoundValues


@dataclass(frozen=True)
class GTGSettings:
    """The GTG-Shapley parameters; `metric_range` scales both thresholds."""

    epsilon: float = 0.001
    round_threshold: float = 0.01
    min_permutations: int = 30
    max_permutations: int = 500
    tolerance: float = 0.05
    window: int = 10
    metric_range: float = 1.0
    seed: int = 0


def gtg_shapley(players: Sequence[str], evaluate: BatchEvaluator, utility_empty: float,
                settings: GTGSettings | None = None,
                known: dict[Coalition, float] | None = None) -> RoundValues:
    """Estimated Shapley values of `players` for one round, with standard errors
    (`known`: utilities already measured, never asked for again)."""
    settings = settings or GTGSettings()
    ordered = sorted(players)
    n = len(ordered)
    everyone = frozenset(ordered)
    utilities: dict[Coalition, float] = {**(known or {}), frozenset(): float(utility_empty)}
    calls = 0

    def fill(coalitions: list[Coalition]) -> None:
        nonlocal calls
        missing = [c for c in dict.fromkeys(coalitions) if c not in utilities]
        if missing:
            values = evaluate(missing)
            if len(values) != len(missing):
                raise ValueError(f"the evaluator answered {len(values)} values for "
                                 f"{len(missing)} coalitions")
            utilities.update(zip(missing, (float(v) for v in values), strict=True))
            calls += 1

    fill([everyone])
    full = utilities[everyone]
    zeros = dict.fromkeys(ordered, 0.0)
    if abs(full - utility_empty) < settings.round_threshold * settings.metric_range:
        return RoundValues(zeros, dict(zeros), len(utilities) - 1, calls, float(utility_empty),
                           full, skipped=True, utilities=utilities)
    epsilon = settings.epsilon * settings.metric_range
    rng = random.Random(settings.seed)
    marginals: dict[str, list[float]] = {player: [] for player in ordered}
    history: list[dict[str, float]] = []
    count = 0
    while count < settings.max_permutations:
        size = max(settings.min_permutations, settings.window) if count == 0 else settings.window
        block = [_guided_permutation(ordered, count + k, rng)
                 for k in range(min(size, settings.max_permutations - count))]
        previous = [float(utility_empty)] * len(block)
        walks: list[list[float]] = [[] for _ in block]
        for position in range(n):
            needed = [frozenset(perm[:position + 1]) for perm, before in zip(block, previous,
                                                                              strict=True)
                      if abs(full - before) >= epsilon]
            fill(needed)
            for index, perm in enumerate(block):
                before = previous[index]
                after = (before if abs(full - before) < epsilon
                         else utilities[frozenset(perm[:position + 1])])
                walks[index].append(after - before)
                previous[index] = after
        for perm, walk in zip(block, walks, strict=True):
            for player, marginal in zip(perm, walk, strict=True):
                marginals[player].append(marginal)
            count += 1
            history.append({p: sum(m) / len(m) for p, m in marginals.items()})
            if count >= settings.min_permutations and _converged(history, settings):
                return _result(ordered, marginals, utilities, calls, utility_empty, full, count)
    return _result(ordered, marginals, utilities, calls, utility_empty, full, count)


def _guided_permutation(players: list[str], index: int, rng: random.Random) -> list[str]:
    first = players[index % len(players)]
    rest = [player for player in players if player != first]
    rng.shuffle(rest)
    return [first, *rest]


def _converged(history: list[dict[str, float]], settings: GTGSettings) -> bool:
    """Every estimate moved less than `tolerance` (relative) over the last `window`."""
    if len(history) <= settings.window:
        return False
    now, then = history[-1], history[-1 - settings.window]
    floor = settings.epsilon * settings.metric_range
    return all(abs(now[p] - then[p]) <= settings.tolerance * max(abs(now[p]), floor)
               for p in now)


def _result(players: list[str], marginals: dict[str, list[float]],
            utilities: dict[Coalition, float], calls: int, utility_empty: float, full: float,
            count: int) -> RoundValues:
    values = {p: sum(marginals[p]) / len(marginals[p]) for p in players}
    errors = {p: _standard_error(marginals[p]) for p in players}
    return RoundValues(values, errors, len(utilities) - 1, calls, float(utility_empty), full,
                       permutations=count, utilities=utilities)


def _standard_error(samples: list[float]) -> float:
    if len(samples) < 2:
        return 0.0
    mean = sum(samples) / len(samples)
    variance = sum((s - mean) ** 2 for s in samples) / (len(samples) - 1)
    return math.sqrt(variance / len(samples))
