"""FedGKT client and server steps."""

from __future__ import annotations

import pytest
import torch

from synalgo.aggregation import WeightedMeanAccumulator
from synalgo.errors import AggregationError, RunConfigError, TrainingError
from synalgo.strategies import get_strategy
from synalgo.strategies.fedgkt import FedGKT, distillation_loss

SPEC = [
    {"is_input": True, "l_type": "Linear", "structure": {"in_features": 6, "out_features": 12},
     "activation": "relu"},
    {"is_input": False, "l_type": "Linear", "structure": {"in_features": 12, "out_features": 12},
     "activation": "relu"},
    {"is_input": False, "l_type": "Linear", "structure": {"in_features": 12, "out_features": 3},
     "activation": "softmax"},
]
RUN = {"algorithm": "FedGKT", "L": 1, "allow_label_sharing": True, "epochs": 5, "lr": 0.05,
       "optimizer": "Adam", "lr_scheduler": None, "batch_size": 32, "server_epochs": 5}


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=generator)
    centres = torch.tensor([[2.0, 0, 0, 0, 0, 0], [0, 2.0, 0, 0, 0, 0], [0, 0, 2.0, 0, 0, 0]])
    return centres[y] + torch.randn(n, 6, generator=generator), y


def test_fedgkt_refuses_without_label_sharing():
    with pytest.raises(RunConfigError, match="allow_label_sharing"):
        get_strategy({**RUN, "allow_label_sharing": False}, spec=SPEC, n_classes=3)
    with pytest.raises(RunConfigError, match="allow_label_sharing"):
        FedGKT({"L": 1})


def test_fedgkt_rounds_reduce_client_and_server_loss():
    strategy = get_strategy(RUN, spec=SPEC, n_classes=3)
    data = {"a": blobs(120, 1), "b": blobs(80, 2)}
    client_states: dict[str, dict] = {}
    server_state = strategy.initial_global_state()
    assert not strategy.sends_global_weights
    client_losses, server_losses = [], []
    for round_index in range(3):
        collector = strategy.start_round(server_state)
        round_losses = []
        for pid, (X, y) in data.items():
            model = strategy.build_client_model(SPEC, X, 3)
            config = strategy.configure_fit(server_state, round_index, pid)
            tensors = strategy.fit_tensors(pid)
            assert ("server_logits" in tensors) == (round_index > 0)
            result = strategy.fit_locally(model, X, y, "classify", 3,
                                          global_state=client_states.get(pid),
                                          config=config, tensors=tensors)
            client_states[pid] = result.state
            assert result.payload["features"].shape == (len(X), 12)
            assert result.payload["logits"].shape == (len(X), 3)
            assert torch.equal(result.payload["labels"], y)
            collector.add(result.payload, result.n_samples, participant_id=pid)
            round_losses.append(result.loss_history)
        client_losses.append(round_losses)
        server_state = strategy.finish_round(server_state, collector)
        logits = torch.cat([strategy.fit_tensors(pid)["server_logits"] for pid in data])
        labels = torch.cat([y for _, y in data.values()])
        server_losses.append(float(torch.nn.functional.cross_entropy(logits, labels)))
    first_epoch = client_losses[0][0][0]
    assert client_losses[-1][0][-1] < 0.5 * first_epoch
    assert server_losses[-1] < server_losses[0]
    # the client's model is usable for evaluation: probabilities over 3 classes
    X, y = data["a"]
    model = strategy.build_client_model(SPEC, X, 3)
    model.load_state_dict(client_states["a"])
    probabilities = model(X)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(len(X)))
    assert (probabilities.argmax(dim=1) == y).float().mean() > 0.8


def test_fedgkt_server_state_round_trips_and_binary_uses_two_logits():
    binary_spec = [dict(layer) for layer in SPEC]
    binary_spec[-1] = {"l_type": "Linear", "structure": {"in_features": 12, "out_features": 1},
                       "activation": "sigmoid"}
    strategy = get_strategy({**RUN, "epochs": 1, "server_epochs": 1}, binary_spec, 2)
    X, y = blobs(40, 3)
    y = (y > 0).long()
    model = strategy.build_client_model(binary_spec, X, 2)
    result = strategy.fit_locally(model, X, y, "classify", 2)
    assert result.payload["logits"].shape == (40, 2)
    server_state = strategy.initial_global_state()
    assert server_state["nnl_1_linear.weight"].shape == (2, 12)
    collector = strategy.start_round(server_state)
    collector.add(result.payload, result.n_samples, participant_id="p")
    strategy.finish_round(server_state, collector)
    saved = strategy.state_dict()
    assert list(saved) == ["server_logits.p"]
    restored = get_strategy({**RUN, "epochs": 1}, binary_spec, 2)
    restored.load_state_dict(saved)
    assert torch.equal(restored.fit_tensors("p")["server_logits"], saved["server_logits.p"])
    with pytest.raises(RunConfigError, match="classification"):
        strategy.fit_locally(model, X, y.float(), "regress", 0)


def test_fedgkt_split_must_fit_the_model():
    strategy = get_strategy({**RUN, "L": 3}, spec=SPEC, n_classes=3)
    with pytest.raises(RunConfigError, match="L between 1 and 2"):
        strategy.initial_global_state()


def test_distillation_loss_is_zero_for_equal_logits_and_positive_otherwise():
    logits = torch.randn(4, 3)
    assert float(distillation_loss(logits, logits, 3.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation_loss(logits, -logits, 3.0)) > 0.0


def test_fedgkt_names_a_foreign_collector_or_client_model():
    strategy = get_strategy(RUN, spec=SPEC, n_classes=3)
    with pytest.raises(AggregationError, match=r"GKTCollector.*WeightedMeanAccumulator"):
        strategy.finish_round({}, WeightedMeanAccumulator())
    X, y = blobs(12, seed=0)
    with pytest.raises(TrainingError, match=r"GKTClientModel.*Linear"):
        strategy.fit_locally(torch.nn.Linear(6, 3), X, y, "classify", 3)
