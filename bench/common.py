"""The benchmark task both systems run: data, partition, hyperparameters, models, evaluation.

Importable from the project venv and from the Flower venv (`bench/.venv-flower`), so it imports
only numpy, scikit-learn, torch and the dependency-free `synergos_datasets.partition`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from synergos_datasets.partition import partition_iid

SEED = 42
ROUNDS = 10
LOCAL_EPOCHS = 1
BATCH_SIZE = 32
LEARNING_RATE = 0.1
TEST_FRACTION = 0.2
OPTIMIZER = "SGD"
CRITERION = "BCELoss"
CLIENT_COUNTS = (2, 8, 32)
# bench/model_size.py: MLPs of about 1 M and 25 M parameters, 4 clients, one local SGD step;
# bench/secure_aggregation.py also uses the 100 k one, bench/wide_area.py the 10 M one.
MODEL_SIZE_CLIENTS = 4
MODEL_SIZE_LOCAL_STEPS = 1
MLP_TARGET_PARAMETERS = {"mlp100k": 100_000, "mlp1m": 1_000_000, "mlp10m": 10_000_000,
                         "mlp25m": 25_000_000}
MODEL_SIZE_MODELS = ("mlp1m", "mlp25m")
MODEL_NAMES = ("logreg", *MLP_TARGET_PARAMETERS)
N_FEATURES = 30  # breast_cancer

__all__ = [
    "BATCH_SIZE", "CLIENT_COUNTS", "CRITERION", "LEARNING_RATE", "LOCAL_EPOCHS",
    "MLP_TARGET_PARAMETERS", "MODEL_NAMES", "MODEL_SIZE_CLIENTS", "MODEL_SIZE_LOCAL_STEPS",
    "MODEL_SIZE_MODELS", "N_FEATURES", "OPTIMIZER", "ROUNDS", "SEED", "TEST_FRACTION",
    "build_model", "client_data", "count_parameters", "evaluate_model",
    "evaluate_probabilities", "load_task", "mlp_width", "model_spec", "partition_iid",
    "train_locally",
]


@functools.lru_cache(maxsize=4)
def load_task(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """breast_cancer as float32 `(X_train, y_train, X_test, y_test)`: a stratified 80/20 split,
    standardised with the training rows' mean and standard deviation. Arrays are read-only.
    scikit-learn is imported here, not at module import: a process that trains on a saved
    partition (a Flower ClientApp, started per message) does not pay for it."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    features, labels = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=TEST_FRACTION, stratify=labels, random_state=seed)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    arrays = ((x_train - mean) / std, y_train, (x_test - mean) / std, y_test)
    result = tuple(np.ascontiguousarray(a, dtype=np.float32) for a in arrays)
    for array in result:
        array.setflags(write=False)
    return result  # type: ignore[return-value]


def client_data(partition_index: int, n_clients: int,
                seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The training rows of client `partition_index` out of `n_clients` (IID, `partition_iid`)."""
    if not 0 <= partition_index < n_clients:
        raise ValueError(f"partition_index must lie in [0, {n_clients}), got {partition_index}")
    x_train, y_train, _, _ = load_task(seed)
    rows = partition_iid(len(x_train), n_clients, seed)[partition_index]
    return x_train[rows], y_train[rows]


def mlp_width(target_parameters: int, n_features: int = N_FEATURES) -> int:
    """Hidden width `w` of a `n_features -> w -> w -> 1` MLP with about `target_parameters`."""
    # (n+1)w + (w+1)w + (w+1) = w^2 + (n+3)w + 1
    b = n_features + 3
    return max(1, round((-b + math.sqrt(b * b + 4 * (target_parameters - 1))) / 2))


def model_spec(name: str, n_features: int = N_FEATURES) -> list[dict[str, Any]]:
    """The model as a Synergos layer spec (`is_input`, `l_type`, `structure`, `activation`);
    the last layer is one sigmoid unit, p(class 1)."""
    if name == "logreg":
        return [_linear(True, n_features, 1, "sigmoid")]
    if name not in MLP_TARGET_PARAMETERS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    width = mlp_width(MLP_TARGET_PARAMETERS[name], n_features)
    return [_linear(True, n_features, width, "relu"), _linear(False, width, width, "relu"),
            _linear(False, width, 1, "sigmoid")]


def _linear(is_input: bool, in_features: int, out_features: int, activation: str) -> dict:
    return {"is_input": is_input, "l_type": "Linear",
            "structure": {"in_features": in_features, "out_features": out_features},
            "activation": activation}


_ACTIVATION_MODULES = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


def build_model(name: str, seed: int = SEED, n_features: int = N_FEATURES) -> nn.Sequential:
    """A plain torch module equal to `model_spec(name)`, initialised from `seed` (the same
    initial weights on every call and in every process)."""
    layers: list[nn.Module] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in model_spec(name, n_features):
            layers.append(nn.Linear(**layer["structure"]))
            layers.append(_ACTIVATION_MODULES[layer["activation"]]())
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train_locally(model: nn.Module, features: np.ndarray, labels: np.ndarray, *,
                  epochs: int = LOCAL_EPOCHS, batch_size: int = BATCH_SIZE,
                  lr: float = LEARNING_RATE, seed: int = SEED,
                  max_steps: int | None = None) -> float:
    """Train `model` in place with SGD on BCE (shuffled mini-batches from `seed`); stops after
    `max_steps` batches when given. Returns the mean training loss over the steps taken."""
    if len(features) == 0:
        raise ValueError("cannot train on an empty partition")
    x_all = torch.tensor(features, dtype=torch.float32)
    y_all = torch.tensor(labels, dtype=torch.float32).reshape(-1, 1)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    criterion = nn.BCELoss()
    generator = torch.Generator().manual_seed(seed)
    model.train()
    losses: list[float] = []
    for _ in range(epochs):
        order = torch.randperm(len(x_all), generator=generator)
        for start in range(0, len(order), batch_size):
            if max_steps is not None and len(losses) >= max_steps:
                return float(np.mean(losses))
            batch = order[start:start + batch_size]
            optimiser.zero_grad()
            loss = criterion(model(x_all[batch]), y_all[batch])
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
    return float(np.mean(losses))


def evaluate_probabilities(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy (threshold 0.5) and mean binary cross-entropy of p(class 1) against `labels`."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64).reshape(-1), 1e-7, 1 - 1e-7)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if p.shape != y.shape:
        raise ValueError(f"{p.size} probabilities for {y.size} labels")
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return {"accuracy": float(np.mean((p >= 0.5) == (y == 1))), "loss": float(loss)}


def evaluate_model(model: nn.Module, features: np.ndarray,
                   labels: np.ndarray) -> dict[str, float]:
    """Evaluate a one-sigmoid-output model centrally: `{"accuracy", "loss"}`."""
    model.eval()
    with torch.no_grad():
        probabilities = model(torch.tensor(features, dtype=torch.float32)).numpy()
    return evaluate_probabilities(probabilities, labels)
