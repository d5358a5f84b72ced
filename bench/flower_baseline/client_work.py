"""A client's local work, shared by every Flower path: load the global weights, train on the
client's partition, return the new weights. Runs inside Ray actors and ClientApp processes;
caches per process."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from bench import common


@functools.lru_cache(maxsize=2)
def _model(name: str) -> nn.Module:
    return common.build_model(name)


def model_arrays(model: nn.Module) -> list[np.ndarray]:
    """The model's state as numpy arrays, in `state_dict` order."""
    return [tensor.detach().cpu().numpy().copy() for tensor in model.state_dict().values()]


def load_arrays(model: nn.Module, arrays: list[np.ndarray]) -> None:
    """Overwrite the model's state with `arrays` (in `state_dict` order)."""
    keys = list(model.state_dict())
    if len(keys) != len(arrays):
        raise ValueError(f"model has {len(keys)} tensors, received {len(arrays)}")
    model.load_state_dict({k: torch.from_numpy(np.asarray(a)) for k, a in zip(keys, arrays,
                                                                                strict=True)})


def fit_client(model_name: str, partition_index: int, n_clients: int,
               global_arrays: list[np.ndarray], server_round: int,
               local_steps: int | None) -> tuple[list[np.ndarray], int, float]:
    """Train the global model on client `partition_index`'s rows of `n_clients`
    (`fit_partition`); returns (new arrays, number of training rows, mean loss)."""
    features, labels = common.client_data(partition_index, n_clients)
    return fit_partition(model_name, partition_index, features, labels, global_arrays,
                         server_round, local_steps)


def fit_partition(model_name: str, partition_index: int, features: np.ndarray,
                  labels: np.ndarray, global_arrays: list[np.ndarray], server_round: int,
                  local_steps: int | None) -> tuple[list[np.ndarray], int, float]:
    """Train the global model on one client's rows for `common.LOCAL_EPOCHS` epochs (or
    `local_steps` batches), shuffled by a seed of the round and the partition; returns (new
    arrays, number of training rows, mean loss)."""
    model = _model(model_name)
    load_arrays(model, global_arrays)
    loss = common.train_locally(
        model, features, labels, epochs=common.LOCAL_EPOCHS, batch_size=common.BATCH_SIZE,
        lr=common.LEARNING_RATE, seed=common.SEED + 1000 * server_round + partition_index,
        max_steps=local_steps)
    return model_arrays(model), len(features), loss


def evaluate_arrays(model_name: str, arrays: list[np.ndarray]) -> dict[str, float]:
    """Central evaluation of global weights on the held-out test set (`common.evaluate_model`)."""
    _, _, x_test, y_test = common.load_task()
    model = common.build_model(model_name)
    load_arrays(model, arrays)
    return common.evaluate_model(model, x_test, y_test)
