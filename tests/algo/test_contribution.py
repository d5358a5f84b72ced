"""Shapley values, GTG-Shapley and tiers on games whose values are known."""

from __future__ import annotations

import itertools
import random

import pytest

from synalgo.contribution import (
    GTGSettings,
    all_coalitions,
    assign_tiers,
    exact_shapley,
    gtg_shapley,
    merge_incentives,
)
from synalgo.contribution.shapley import Coalition

# Glove-like game on 3 players with closed-form values: v(S) = 10·[a∈S] + 4·[b∈S] + 6·[a,b∈S]
# + 0·c. Shapley: a = 10 + 6/2 = 13, b = 4 + 3 = 7, c = 0 (a null player).
CLOSED_FORM = {"a": 13.0, "b": 7.0, "c": 0.0}


def _closed_form_utility(coalition: Coalition) -> float:
    return (10.0 * ("a" in coalition) + 4.0 * ("b" in coalition)
            + 6.0 * ({"a", "b"} <= coalition))


def _counting(utility):
    calls: list[int] = []

    def evaluate(coalitions: list[Coalition]) -> list[float]:
        calls.append(len(coalitions))
        return [utility(c) for c in coalitions]
    return evaluate, calls


def test_exact_matches_closed_form_in_one_batched_call() -> None:
    evaluate, calls = _counting(_closed_form_utility)
    result = exact_shapley(["c", "a", "b"], evaluate, utility_empty=0.0)
    assert result.values == pytest.approx(CLOSED_FORM, abs=1e-12)
    assert calls == [7]  # 2^3 - 1 coalitions, one call
    assert result.evaluations == 7 and result.batches == 1


def test_exact_batches_are_bounded() -> None:
    evaluate, calls = _counting(_closed_form_utility)
    exact_shapley(["a", "b", "c"], evaluate, utility_empty=0.0, batch_size=3)
    assert calls == [3, 3, 1]


def _random_game(players: list[str], seed: int) -> dict[Coalition, float]:
    rng = random.Random(seed)
    table = {frozenset(): rng.uniform(-1, 1)}
    for coalition in all_coalitions(players):
        table[coalition] = rng.uniform(-1, 1)
    return table


def test_efficiency_over_rounds() -> None:
    players = ["p1", "p2", "p3", "p4", "p5"]
    per_round = []
    expected = 0.0
    for round_seed in range(4):
        table = _random_game(players, round_seed)
        result = exact_shapley(players, lambda cs, t=table: [t[c] for c in cs],
                               utility_empty=table[frozenset()])
        per_round.append(result.values)
        expected += table[frozenset(players)] - table[frozenset()]
    totals = assign_tiers(per_round, players).totals
    assert sum(totals.values()) == pytest.approx(expected, abs=1e-6)


def _symmetric_utility(coalition: Coalition) -> float:
    # "x" and "y" hold identical data: each adds the same, together a bit less than twice.
    twins = len(coalition & {"x", "y"})
    return 0.3 * min(twins, 1) + 0.1 * (twins == 2) + 0.2 * ("z" in coalition)


def test_exact_symmetry() -> None:
    result = exact_shapley(["x", "y", "z"], lambda cs: [_symmetric_utility(c) for c in cs], 0.0)
    assert result.values["x"] == pytest.approx(result.values["y"], abs=1e-12)


def _additive_game(n: int, seed: int):
    rng = random.Random(seed)
    players = [f"p{i:02d}" for i in range(n)]
    weights = {p: rng.uniform(0.0, 0.1) for p in players}
    weights["p00"] = weights["p01"]  # a symmetric pair
    weights["p02"] = -0.05  # harmful

    def utility(coalition: Coalition) -> float:
        # saturating: diminishing returns make truncation and permutations matter
        total = sum(weights[p] for p in coalition)
        return total - 0.02 * total * total
    return players, utility


def test_gtg_symmetry_within_standard_error_and_batching() -> None:
    players, utility = _additive_game(12, seed=3)
    evaluate, calls = _counting(utility)
    result = gtg_shapley(players, evaluate, utility(frozenset()), GTGSettings(seed=1))
    assert result.permutations >= 30
    margin = 3 * (result.standard_errors["p00"] + result.standard_errors["p01"]) + 1e-9
    assert abs(result.values["p00"] - result.values["p01"]) <= margin
    assert result.values["p02"] < 0
    # batched: one call for the full coalition, then at most N per block of 10 permutations
    blocks = -(-result.permutations // 10)
    assert len(calls) <= 1 + len(players) * blocks
    assert result.evaluations == sum(calls)


def test_gtg_agrees_with_exact_at_eight() -> None:
    players, utility = _additive_game(8, seed=5)
    exact = exact_shapley(players, lambda cs: [utility(c) for c in cs], utility(frozenset()))
    estimate = gtg_shapley(players, lambda cs: [utility(c) for c in cs], utility(frozenset()),
                           GTGSettings(seed=2))
    assert _spearman(exact.values, estimate.values) >= 0.9


def test_gtg_skips_a_round_without_improvement() -> None:
    evaluate, calls = _counting(lambda c: 0.5 + 0.001 * len(c))
    result = gtg_shapley(["a", "b", "c"], evaluate, 0.5)
    assert result.skipped and calls == [1]
    assert set(result.values.values()) == {0.0}


def _spearman(a: dict[str, float], b: dict[str, float]) -> float:
    keys = sorted(a)

    def ranks(values: dict[str, float]) -> dict[str, int]:
        return {k: r for r, k in enumerate(sorted(keys, key=lambda k: values[k]))}
    ra, rb = ranks(a), ranks(b)
    n = len(keys)
    return 1 - 6 * sum((ra[k] - rb[k]) ** 2 for k in keys) / (n * (n * n - 1))


def test_tiers_and_incentives_keep_user_keys() -> None:
    result = assign_tiers([{"a": 0.3, "b": 0.05, "c": -0.1, "d": 0.0},
                           {"a": 0.1, "b": 0.05, "c": 0.0, "d": 0.0}], ["a", "b", "c", "d"])
    assert result.totals == pytest.approx({"a": 0.4, "b": 0.1, "c": -0.1, "d": 0.0})
    assert result.shares == pytest.approx({"a": 0.8, "b": 0.2, "c": 0.0, "d": 0.0})
    assert result.tiers == {"tier_1": ["a"], "tier_2": ["b"], "tier_3": ["c", "d"]}
    merged = merge_incentives({"tier_1": ["old"], "budget": 100}, result.tiers)
    assert merged == {"tier_1": ["a"], "tier_2": ["b"], "tier_3": ["c", "d"], "budget": 100}


def test_equal_contributions_are_all_tier_1() -> None:
    result = assign_tiers([dict.fromkeys("abc", 1 / 3)], "abc")
    assert result.tiers["tier_1"] == ["a", "b", "c"]


def test_permutation_definition_matches_subset_formula() -> None:
    players = ["a", "b", "c", "d"]
    table = _random_game(players, 9)
    exact = exact_shapley(players, lambda cs: [table[c] for c in cs], table[frozenset()])
    by_permutation = dict.fromkeys(players, 0.0)
    perms = list(itertools.permutations(players))
    for perm in perms:
        for i, p in enumerate(perm):
            by_permutation[p] += (table[frozenset(perm[:i + 1])] - table[frozenset(perm[:i])]
                                  ) / len(perms)
    assert exact.values == pytest.approx(by_permutation, abs=1e-12)
