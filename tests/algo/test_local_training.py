"""Client-side local training and evaluation."""

from __future__ import annotations

import pytest
import torch

from synalgo.errors import TrainingError
from synalgo.local_training import EarlyStopping, evaluate_locally, regularisation, train_locally
from synalgo.model_spec import build_model
from synalgo.run_config import normalise_run
from synalgo.strategies import get_strategy

SPEC = [
    {"is_input": True, "l_type": "Linear", "structure": {"in_features": 6, "out_features": 8},
     "activation": "relu"},
    {"is_input": False, "l_type": "Dropout", "structure": {"p": 0.3}},
    {"is_input": False, "l_type": "Linear", "structure": {"in_features": 8, "out_features": 1},
     "activation": "sigmoid"},
]


def make_run(**fields) -> dict:
    base = {"epochs": 5, "lr": 0.1, "lr_scheduler": None, "batch_size": 16, "patience": 100}
    run, errors = normalise_run({**base, **fields})
    assert errors == {}
    return run


def make_data(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=generator)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y


def fit(seed: int, **fields):
    X, y = make_data()
    model = build_model(SPEC, seed=3)
    return train_locally(model, X, y, make_run(**fields), "classify", 2, seed=seed)


def test_same_seed_gives_identical_weights_and_other_seed_differs():
    first, second, other = fit(11), fit(11), fit(12)
    for name in first.state:
        assert torch.equal(first.state[name], second.state[name])
    assert first.loss_history == second.loss_history
    assert not torch.equal(first.state["nnl_0_linear.weight"], other.state["nnl_0_linear.weight"])


def test_training_leaves_global_rng_alone_and_reduces_loss():
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    result = fit(1, epochs=30)
    assert torch.equal(torch.rand(1), expected)
    assert result.n_samples == 64 and result.epochs_run == 30
    assert result.loss == result.loss_history[-1] < result.loss_history[0]
    assert result.payload is result.state


def test_early_stopping_counts_patience_epochs():
    result = fit(0, epochs=50, patience=3, delta=1e9)
    assert result.epochs_run == 4  # the first epoch sets the best score, then 3 stale epochs


def test_early_stopping_rule_matches_reference():
    stopper = EarlyStopping(patience=2, delta=0.1)
    assert stopper.update(1.0) is False  # best = -1.0
    assert stopper.update(0.95) is False  # -0.95 < -0.9: stale 1
    assert stopper.update(0.9) is False  # -0.9 >= -0.9: improves
    assert stopper.update(0.85) is False  # stale 1
    assert stopper.update(0.86) is True  # stale 2 -> stop


def test_scheduler_steps_per_epoch_and_explicit_zero_gamma_is_used():
    X, y = make_data()
    full_batch = {"batch_size": None, "lr": 0.5}
    frozen_after_one = train_locally(
        build_model(SPEC[:1] + SPEC[2:], seed=3), X, y,
        make_run(epochs=4, lr_scheduler="StepLR", step_size=1, gamma=0.0, **full_batch),
        "classify", 2, seed=0,
    )
    one_epoch = train_locally(
        build_model(SPEC[:1] + SPEC[2:], seed=3), X, y, make_run(epochs=1, **full_batch),
        "classify", 2, seed=0,
    )
    for name, tensor in one_epoch.state.items():
        torch.testing.assert_close(frozen_after_one.state[name], tensor)
    assert frozen_after_one.epochs_run == 4


@pytest.mark.parametrize("scheduler", ["ReduceLROnPlateau", "CyclicLR", "OneCycleLR", "LambdaLR"])
def test_each_scheduler_kind_trains(scheduler):
    result = fit(0, epochs=4, lr_scheduler=scheduler)
    assert result.epochs_run == 4


def test_regularisation_terms_match_formula():
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0]]))
        model.bias.fill_(0.5)
    anchor = {"weight": torch.tensor([[0.0, -1.0]]), "bias": torch.tensor([0.5])}
    penalty = regularisation(model, l1_lambda=0.1, l2_lambda=0.2, anchor=anchor, proximal_mu=2.0)
    l1 = 0.1 * (1 + 2 + 0.5)
    l2 = 0.2 / 2 * (1 + 4 + 0.25)
    proximal = 2.0 / 2 * (1 + 1 + 0)
    assert float(penalty.detach()) == pytest.approx(l1 + l2 + proximal)


def test_proximal_term_keeps_weights_near_the_global_model():
    X, y = make_data()
    global_state = build_model(SPEC, seed=9).state_dict()

    def drift(mu: float) -> float:
        strategy = get_strategy({"algorithm": "FedProx", "mu": mu, "epochs": 20, "lr": 0.2,
                                 "lr_scheduler": None, "batch_size": 16})
        model = build_model(SPEC, seed=0)
        result = strategy.fit_locally(model, X, y, "classify", 2, global_state=global_state)
        return sum(float((result.state[k] - global_state[k]).pow(2).sum()) for k in global_state)

    assert drift(1.0) < 0.5 * drift(0.0)


def test_evaluate_locally_loss_and_outputs():
    X, y = make_data(30)
    model = build_model(SPEC, seed=1)
    run = make_run(batch_size=7)
    loss, scores = evaluate_locally(model, X, y, run, "classify", 2)
    model.eval()
    with torch.no_grad():
        expected_scores = model(X)
    torch.testing.assert_close(scores, expected_scores)
    expected = torch.nn.BCELoss()(expected_scores, y.float().reshape(-1, 1))
    assert loss == pytest.approx(float(expected), rel=1e-5)


def test_bad_data_and_divergence_are_clear_errors():
    X, y = make_data()
    model = build_model(SPEC, seed=1)
    with pytest.raises(TrainingError, match="rows"):
        train_locally(model, X, y[:10], make_run(), "classify", 2)
    with pytest.raises(TrainingError, match="no samples"):
        train_locally(model, X[:0], y[:0], make_run(), "classify", 2)
    regression = [{"l_type": "Linear", "structure": {"in_features": 6, "out_features": 1}}]
    with pytest.raises(TrainingError, match="diverged"):
        train_locally(build_model(regression, seed=0), X * 1e3, y.float() * 1e3,
                      make_run(lr=1e6, criterion="MSELoss", epochs=20), "regress", 0)
