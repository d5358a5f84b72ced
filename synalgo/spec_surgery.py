"""Resize the input and output layers of a model spec (used by auto-fix and FedGKT).

Input layer: the first layer's first constructor parameter is set when it is a required
integer size (`in_features`, `input_size`, `num_features`, ...). It is left alone when it is
`in_channels` (images: the channel count is the same everywhere), for `Embedding` (its first
parameter is a vocabulary size, not a feature count), and when the first layer has no such
parameter (Flatten, Dropout, activations).

Output layer: the last layer that has an output size (`out_features`, else a required integer
second constructor parameter such as `out_channels` or `hidden_size`); trailing size-free
layers (Dropout, Softmax, ...) are skipped.
"""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from synalgo.model_spec import LAYER_ALLOW_LIST
from synalgo.signatures import ParamRule, constructor_rules

PROBABILITY_MODULES = frozenset({"Softmax", "LogSoftmax", "Sigmoid"})
ACTIVATION_MODULES = PROBABILITY_MODULES | frozenset(
    {"ReLU", "LeakyReLU", "Tanh", "GELU", "ELU", "Identity", "Dropout", "Dropout2d"}
)
_NOT_A_FEATURE_COUNT = frozenset({"in_channels"})
_NOT_RESIZED_INPUT_LAYERS = frozenset({"Embedding"})

Spec = list[dict[str, Any]]


def input_size_parameter(layer: dict[str, Any]) -> str | None:
    """Name of the parameter that holds `layer`'s input feature count, if it has one."""
    if layer.get("l_type") in _NOT_RESIZED_INPUT_LAYERS:
        return None
    rules = _rules(layer)
    if not rules:
        return None
    name, rule = next(iter(rules.items()))
    if name in _NOT_A_FEATURE_COUNT or not rule.is_required_int:
        return None
    return name


def output_size_parameter(layer: dict[str, Any]) -> str | None:
    """Name of the parameter that holds `layer`'s output size, if it has one."""
    rules = _rules(layer)
    if "out_features" in rules:
        return "out_features"
    ordered: list[ParamRule] = list(rules.values())
    if len(ordered) >= 2 and ordered[1].is_required_int:
        return ordered[1].name
    return None


def output_layer_index(spec: Spec) -> int | None:
    """Index of the last layer with an output size, or None."""
    for index in range(len(spec) - 1, -1, -1):
        if output_size_parameter(spec[index]) is not None:
            return index
    return None


def resize_input(spec: Spec, n_features: int) -> Spec:
    """A copy of `spec` whose first layer takes `n_features` inputs (when applicable)."""
    fixed = copy.deepcopy(spec)
    if fixed:
        name = input_size_parameter(fixed[0])
        if name is not None:
            fixed[0].setdefault("structure", {})
            fixed[0]["structure"] = dict(fixed[0]["structure"] or {}, **{name: int(n_features)})
    return fixed


def resize_output(spec: Spec, units: int) -> tuple[Spec, int | None]:
    """A copy of `spec` whose output layer has `units` outputs, and that layer's index."""
    fixed = copy.deepcopy(spec)
    index = output_layer_index(fixed)
    if index is not None:
        name = output_size_parameter(fixed[index])
        fixed[index]["structure"] = {**(fixed[index].get("structure") or {}), name: units}
    return fixed, index


def has_probability_module_after(spec: Spec, index: int) -> bool:
    """Whether a Softmax/LogSoftmax/Sigmoid module follows layer `index`."""
    return any(layer.get("l_type") in PROBABILITY_MODULES for layer in spec[index + 1:])


def as_logits_head(spec: Spec, units: int) -> Spec:
    """A copy resized to `units` outputs that ends in raw logits: the output layer's
    activation is cleared and trailing activation/dropout modules are removed."""
    fixed, index = resize_output(spec, units)
    if index is None:
        return fixed
    fixed[index]["activation"] = None
    return fixed[: index + 1] + [
        layer for layer in fixed[index + 1:] if layer.get("l_type") not in ACTIVATION_MODULES
    ]


def _rules(layer: dict[str, Any]) -> dict[str, ParamRule]:
    l_type = layer.get("l_type")
    if l_type not in LAYER_ALLOW_LIST:
        return {}
    return constructor_rules(getattr(nn, l_type))
