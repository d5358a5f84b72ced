"""Shape model outputs and labels for a criterion, and turn outputs into predictions.

The Worker holds classification labels as class indices (long, shape (N,)) over the aligned
label set of size K, and regression targets as float (N, 1). `format_targets` adapts them:

| outputs        | criterion                              | loss sees                          |
|----------------|----------------------------------------|------------------------------------|
| 1 unit (p)     | BCELoss, BCEWithLogitsLoss, MSE, ...   | outputs, float (N, 1) indicator    |
| 1 unit (p)     | SoftMarginLoss, HingeEmbeddingLoss     | outputs, float (N, 1) in {-1, +1}  |
| 1 unit (p)     | NLLLoss                                | log([1-p, p]), y long              |
| 1 unit (p)     | CrossEntropyLoss                       | [log(1-p), log p] (logits), y long |
| 1 unit (p)     | MultiMarginLoss                        | [1-p, p], y long                   |
| K units        | CrossEntropyLoss, NLLLoss, MultiMargin | outputs, y long                    |
| K units        | any other loss                         | outputs, one-hot float (N, K)      |
| regression     | any                                    | outputs, y float shaped as outputs |

With one unit and NLLLoss/CrossEntropyLoss/MultiMarginLoss the unit must be a probability
(end the model with a sigmoid); p is clamped to [1e-7, 1 - 1e-7] before the log.
"""

from __future__ import annotations

import torch

from synalgo.errors import TrainingError

INDEX_TARGET_LOSSES = frozenset({"CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"})
SIGNED_TARGET_LOSSES = frozenset({"SoftMarginLoss", "HingeEmbeddingLoss"})
ACTIONS = ("classify", "regress")
_PROBABILITY_EPS = 1e-7


def format_targets(
    outputs: torch.Tensor,
    y: torch.Tensor,
    criterion_name: str,
    n_classes: int,
    action: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`(outputs_for_loss, y_for_loss)` for `criterion_name` (see the module table)."""
    _check_action(action)
    if outputs.shape[0] != y.shape[0]:
        raise TrainingError(
            f"model produced {outputs.shape[0]} outputs for {y.shape[0]} labels"
        )
    if action == "regress":
        return outputs, _regression_targets(outputs, y)
    labels = class_indices(y)
    units = 1 if outputs.dim() == 1 else outputs.shape[1]
    if outputs.dim() > 2:
        raise TrainingError(
            f"classification outputs must be (N,) or (N, C), got shape {tuple(outputs.shape)}"
        )
    if units == 1:
        return _single_unit(outputs.reshape(-1, 1), labels, criterion_name)
    if labels.numel() and int(labels.max()) >= units:
        raise TrainingError(
            f"label index {int(labels.max())} does not fit the model's {units} output units "
            f"(aligned label set has {n_classes} classes)"
        )
    if criterion_name in INDEX_TARGET_LOSSES:
        return outputs, labels
    one_hot = torch.nn.functional.one_hot(labels, num_classes=units).to(outputs.dtype)
    return outputs, one_hot


def predict_scores(outputs: torch.Tensor, action: str) -> tuple[torch.Tensor, torch.Tensor]:
    """`(y_pred, y_score)`: binary p > 0.5, multiclass argmax, regression identity."""
    _check_action(action)
    scores = outputs.detach()
    if action == "regress":
        return scores, scores
    if scores.dim() == 1:
        scores = scores.reshape(-1, 1)
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0.5).long(), scores
    return scores.argmax(dim=1), scores


def class_indices(y: torch.Tensor) -> torch.Tensor:
    """Labels as a long vector (N,); accepts (N,) or (N, 1)."""
    if y.dim() == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dim() != 1:
        raise TrainingError(
            f"classification labels must be class indices of shape (N,), got {tuple(y.shape)}"
        )
    if y.is_floating_point():
        if not torch.equal(y, y.round()):
            raise TrainingError("classification labels must be whole class indices")
        y = y.long()
    labels = y.long()
    if labels.numel() and int(labels.min()) < 0:
        raise TrainingError("classification labels must be non-negative class indices")
    return labels


def _single_unit(
    outputs: torch.Tensor, labels: torch.Tensor, criterion_name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    if labels.numel() and int(labels.max()) > 1:
        raise TrainingError(
            f"a model with one output unit is binary, but labels go up to {int(labels.max())}"
        )
    if criterion_name in INDEX_TARGET_LOSSES:
        probability = _as_probability(outputs, criterion_name)
        two_columns = torch.cat([1.0 - probability, probability], dim=1)
        if criterion_name in ("NLLLoss", "CrossEntropyLoss"):
            two_columns = torch.log(two_columns)
        return two_columns, labels
    indicator = labels.to(outputs.dtype).reshape(-1, 1)
    if criterion_name in SIGNED_TARGET_LOSSES:
        indicator = indicator * 2.0 - 1.0
    return outputs, indicator


def _as_probability(outputs: torch.Tensor, criterion_name: str) -> torch.Tensor:
    detached = outputs.detach()
    if detached.numel() and (detached.min() < 0.0 or detached.max() > 1.0):
        raise TrainingError(
            f"with {criterion_name} a single output unit must be a probability p(class 1); "
            "end the model with a sigmoid activation"
        )
    return outputs.clamp(_PROBABILITY_EPS, 1.0 - _PROBABILITY_EPS)


def _regression_targets(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    y = y.to(outputs.dtype)
    if y.numel() != outputs.numel():
        raise TrainingError(
            f"regression targets of shape {tuple(y.shape)} do not match outputs "
            f"of shape {tuple(outputs.shape)}"
        )
    return y.reshape(outputs.shape)


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise TrainingError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
