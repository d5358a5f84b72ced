"""Class probabilities from a model's raw outputs, whatever its last activation.

The model spec says what the outputs are: the last layer's `activation` (or a trailing
Softmax/LogSoftmax/Sigmoid module) makes them probabilities, log-probabilities or, with
no such activation, logits. One output unit is the probability (or logit) of the second
class of a binary task.
"""

from __future__ import annotations

from typing import Any

import torch

from synalgo.errors import AlgoError

PROBABILITIES, LOG_PROBABILITIES, LOGITS = "probabilities", "log_probabilities", "logits"
_KINDS = {"softmax": PROBABILITIES, "sigmoid": PROBABILITIES, "log_softmax": LOG_PROBABILITIES,
          "Softmax": PROBABILITIES, "Sigmoid": PROBABILITIES, "LogSoftmax": LOG_PROBABILITIES}
_PASS_THROUGH = frozenset({"Dropout", "Dropout2d", "Identity"})  # no effect at inference


def output_kind(spec: list[dict[str, Any]]) -> str:
    """What the model's outputs are: `probabilities`, `log_probabilities` or `logits`."""
    for layer in reversed(spec or []):
        activation = layer.get("activation")
        if activation:
            return _KINDS.get(activation, LOGITS)
        l_type = layer.get("l_type")
        if l_type in _KINDS:
            return _KINDS[l_type]
        if l_type not in _PASS_THROUGH:
            return LOGITS
    return LOGITS


def class_probabilities(outputs: torch.Tensor, kind: str, n_classes: int) -> torch.Tensor:
    """(N, n_classes) float64 probabilities summing to 1 per row from raw `outputs`."""
    scores = outputs.detach().to(torch.float64)
    if scores.dim() == 1:
        scores = scores.reshape(-1, 1)
    if scores.dim() != 2:
        raise AlgoError(f"classification outputs must be (N,) or (N, K), got "
                        f"{tuple(outputs.shape)}")
    if scores.shape[1] == 1:
        positive = scores[:, 0] if kind == PROBABILITIES else (
            scores[:, 0].exp() if kind == LOG_PROBABILITIES else torch.sigmoid(scores[:, 0]))
        positive = positive.clamp(0.0, 1.0)
        if n_classes == 1:
            return torch.ones((len(scores), 1), dtype=torch.float64)
        if n_classes != 2:
            raise AlgoError(f"one output unit cannot score {n_classes} classes")
        return torch.stack([1.0 - positive, positive], dim=1)
    if scores.shape[1] != n_classes:
        raise AlgoError(f"the model has {scores.shape[1]} output units for {n_classes} classes")
    if kind == LOGITS:
        return torch.softmax(scores, dim=1)
    probabilities = scores.exp() if kind == LOG_PROBABILITIES else scores.clamp(min=0.0)
    totals = probabilities.sum(dim=1, keepdim=True)
    uniform = torch.full_like(probabilities, 1.0 / n_classes)
    return torch.where(totals > 0, probabilities / totals.clamp(min=1e-300), uniform)
