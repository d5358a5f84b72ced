"""SCAFFOLD and FedDyn: their update rules, the state each side keeps, and that they train on
a label-skewed split (in process, through the wire codec)."""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_wine

from synalgo.codec import decode, encode
from synalgo.errors import RunConfigError, TrainingError
from synalgo.local_training import model_outputs
from synalgo.model_spec import build_model
from synalgo.strategies import get_strategy
from synalgo.strategies.base import EXTRA_PREFIX
from synergos_datasets.partition import partition_label_skew

SPEC = [{"is_input": True, "l_type": "Linear", "structure": {"in_features": 4, "out_features": 3}}]
SGD = {"optimizer": "SGD", "lr": 0.1, "lr_scheduler": None, "criterion": "CrossEntropyLoss",
       "epochs": 1, "batch_size": None, "patience": 100}


def data(seed: int = 0, n: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=generator), torch.randint(0, 3, (n,), generator=generator)


def gradient_at(state, X, y):  # noqa: N803
    model = build_model(SPEC)
    model.load_state_dict(state)
    loss = torch.nn.functional.cross_entropy(model(X), y)
    loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


def test_scaffold_corrects_each_step_and_updates_the_control_variates() -> None:
    strategy = get_strategy({**SGD, "algorithm": "SCAFFOLD"}, spec=SPEC, n_classes=3)
    x = strategy.initial_global_state()
    X, y = data()
    c = {name: torch.full_like(t, 0.3) for name, t in x.items()}
    c_i = {name: torch.full_like(t, -0.1) for name, t in x.items()}
    result = strategy.fit_locally(build_model(SPEC), X, y, "classify", 3, global_state=x,
                                  tensors=c, client_state=c_i)
    g = gradient_at(x, X, y)
    for name in x:  # one full-batch SGD step along g + c - c_i
        expected = x[name] - 0.1 * (g[name] + c[name] - c_i[name])
        assert torch.allclose(result.state[name], expected, atol=1e-6), name
        # option II after one step: c_i+ = c_i - c + (x - y) / lr = g + ... = g
        assert torch.allclose(result.client_state[name], g[name], atol=1e-5), name
        sent = result.payload[EXTRA_PREFIX + name]
        assert torch.allclose(sent, c[name] + g[name] - c_i[name], atol=1e-5), name


def test_scaffold_server_sends_and_aggregates_the_global_control_variate() -> None:
    strategy = get_strategy({**SGD, "algorithm": "SCAFFOLD"}, spec=SPEC, n_classes=3)
    x = strategy.initial_global_state()
    assert strategy.fit_tensors("p1") == {}  # zeros before the first round
    template = strategy.reply_template(x)
    assert set(template) == set(x) | {EXTRA_PREFIX + name for name in x}
    aggregator = strategy.start_round(x)
    for value, n in ((1.0, 1), (4.0, 3)):
        aggregator.add({name: torch.full_like(t, value) for name, t in template.items()}, n)
    new = strategy.finish_round(x, aggregator)
    assert set(new) == set(x)
    assert all(torch.allclose(t, torch.full_like(t, 3.25)) for t in new.values())
    sent = strategy.fit_tensors("p1")
    assert set(sent) == {EXTRA_PREFIX + name for name in x}
    assert all(torch.allclose(t, torch.full_like(t, 3.25)) for t in sent.values())
    resumed = get_strategy({**SGD, "algorithm": "SCAFFOLD"}, spec=SPEC, n_classes=3)
    resumed.load_state_dict(strategy.state_dict())
    assert all(torch.equal(resumed.fit_tensors("p")[k], v) for k, v in sent.items())


def test_scaffold_refuses_a_control_variate_that_does_not_fit() -> None:
    strategy = get_strategy({**SGD, "algorithm": "SCAFFOLD"}, spec=SPEC, n_classes=3)
    x = strategy.initial_global_state()
    X, y = data()
    wrong = {name: torch.zeros(2, 2) if name.endswith("weight") else t for name, t in x.items()}
    with pytest.raises(TrainingError, match=r"global control variate: tensor '\S+weight' has"):
        strategy.fit_locally(build_model(SPEC), X, y, "classify", 3, global_state=x,
                             tensors=wrong)


