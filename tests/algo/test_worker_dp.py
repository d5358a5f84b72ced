"""Worker-side DP-SGD: the `dp` run field, ε against dp-accounting, the engine kept across
rounds, the budget, and the refusal of layers DP-SGD cannot train."""

from __future__ import annotations

import math

import dp_accounting
import pytest
import torch

from synalgo.model_spec import build_model
from synalgo.privacy.accounting import epsilon, noise_for_epsilon
from synalgo.privacy.worker_dp import WorkerPrivacy, unsupported_layers
from synalgo.run_config import normalise_run

SPEC = [{"activation": "relu", "is_input": True, "l_type": "Linear",
         "structure": {"in_features": 4, "out_features": 8}},
        {"activation": "sigmoid", "is_input": False, "l_type": "Linear",
         "structure": {"in_features": 8, "out_features": 1}}]
DP = {"mode": "worker", "noise_multiplier": 1.1, "max_grad_norm": 1.0, "delta": 1e-5}


def reference_epsilon(noise: float, sampling_rate: float, steps: int, delta: float) -> float:
    """dp-accounting's own RDP accountant at its default orders."""
    accountant = dp_accounting.rdp.RdpAccountant()
    event = dp_accounting.PoissonSampledDpEvent(sampling_rate,
                                                dp_accounting.GaussianDpEvent(noise))
    accountant.compose(dp_accounting.SelfComposedDpEvent(event, steps))
    return accountant.get_epsilon(delta)


def data(n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    X = torch.randn(n, 4, generator=generator)
    return X, (X[:, 0] > 0).long()


def dp_run(**changes: object) -> dict:
    run, errors = normalise_run({"algorithm": "FedAvg", "lr": 0.1, "lr_scheduler": None,
                                 "batch_size": 20, "epochs": 2, "rounds": 3, "dp": DP,
                                 **changes})
    assert not errors, errors
    return run


def test_dp_field_is_filled_and_checked() -> None:
    run = dp_run()
    assert run["dp"] == {**DP, "target_epsilon": None}
    _, errors = normalise_run({"dp": {"mode": "worker"}})
    assert "noise_multiplier or target_epsilon" in errors["dp.noise_multiplier"]
    _, errors = normalise_run({"dp": {"mode": "worker", "target_epsilon": 3, "sigma": 1}})
    assert "unknown field" in errors["dp.sigma"]
    _, errors = normalise_run({"dp": {"mode": "secret"}})
    assert "dp.mode" in errors
    _, errors = normalise_run({"dp": {"target_epsilon": 1, "delta": 1.5}})
    assert "dp.delta" in errors
    assert normalise_run({})[0]["dp"] is None


def test_dp_with_fedgkt_is_refused_naming_the_conflict() -> None:
    _, errors = normalise_run({"algorithm": "FedGKT", "L": 1, "allow_label_sharing": True,
                               "dp": {"target_epsilon": 3.0}})
    assert "FedGKT" in errors["dp"]


@pytest.mark.parametrize(("noise", "rate", "steps"), [(1.1, 0.01, 1000), (0.8, 0.1, 60),
                                                      (0.6, 0.05, 500), (2.0, 0.5, 10)])
def test_accounting_matches_dp_accounting(noise: float, rate: float, steps: int) -> None:
    ours = epsilon([(noise, rate, steps)], 1e-5)
    assert ours == pytest.approx(reference_epsilon(noise, rate, steps, 1e-5), rel=0.01)


def test_noise_for_a_target_spends_at_most_the_target() -> None:
    noise = noise_for_epsilon(3.0, 1e-5, 0.1, 200)
    assert epsilon([(noise, 0.1, 200)], 1e-5) <= 3.0
    assert epsilon([(noise * 0.99, 0.1, 200)], 1e-5) > 3.0 * 0.99


def test_reported_epsilon_is_dp_accountings_for_the_steps_taken_and_grows() -> None:
    X, y = data()
    run = dp_run()
    privacy = WorkerPrivacy(run["dp"], run, len(X))
    model = build_model(SPEC, seed=1)
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    reported = []
    for round_number in range(1, 4):
        result = privacy.fit(model, X, y, "classify", 2, state)
        state = result.state
        described = privacy.describe()
        steps = round_number * 2 * 10  # epochs x ceil(200 / 20) per round
        assert described["steps"] == steps
        assert described["sample_rate"] == pytest.approx(0.1)
        expected = reference_epsilon(1.1, 0.1, steps, 1e-5)
        assert described["epsilon"] == pytest.approx(expected, rel=0.01)
        assert described["epsilon_next_round"] == pytest.approx(
            reference_epsilon(1.1, 0.1, steps + 20, 1e-5), rel=0.01)
        reported.append(described["epsilon"])
    assert reported == sorted(reported) and len(set(reported)) == 3
    assert privacy.engine.accountant.history == [(1.1, 0.1, 60)]  # one engine, all rounds


def test_training_learns_and_changes_the_weights() -> None:
    X, y = data()
    run = dp_run(epochs=5, dp={**DP, "noise_multiplier": 0.5})
    privacy = WorkerPrivacy(run["dp"], run, len(X))
    model = build_model(SPEC, seed=1)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    result = privacy.fit(model, X, y, "classify", 2, before)
    assert any(not torch.equal(result.state[name], before[name]) for name in before)
    assert result.loss_history[-1] < result.loss_history[0]
    assert math.isfinite(result.loss)


def test_target_epsilon_sets_a_noise_that_lasts_the_planned_rounds() -> None:
    X, y = data()
    run = dp_run(dp={"mode": "worker", "target_epsilon": 4.0})
    privacy = WorkerPrivacy(run["dp"], run, len(X))
    model = build_model(SPEC, seed=1)
    state = model.state_dict()
    for _ in range(3):
        assert privacy.epsilon_after_next_round() <= 4.0
        state = privacy.fit(model, X, y, "classify", 2, state).state
    assert 3.9 < privacy.epsilon() <= 4.0
    assert privacy.epsilon_after_next_round() > 4.0  # a fourth round would pass the target


def test_layers_dp_sgd_cannot_train_are_named_with_their_replacement() -> None:
    spec = [SPEC[0], {"l_type": "BatchNorm1d", "structure": {"num_features": 8}}, SPEC[1]]
    problems = unsupported_layers(build_model(spec, seed=1))
    assert list(problems) == ["model.1"]
    assert "BatchNorm1d" in problems["model.1"] and "GroupNorm" in problems["model.1"]
    assert unsupported_layers(build_model(SPEC, seed=1)) == {}
