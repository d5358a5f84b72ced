"""A small in-process federation on breast_cancer: FedAvg vs central training."""

from __future__ import annotations

import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from synalgo.codec import decode, encode
from synalgo.local_training import evaluate_locally, train_locally
from synalgo.metrics import compute_statistics
from synalgo.model_spec import build_model
from synalgo.strategies import get_strategy

ROUNDS, EPOCHS = 10, 5
SPEC = [{"is_input": True, "l_type": "Linear",
         "structure": {"in_features": 30, "out_features": 1, "bias": True},
         "activation": "sigmoid"}]
RUN = {"algorithm": "FedAvg", "rounds": ROUNDS, "epochs": EPOCHS, "lr": 0.5,
       "lr_scheduler": None, "batch_size": 32, "criterion": "BCELoss"}


def breast_cancer_split():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    as_x = lambda a: torch.tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    return as_x(X_train), torch.tensor(y_train), as_x(X_test), torch.tensor(y_test)


def accuracy(model, features, y, run) -> float:
    _, scores = evaluate_locally(model, features, y, run, "classify", 2)
    return compute_statistics("classify", y, scores)["accuracy_overall"]


def test_two_iid_parties_fedavg_matches_central_training():
    X_train, y_train, X_test, y_test = breast_cancer_split()
    order = torch.randperm(len(X_train), generator=torch.Generator().manual_seed(0))
    parties = {"p1": order[0::2], "p2": order[1::2]}
    strategy = get_strategy(RUN, spec=SPEC, n_classes=2)
    global_state = strategy.initial_global_state()
    for round_index in range(ROUNDS):
        aggregator = strategy.start_round(global_state)
        wire = encode(global_state, {"round": round_index})
        for participant_id, rows in parties.items():
            received, header = decode(wire)  # what the Worker gets
            config = strategy.configure_fit(received, header["round"], participant_id)
            model = strategy.build_client_model(SPEC, X_train[rows], 2)
            result = strategy.fit_locally(model, X_train[rows], y_train[rows], "classify", 2,
                                          global_state=received, config=config)
            payload, _ = decode(encode(result.payload, {"n_samples": result.n_samples}))
            aggregator.add(payload, result.n_samples, participant_id=participant_id)
        global_state = strategy.finish_round(global_state, aggregator)

    federated = build_model(SPEC)
    federated.load_state_dict(global_state)
    central = build_model(SPEC, seed=strategy.run["seed"])
    central_run = dict(strategy.run, epochs=ROUNDS * EPOCHS)
    train_locally(central, X_train, y_train, central_run, "classify", 2)

    federated_accuracy = accuracy(federated, X_test, y_test, strategy.run)
    central_accuracy = accuracy(central, X_test, y_test, strategy.run)
    assert central_accuracy > 0.93
    assert abs(federated_accuracy - central_accuracy) <= 0.02
