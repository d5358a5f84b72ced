"""Model specs: validate a JSON list of layers against allow-lists and build a `SpecModel`.

A spec is a non-empty list (at most `MAX_LAYERS`) of layer objects
`{"is_input": bool, "l_type": str, "structure": {kwargs}, "activation": str | null}`.
`l_type` names an allow-listed `torch.nn` class, `structure` holds its constructor arguments
(checked against the real signature, see `synalgo.signatures`), and `activation` names an
allow-listed `torch.nn.functional` function (null or "" = identity; softmax and log_softmax
act over dim 1). Layers are applied in order as `x = activation(layer(x))`.

Recurrent layers (RNN, LSTM, GRU) return `(output, hidden)`; the model keeps `output`, the
full sequence of hidden states, and hands it to the next layer whatever that layer is (add a
`Flatten`, or a pooling layer, to reduce it). The parameter count is measured on the `meta`
device before anything is allocated, so an oversized spec costs no memory.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from synalgo.errors import SpecError
from synalgo.seeding import seeded_rng
from synalgo.signatures import constructor_rules

MAX_LAYERS = 64
DEFAULT_MAX_PARAMETERS = 50_000_000

LAYER_ALLOW_LIST: tuple[str, ...] = (
    "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Dropout", "Dropout2d", "Flatten",
    "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "GELU", "ELU",
    "Embedding", "RNN", "LSTM", "GRU",
)
RECURRENT_LAYERS = frozenset({"RNN", "LSTM", "GRU"})


def _over_dim_1(function: Callable[..., torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: function(x, dim=1)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": functional.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": _over_dim_1(functional.softmax),
    "log_softmax": _over_dim_1(functional.log_softmax),
    "leaky_relu": functional.leaky_relu,
    "elu": functional.elu,
    "gelu": functional.gelu,
    "selu": functional.selu,
    "softplus": functional.softplus,
    "silu": functional.silu,
    "relu6": functional.relu6,
    "hardtanh": functional.hardtanh,
}
ACTIVATION_ALLOW_LIST: tuple[str, ...] = tuple(ACTIVATIONS)
LAYER_FIELDS = frozenset({"is_input", "l_type", "structure", "activation"})


class SpecModel(nn.Module):
    """A `torch.nn.Module` assembled from a validated spec; layers `nnl_<i>_<l_type>`."""

    def __init__(self, spec: list[dict[str, Any]], modules: list[nn.Module]) -> None:
        super().__init__()
        self.spec = copy.deepcopy(spec)
        self._layer_names: list[str] = []
        self._activations: list[str | None] = []
        self._recurrent: list[bool] = []
        for index, (layer, module) in enumerate(zip(spec, modules, strict=True)):
            name = f"nnl_{index}_{layer['l_type'].lower()}"
            self.add_module(name, module)
            self._layer_names.append(name)
            self._activations.append(layer.get("activation") or None)
            self._recurrent.append(layer["l_type"] in RECURRENT_LAYERS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply every layer then its activation; recurrent layers contribute their output."""
        for name, activation, recurrent in zip(
            self._layer_names, self._activations, self._recurrent, strict=True
        ):
            x = getattr(self, name)(x)
            if recurrent:
                x = x[0]
            if activation is not None:
                x = ACTIVATIONS[activation](x)
        return x


def validate_model_spec(
    spec: Any, max_parameters: int = DEFAULT_MAX_PARAMETERS
) -> dict[str, str]:
    """Check a spec; returns field path (e.g. `model.0.structure.in_features`) -> message."""
    if not isinstance(spec, list):
        return {"model": f"must be a list of layer objects, got {type(spec).__name__}"}
    if not spec:
        return {"model": "must contain at least one layer"}
    if len(spec) > MAX_LAYERS:
        return {"model": f"has {len(spec)} layers; at most {MAX_LAYERS} are allowed"}
    errors: dict[str, str] = {}
    total_parameters = 0
    for index, layer in enumerate(spec):
        layer_errors = _validate_layer(index, layer)
        errors.update(layer_errors)
        if layer_errors:
            continue
        try:
            with torch.device("meta"):
                module = _instantiate(layer)
        except Exception as exc:  # any constructor failure is a spec error
            errors[f"model.{index}.structure"] = f"{layer['l_type']} cannot be built: {exc}"
            continue
        total_parameters += sum(p.numel() for p in module.parameters())
    if not errors and total_parameters > max_parameters:
        errors["model"] = (
            f"has {total_parameters} parameters, more than the cap of {max_parameters}"
        )
    return errors


