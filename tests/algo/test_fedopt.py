"""FedOpt server optimisers: one step against hand computation, and resuming."""

from __future__ import annotations

import math

import pytest
import torch

from synalgo.strategies import get_strategy

SERVER = {"server_lr": 0.1, "server_momentum": 0.9, "beta_1": 0.9, "beta_2": 0.99, "tau": 1e-3}
GLOBAL = [1.0, 2.0]
AGGREGATE = [1.5, 1.0]  # delta = [0.5, -1.0]


def states(weights):
    return {
        "fc.weight": torch.tensor(weights, dtype=torch.float32),
        "bn.running_var": torch.tensor([1.0, 1.0]),
        "bn.num_batches_tracked": torch.tensor(3),
    }


def one_round(algorithm: str, global_weights=GLOBAL, aggregate_weights=AGGREGATE, strategy=None):
    strategy = strategy or get_strategy({"algorithm": algorithm, **SERVER})
    update = states(aggregate_weights)
    update["bn.running_var"] = torch.tensor([2.0, 4.0])
    update["bn.num_batches_tracked"] = torch.tensor(9)
    result = strategy.aggregate(states(global_weights), [(update, 10)])
    return strategy, result


def adaptive_expected(second_moment) -> list[float]:
    tau, lr, b1 = SERVER["tau"], SERVER["server_lr"], SERVER["beta_1"]
    expected = []
    for x, a in zip(GLOBAL, AGGREGATE, strict=True):
        delta = a - x
        m = (1 - b1) * delta
        v = second_moment(tau * tau, delta * delta)
        expected.append(x + lr * m / (math.sqrt(v) + tau))
    return expected


@pytest.mark.parametrize(
    ("algorithm", "second_moment"),
    [
        ("FedAdam", lambda v, d2: 0.99 * v + 0.01 * d2),
        ("FedYogi", lambda v, d2: v - 0.01 * d2 * math.copysign(1.0, v - d2)),
        ("FedAdagrad", lambda v, d2: v + d2),
    ],
)
def test_adaptive_single_step_matches_hand_computation(algorithm, second_moment):
    _, result = one_round(algorithm)
    expected = adaptive_expected(second_moment)
    assert result["fc.weight"].tolist() == pytest.approx(expected, rel=1e-6)
    # buffers are not optimised: they take the plain aggregate
    assert result["bn.running_var"].tolist() == [2.0, 4.0]
    assert int(result["bn.num_batches_tracked"]) == 9


def test_fedavgm_two_steps_match_hand_computation():
    strategy, first = one_round("FedAvgM")
    assert first["fc.weight"].tolist() == pytest.approx([1.0 + 0.1 * 0.5, 2.0 + 0.1 * -1.0])
    x1 = first["fc.weight"].tolist()
    _, second = one_round("FedAvgM", x1, [x1[0] + 1.0, x1[1]], strategy)
    m = [0.9 * 0.5 + 1.0, 0.9 * -1.0 + 0.0]
    assert second["fc.weight"].tolist() == pytest.approx([x1[0] + 0.1 * m[0], x1[1] + 0.1 * m[1]])


def test_optimiser_state_round_trips_for_resume():
    continuous, first = one_round("FedAdam")
    x1 = first["fc.weight"].tolist()
    _, expected = one_round("FedAdam", x1, [2.0, 0.0], continuous)
    checkpointed, _ = one_round("FedAdam")
    saved = checkpointed.state_dict()
    assert set(saved) == {"momentum.fc.weight", "variance.fc.weight"}
    resumed = get_strategy({"algorithm": "FedAdam", **SERVER})
    resumed.load_state_dict(saved)
    _, actual = one_round("FedAdam", x1, [2.0, 0.0], resumed)
    assert torch.equal(actual["fc.weight"], expected["fc.weight"])


def test_weight_strategies_have_no_server_state():
    strategy = get_strategy({"algorithm": "FedProx"})
    assert strategy.state_dict() == {}
