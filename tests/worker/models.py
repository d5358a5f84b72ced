"""Model specs and run configurations the Worker tests send, and TTP-side initial weights."""

from __future__ import annotations

from typing import Any

import torch

from synalgo.model_spec import build_model

FEDAVG_RUN: dict[str, Any] = {"algorithm": "FedAvg", "epochs": 4, "lr": 0.5,
                              "criterion": "BCELoss", "lr_scheduler": None, "seed": 7}
REGRESS_RUN: dict[str, Any] = {"algorithm": "FedProx", "epochs": 3, "lr": 0.05,
                               "criterion": "MSELoss", "lr_scheduler": None}


def binary_model(n_features: int) -> list[dict[str, Any]]:
    """Logistic regression on `n_features` inputs (one sigmoid unit)."""
    return [{"is_input": True, "l_type": "Linear",
             "structure": {"in_features": n_features, "out_features": 1},
             "activation": "sigmoid"}]


def regression_model(n_features: int) -> list[dict[str, Any]]:
    """Linear regression on `n_features` inputs."""
    return [{"is_input": True, "l_type": "Linear",
             "structure": {"in_features": n_features, "out_features": 1}, "activation": None}]


def image_model(side: int) -> list[dict[str, Any]]:
    """A tiny convnet for (N, 1, side, side) images with one sigmoid output."""
    inner = side - 1
    return [
        {"is_input": True, "l_type": "Conv2d",
         "structure": {"in_channels": 1, "out_channels": 2, "kernel_size": 2},
         "activation": "relu"},
        {"is_input": False, "l_type": "Flatten", "structure": {}, "activation": None},
        {"is_input": False, "l_type": "Linear",
         "structure": {"in_features": 2 * inner * inner, "out_features": 1},
         "activation": "sigmoid"},
    ]


def initial_weights(spec: list[dict[str, Any]], seed: int = 1) -> dict[str, torch.Tensor]:
    """The TTP's round-0 global weights for `spec`."""
    return {name: tensor.clone() for name, tensor in build_model(spec, seed=seed)
            .state_dict().items()}
