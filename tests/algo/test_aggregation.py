"""Weighted-mean and robust aggregation."""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from synalgo.aggregation import (
    WeightedMeanAccumulator,
    coordinate_median,
    krum,
    trimmed_mean,
)
from synalgo.errors import AggregationError
from synalgo.strategies import get_strategy


def state(weight, counter, scalar) -> dict[str, torch.Tensor]:
    return {
        "layer.weight": torch.tensor(weight, dtype=torch.float32),
        "bn.num_batches_tracked": torch.tensor(counter, dtype=torch.long),
        "scale": torch.tensor(scalar, dtype=torch.float32),
    }


def test_fedavg_weighted_mean_matches_manual_computation_including_int_counter():
    updates = [
        (state([[1.0, 2.0], [3.0, 4.0]], 10, 0.5), 10),
        (state([[3.0, 0.0], [1.0, 8.0]], 20, 1.5), 30),
        (state([[0.0, 1.0], [1.0, 1.0]], 41, -1.0), 60),
    ]
    total = 100
    expected_weight = sum(s["layer.weight"] * n for s, n in updates) / total
    expected_counter = round((10 * 10 + 20 * 30 + 41 * 60) / total)  # 31.6 -> 32
    expected_scale = (0.5 * 10 + 1.5 * 30 - 1.0 * 60) / total
    global_state = state([[0.0, 0.0], [0.0, 0.0]], 0, 0.0)
    result = get_strategy({"algorithm": "FedAvg"}).aggregate(global_state, updates)
    torch.testing.assert_close(result["layer.weight"], expected_weight)
    assert result["bn.num_batches_tracked"].dtype == torch.long
    assert int(result["bn.num_batches_tracked"]) == expected_counter == 32
    assert result["scale"].dim() == 0
    assert float(result["scale"]) == pytest.approx(expected_scale)


def test_accumulator_keeps_running_sums_only():
    accumulator = WeightedMeanAccumulator()
    for n in range(1, 50):
        accumulator.add(state([[float(n)]], n, 0.0), n)
    assert accumulator.n_updates == 49
    assert set(vars(accumulator)["_sums"]) == {"layer.weight", "bn.num_batches_tracked", "scale"}
    expected = sum(n * n for n in range(1, 50)) / sum(range(1, 50))
    result = accumulator.result()
    assert float(result["layer.weight"]) == pytest.approx(expected)
    assert result["layer.weight"].dtype == torch.float32


@pytest.mark.parametrize(
    ("second", "fragment"),
    [
        ({"layer.weight": torch.zeros(2, 2)}, "different entries"),
        (state([[1.0, 2.0, 3.0]], 1, 1.0), "has shape"),
    ],
)
def test_mismatched_updates_are_rejected(second, fragment):
    accumulator = WeightedMeanAccumulator()
    accumulator.add(state([[1.0, 2.0], [3.0, 4.0]], 1, 1.0), 5)
    with pytest.raises(AggregationError, match=fragment):
        accumulator.add(second, 5)


def test_empty_zero_weight_and_bad_weights_are_rejected():
    with pytest.raises(AggregationError, match="no client updates"):
        WeightedMeanAccumulator().result()
    accumulator = WeightedMeanAccumulator()
    accumulator.add(state([[1.0]], 1, 1.0), 0)
    with pytest.raises(AggregationError, match="total weight is 0"):
        accumulator.result()
    for bad in (-1, 2.5, True):
        with pytest.raises(AggregationError, match="non-negative integer"):
            WeightedMeanAccumulator().add(state([[1.0]], 1, 1.0), bad)


def test_result_must_match_global_entries():
    accumulator = WeightedMeanAccumulator()
    accumulator.add(state([[1.0]], 1, 1.0), 1)
    with pytest.raises(AggregationError, match="differ in entries"):
        accumulator.result(like={"other": torch.zeros(1)})


def flat(values: list[float]) -> dict[str, torch.Tensor]:
    return {"w": torch.tensor(values)}


