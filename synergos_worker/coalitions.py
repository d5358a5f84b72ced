"""Data-port route `…/coalitions`: the metric of many coalition models on one meta in one call.

The TTP measures who contributed what by evaluating, every round, the models of many subsets
of the participants. One call carries up to `MAX_MODELS_PER_CALL` models: tensors named
`<k>/<weight name>` for k in 0..models-1, header `{"models": K, "metric": name,
"meta": "evaluate"}`. The answer is `{"n_samples": n, "values": [metric of model k]}` (the
raw metric; the TTP orients and combines it). Each model is checked like `evaluate`'s weights.
"""

from __future__ import annotations

from typing import Any

import torch

from synalgo.contribution.utility import measure, resolve_metric
from synalgo.local_training import evaluate_locally
from synalgo.state import State
from synalgo.targets import predict_scores
from synergos_worker.local_ops import check_weights, model_errors
from synergos_worker.state import RunState
from synrest.errors import NotFound, ValidationFailed

MAX_MODELS_PER_CALL = 256
FORWARD_ROWS = 4096


def split_models(tensors: State, count: int) -> list[State]:
    """The `count` models of a coalitions body, in order; 422 on a stray tensor name."""
    models: list[State] = [{} for _ in range(count)]
    for name, tensor in tensors.items():
        index, _, weight = name.partition("/")
        if not index.isdigit() or int(index) >= count or not weight:
            raise ValidationFailed({f"weights.{name}": f"must be '<k>/<weight>' with k < {count}"})
        models[int(index)][weight] = tensor
    return models


def _outputs(model: torch.nn.Module, features: torch.Tensor) -> torch.Tensor:
    """The model's outputs on every row, computed `FORWARD_ROWS` rows at a time."""
    device = next(iter(model.parameters()), features).device
    model.eval()
    with torch.no_grad():
        return torch.cat([model(features[start:start + FORWARD_ROWS].to(device)).cpu()
                          for start in range(0, features.shape[0], FORWARD_ROWS)])


def evaluate_coalitions(state: RunState, tensors: State, header: dict[str, Any]
                        ) -> dict[str, Any]:
    """`{"n_samples", "values"}`: the raw metric of every model on the requested meta."""
    count = header.get("models")
    if isinstance(count, bool) or not isinstance(count, int) or not (
            1 <= count <= MAX_MODELS_PER_CALL):
        raise ValidationFailed({"models": f"must be an integer from 1 to {MAX_MODELS_PER_CALL}"})
    if not state.strategy.sends_global_weights:
        raise ValidationFailed({"models": f"{state.strategy.name} keeps its client models on "
                                          "the Workers: there are no coalition models"})
    meta = header.get("meta", "evaluate")
    if meta not in state.tensors:
        raise NotFound(f"this Worker has no {meta!r} data for project {state.project_id!r}")
    try:
        metric = resolve_metric(header.get("metric"), state.action)
    except ValueError as error:
        raise ValidationFailed({"metric": str(error)}) from None
    models = split_models(tensors, count)
    data = state.tensors[meta]
    values = []
    with state.lock:
        for weights in models:
            check_weights(state.model, weights)
        with model_errors("coalition evaluation", meta):
            for weights in models:
                state.model.load_state_dict(weights)
                if metric == "loss":
                    loss, outputs = evaluate_locally(state.model, data.X, data.y, state.run,
                                                     state.action, state.n_classes)
                else:  # no criterion and no mini-batches: one forward pass in large slices
                    loss, outputs = 0.0, _outputs(state.model, data.X)
                y_pred, y_score = predict_scores(outputs, state.action)
                values.append(measure(metric, state.action, loss, data.y, y_pred, y_score))
    return {"n_samples": data.n_samples, "values": values, "metric": metric}