def test_feddyn_client_keeps_its_gradient_estimate_and_the_server_corrects() -> None:
    run = {**SGD, "algorithm": "FedDyn", "feddyn_alpha": 0.5}
    strategy = get_strategy(run, spec=SPEC, n_classes=3)
    x = strategy.initial_global_state()
    X, y = data()
    g_i = {name: torch.full_like(t, 0.2) for name, t in x.items()}
    result = strategy.fit_locally(build_model(SPEC), X, y, "classify", 3, global_state=x,
                                  client_state=g_i)
    g = gradient_at(x, X, y)
    for name in x:  # at w = x the proximal term has no gradient: one step along g - g_i
        assert torch.allclose(result.state[name], x[name] - 0.1 * (g[name] - g_i[name]),
                              atol=1e-6), name
        expected = g_i[name] - 0.5 * (result.state[name] - x[name])
        assert torch.allclose(result.client_state[name], expected, atol=1e-6), name

    aggregator = strategy.start_round(x)
    aggregator.add({name: t + 1.0 for name, t in x.items()}, 1)
    new = strategy.finish_round(x, aggregator)
    for name, t in x.items():  # h = -alpha * 1; x+ = (x + 1) - h / alpha = x + 2
        assert torch.allclose(new[name], t + 2.0, atol=1e-6), name
        assert torch.allclose(strategy.state_dict()["correction." + name].float(),
                              torch.full_like(t, -0.5))


def test_feddyn_alpha_is_its_own_field_and_worker_dp_is_refused() -> None:
    gkt = get_strategy({"algorithm": "FedDyn", "alpha": 0.9})
    assert gkt.alpha == 0.01 and gkt.run["alpha"] == 0.9  # FedGKT's field, untouched
    with pytest.raises(RunConfigError, match=r"feddyn_alpha: must be a number > 0\.0"):
        get_strategy({"algorithm": "FedDyn", "feddyn_alpha": 0})
    with pytest.raises(RunConfigError, match="dp: FedDyn's local terms"):
        get_strategy({"algorithm": "FedDyn", "dp": {"mode": "worker", "noise_multiplier": 1.0}})
    with pytest.raises(RunConfigError, match="update_compression: SCAFFOLD replies"):
        get_strategy({"algorithm": "SCAFFOLD", "update_compression": "int8"})


def _federate(algorithm: str, **fields) -> float:
    """Test accuracy after 5 rounds on wine split as the example datasets split it."""
    features, labels = load_wine(return_X_y=True)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0)).numpy()
    train, test = order[:140], order[140:]
    mean, std = features[train].mean(0), features[train].std(0)
    X = torch.tensor((features - mean) / std, dtype=torch.float32)
    y = torch.tensor(labels)
    parts = [train[rows] for rows in partition_label_skew(labels[train], 2, 0, 0.7)]
    spec = [{"is_input": True, "l_type": "Linear",
             "structure": {"in_features": 13, "out_features": 3}}]
    run = {**SGD, "algorithm": algorithm, "epochs": 2, "batch_size": 16, "lr": 0.05, **fields}
    strategy = get_strategy(run, spec=spec, n_classes=3)
    state = strategy.initial_global_state()
    kept: dict[str, dict | None] = {"p0": None, "p1": None}
    for round_index in range(5):
        aggregator = strategy.start_round(state)
        for pid, rows in zip(kept, parts, strict=True):
            received, _ = decode(encode({**state, **strategy.fit_tensors(pid)}, {}))
            weights, extras = strategy.split_fit_tensors(received)
            result = strategy.fit_locally(
                build_model(spec), X[rows], y[rows], "classify", 3, global_state=weights,
                config=strategy.configure_fit(state, round_index, pid), tensors=extras,
                client_state=kept[pid])
            kept[pid] = result.client_state
            assert set(result.payload) == set(strategy.reply_template(state))
            aggregator.add(decode(encode(result.payload, {}))[0], result.n_samples)
        state = strategy.finish_round(state, aggregator)
    final = build_model(spec)
    final.load_state_dict(state)
    return float((model_outputs(final, X[test]).argmax(1) == y[test]).float().mean())


@pytest.mark.parametrize("algorithm", ["SCAFFOLD", "FedDyn"])
def test_it_trains_on_a_label_skewed_split(algorithm: str) -> None:
    assert _federate(algorithm) > 0.9