def test_coordinate_median_odd_and_even():
    odd = [flat([1.0, 10.0]), flat([2.0, -5.0]), flat([100.0, 0.0])]
    assert coordinate_median(odd)["w"].tolist() == [2.0, 0.0]
    even = odd + [flat([3.0, 1.0])]
    assert coordinate_median(even)["w"].tolist() == [2.5, 0.5]


def test_trimmed_mean_drops_extremes_per_coordinate():
    updates = [flat([1.0, 5.0]), flat([2.0, 6.0]), flat([3.0, 7.0]), flat([4.0, 8.0]),
               flat([1000.0, -1000.0])]
    result = trimmed_mean(updates, trim_ratio=0.2)["w"].tolist()
    assert result == pytest.approx([3.0, 6.0])  # [2,3,4] and [5,6,7]
    untrimmed = trimmed_mean(updates, trim_ratio=0.0)["w"].tolist()
    assert untrimmed == pytest.approx([202.0, -194.8])
    with pytest.raises(AggregationError):
        trimmed_mean(updates, trim_ratio=0.5)


def test_krum_rejects_an_outlier():
    honest = [flat([1.0, 1.0]), flat([1.1, 0.9]), flat([0.9, 1.0]), flat([1.0, 1.2])]
    outlier = flat([50.0, -50.0])
    chosen = krum(honest + [outlier], byzantine=1)["w"]
    assert any(torch.allclose(chosen, h["w"].double()) for h in honest)
    assert float(chosen.abs().max()) < 2.0
    multi = krum(honest + [outlier], byzantine=1, selected=3)["w"]
    assert float(multi.abs().max()) < 2.0


def test_krum_needs_enough_updates():
    with pytest.raises(AggregationError, match="at least 4 updates"):
        krum([flat([1.0])] * 3, byzantine=1)


@pytest.mark.parametrize(("aggregator", "extra"), [
    ("median", {}), ("trimmed_mean", {"trim_ratio": 0.25}), ("krum", {"krum_byzantine": 1}),
])
def test_strategy_uses_robust_aggregator_and_keeps_dtypes(aggregator, extra):
    strategy = get_strategy({"algorithm": "FedAvg", "aggregator": aggregator, **extra})
    global_state = state([[0.0, 0.0]], 0, 0.0)
    updates = [(state([[1.0, 1.0]], 4, 1.0), 1) for _ in range(4)]
    updates.append((state([[1e6, -1e6]], 999, 1e6), 1000))
    result = strategy.aggregate(global_state, updates)
    assert result["layer.weight"].tolist() == [[1.0, 1.0]]
    assert result["bn.num_batches_tracked"].dtype == torch.long
    assert int(result["bn.num_batches_tracked"]) == 4


def test_parallel_adds_are_all_counted():
    accumulator = WeightedMeanAccumulator()
    updates = [state([[float(i)]], i, 0.0) for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: accumulator.add(item[1], item[0] + 1), enumerate(updates)))
    assert accumulator.n_updates == 40 and accumulator.total_samples == sum(range(1, 41))
    expected = sum(i * (i + 1) for i in range(40)) / sum(range(1, 41))
    assert float(accumulator.result()["layer.weight"]) == pytest.approx(expected)


@pytest.mark.parametrize("poison", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("rule", [
    coordinate_median, functools.partial(trimmed_mean, trim_ratio=0.25),
    functools.partial(krum, byzantine=1),
])
def test_robust_rules_never_select_or_produce_non_finite_values(rule, poison):
    honest = [flat([1.0, 2.0]), flat([1.1, 2.1]), flat([0.9, 1.9]), flat([1.0, 2.05])]
    all_bad = {"w": torch.full((2,), poison)}
    one_bad = {"w": torch.tensor([1.0, poison])}
    result = rule(honest + [all_bad, one_bad])["w"]
    assert bool(torch.isfinite(result).all()), result
    assert float((result - torch.tensor([1.0, 2.0])).abs().max()) < 0.2


@pytest.mark.parametrize("rule", [coordinate_median, functools.partial(krum, byzantine=0)])
def test_robust_rules_refuse_a_round_of_only_non_finite_updates(rule):
    with pytest.raises(AggregationError, match="non-finite"):
        rule([{"w": torch.full((2,), math.nan)}] * 3)