def build_model(
    spec: list[dict[str, Any]],
    seed: int | None = None,
    max_parameters: int = DEFAULT_MAX_PARAMETERS,
) -> SpecModel:
    """Validate then build `spec`; with `seed`, initialisation is deterministic and the global
    torch RNG is left untouched. Raises `SpecError` on an invalid spec."""
    errors = validate_model_spec(spec, max_parameters=max_parameters)
    if errors:
        raise SpecError(errors)
    if seed is None:
        return SpecModel(spec, [_instantiate(layer) for layer in spec])
    with seeded_rng(seed):
        return SpecModel(spec, [_instantiate(layer) for layer in spec])


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters of a module."""
    return sum(p.numel() for p in model.parameters())


def _instantiate(layer: dict[str, Any]) -> nn.Module:
    cls = getattr(nn, layer["l_type"])
    rules = constructor_rules(cls)
    structure = layer.get("structure") or {}
    kwargs = {key: rules[key].convert(value) for key, value in structure.items()}
    return cls(**kwargs)


def _validate_layer(index: int, layer: Any) -> dict[str, str]:
    prefix = f"model.{index}"
    if not isinstance(layer, dict):
        return {prefix: f"must be a layer object, got {type(layer).__name__}"}
    errors: dict[str, str] = {}
    for key in sorted(set(layer) - LAYER_FIELDS):
        errors[f"{prefix}.{key}"] = "unknown field; allowed: " + ", ".join(sorted(LAYER_FIELDS))
    if "is_input" in layer and not isinstance(layer["is_input"], bool):
        errors[f"{prefix}.is_input"] = "must be a boolean"
    activation = layer.get("activation")
    if activation not in (None, "") and activation not in ACTIVATIONS:
        errors[f"{prefix}.activation"] = _unknown_name("activation", activation, ACTIVATIONS)
    l_type = layer.get("l_type")
    if not isinstance(l_type, str) or l_type not in LAYER_ALLOW_LIST:
        if l_type is None:
            errors[f"{prefix}.l_type"] = "is required"
        else:
            errors[f"{prefix}.l_type"] = _unknown_name("layer type", l_type, LAYER_ALLOW_LIST)
        return errors
    structure = layer.get("structure", {})
    if structure is None:
        structure = {}
    if not isinstance(structure, dict):
        errors[f"{prefix}.structure"] = "must be an object of constructor arguments"
        return errors
    errors.update(_validate_structure(prefix, l_type, structure))
    return errors


def _validate_structure(prefix: str, l_type: str, structure: dict[str, Any]) -> dict[str, str]:
    rules = constructor_rules(getattr(nn, l_type))
    errors: dict[str, str] = {}
    for key, value in structure.items():
        path = f"{prefix}.structure.{key}"
        rule = rules.get(key)
        if rule is None:
            allowed = ", ".join(rules) or "none"
            errors[path] = f"not a constructor argument of {l_type} (allowed: {allowed})"
            continue
        problem = rule.check(value)
        if problem:
            errors[path] = problem
    for name, rule in rules.items():
        if rule.required and name not in structure:
            errors[f"{prefix}.structure.{name}"] = f"is required by {l_type}"
    return errors


def _unknown_name(what: str, value: Any, allowed: Any) -> str:
    names = list(allowed)
    message = f"unknown {what} {value!r}"
    if isinstance(value, str):
        close = difflib.get_close_matches(value, names, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return message + "; allowed: " + ", ".join(names)
