"""JSON-value rules for constructor parameters of allow-listed torch classes.

`constructor_rules(cls)` inspects a class's `__init__` (its typing overloads for RNN/LSTM/GRU)
and returns, per parameter that can be given as JSON, a `ParamRule` that checks a value
(`bool` is never accepted as a number) and converts it for the constructor (lists become
tuples where a tuple is expected, numbers or nested lists become float tensors where a
`Tensor` is expected). Parameters that cannot come from JSON (device, dtype, callables,
private `_x` parameters, deprecated `size_average`/`reduce`) are left out.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

import torch

EXCLUDED_PARAMETERS = frozenset({"self", "device", "dtype", "size_average", "reduce"})

_FORWARD_REF_NAMES: dict[str, Any] = {
    "Callable": collections.abc.Callable,
    "Iterable": collections.abc.Iterable,
    "Sequence": collections.abc.Sequence,
    "Literal": typing.Literal,
    "Any": typing.Any,
    "Optional": typing.Optional,
    "Union": typing.Union,
    "Tensor": torch.Tensor,
    "Optimizer": torch.optim.Optimizer,
}


@dataclass(frozen=True)
class Alternative:
    """One accepted JSON shape: a scalar kind, a literal choice, a sequence or a tensor."""

    kind: str  # int | float | bool | str | none | literal | seq | tensor
    choices: tuple = ()
    items: tuple[Alternative, ...] = ()
    length: int | None = None
    as_tuple: bool = True

    def matches(self, value: Any) -> bool:
        """Whether `value` (decoded JSON) has this shape."""
        if self.kind == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        if self.kind == "float":
            return _is_number(value) and math.isfinite(value)
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "str":
            return isinstance(value, str)
        if self.kind == "none":
            return value is None
        if self.kind == "literal":
            return isinstance(value, str) and value in self.choices
        if self.kind == "tensor":
            return _is_numeric_array(value)
        if self.kind == "seq":
            if not isinstance(value, list | tuple):
                return False
            if self.length is not None and len(value) != self.length:
                return False
            return all(any(alt.matches(item) for alt in self.items) for item in value)
        return False

    def describe(self) -> str:
        """A short human-readable name of this shape."""
        if self.kind == "literal":
            return "one of " + ", ".join(repr(choice) for choice in self.choices)
        if self.kind == "seq":
            inner = " or ".join(dict.fromkeys(alt.describe() for alt in self.items))
            size = f" of length {self.length}" if self.length is not None else ""
            return f"list{size} of {inner}"
        if self.kind == "tensor":
            return "number or list of numbers"
        if self.kind == "none":
            return "null"
        return {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}[self.kind]

    def convert(self, value: Any) -> Any:
        """The value as the constructor expects it."""
        if self.kind == "float":
            return float(value)
        if self.kind == "tensor":
            return torch.tensor(value, dtype=torch.float32)
        if self.kind == "seq":
            items = [_convert_item(self.items, item) for item in value]
            return tuple(items) if self.as_tuple else items
        return value


@dataclass(frozen=True)
class ParamRule:
    """What a constructor parameter accepts; `required` when it has no default."""

    name: str
    alternatives: tuple[Alternative, ...]
    required: bool
    default: Any = None

    def check(self, value: Any) -> str | None:
        """None when `value` is acceptable, else a message naming the expected type."""
        if any(alt.matches(value) for alt in self.alternatives):
            return None
        expected = " or ".join(dict.fromkeys(alt.describe() for alt in self.alternatives))
        return f"expected {expected}, got {_json_type_name(value)}"

    def convert(self, value: Any) -> Any:
        """Convert a checked value for the constructor."""
        return _convert_item(self.alternatives, value)

    @property
    def is_required_int(self) -> bool:
        """A required parameter that takes a plain integer (a size such as in_features)."""
        return self.required and any(alt.kind == "int" for alt in self.alternatives)


def constructor_rules(cls: type) -> dict[str, ParamRule]:
    """Ordered JSON-settable constructor parameters of `cls` (copy of a cached mapping)."""
    return dict(_cached_rules(cls))


@functools.lru_cache(maxsize=256)
def _cached_rules(cls: type) -> tuple[tuple[str, ParamRule], ...]:
    init = _most_specific_init(cls)
    signature = inspect.signature(init)
    hints = _type_hints(init)
    rules: list[tuple[str, ParamRule]] = []
    for name, parameter in signature.parameters.items():
        if name in EXCLUDED_PARAMETERS or name.startswith("_"):
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        required = parameter.default is inspect.Parameter.empty
        annotation = hints.get(name, parameter.annotation)
        alternatives = _alternatives(annotation, parameter.default)
        if not alternatives:
            continue
        default = None if required else parameter.default
        rules.append((name, ParamRule(name, tuple(alternatives), required, default)))
    return tuple(rules)


def _most_specific_init(cls: type) -> Any:
    """`cls.__init__`, or its richest typing overload when it only takes *args/**kwargs."""
    # mypy flags reading __init__ off a class object as unsound (a subclass may redefine it);
    # reading the class's own constructor is the point here
    init = cls.__init__  # type: ignore[misc]
    parameters = inspect.signature(init).parameters.values()
    named = [p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(named) > 1:
        return init
    overloads = typing.get_overloads(init)
    if not overloads:
        return init
    return max(overloads, key=lambda fn: len(inspect.signature(fn).parameters))


def _type_hints(function: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # unresolved forward references; retry with known names
        pass
    module = inspect.getmodule(function)
    namespace = dict(vars(module)) if module else {}
    namespace.update({k: v for k, v in _FORWARD_REF_NAMES.items() if k not in namespace})
    try:
        return typing.get_type_hints(function, globalns=namespace)
    except Exception:  # fall back to per-parameter inference from defaults
        return {}


def _alternatives(annotation: Any, default: Any) -> list[Alternative]:
    if annotation is inspect.Parameter.empty or isinstance(annotation, str):
        return _alternatives_from_default(default)
    found = _from_type(annotation)
    if found is None:
        return []
    if default is None and not any(alt.kind == "none" for alt in found):
        found.append(Alternative("none"))
    return found


def _alternatives_from_default(default: Any) -> list[Alternative]:
    if isinstance(default, bool):
        return [Alternative("bool")]
    if isinstance(default, int):
        return [Alternative("int")]
    if isinstance(default, float):
        return [Alternative("float")]
    if isinstance(default, str):
        return [Alternative("str")]
    return []


def _from_type(annotation: Any) -> list[Alternative] | None:
    """Alternatives for a typing annotation; None when any part cannot come from JSON."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        merged: list[Alternative] = []
        for arg in args:
            part = _from_type(arg)
            if part is None:
                if arg is torch.Tensor or _is_tensor_only_sequence(arg):
                    continue
                return None
            merged.extend(alt for alt in part if alt not in merged)
        if any(alt.kind == "float" for alt in merged):
            merged = [alt for alt in merged if alt.kind != "tensor"]
        return merged or None
    if origin is typing.Literal:
        return [Alternative("literal", choices=tuple(args))]
    if origin in (tuple, list, collections.abc.Iterable, collections.abc.Sequence):
        return _sequence_alternative(origin, args)
    scalar = {int: "int", float: "float", bool: "bool", str: "str", type(None): "none"}
    if annotation in scalar:
        return [Alternative(scalar[annotation])]
    if annotation is torch.Tensor:
        return [Alternative("tensor")]
    if annotation is torch.Size:
        return [Alternative("seq", items=(Alternative("int"),), as_tuple=True)]
    return None


def _sequence_alternative(origin: Any, args: tuple) -> list[Alternative] | None:
    length: int | None = None
    if origin is tuple and args and args[-1] is not Ellipsis:
        length = len(args)
    item_types = [arg for arg in args if arg is not Ellipsis]
    items: list[Alternative] = []
    for item_type in item_types:
        part = _from_type(item_type)
        if part is None:
            return None
        items.extend(alt for alt in part if alt not in items)
    if not items:
        return None
    return [Alternative("seq", items=tuple(items), length=length, as_tuple=origin is tuple)]


def _is_tensor_only_sequence(annotation: Any) -> bool:
    return typing.get_origin(annotation) is not None and all(
        arg is torch.Tensor for arg in typing.get_args(annotation)
    )


def _convert_item(alternatives: tuple[Alternative, ...], value: Any) -> Any:
    for alt in alternatives:
        if alt.matches(value):
            return alt.convert(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_numeric_array(value: Any) -> bool:
    if _is_number(value):
        return math.isfinite(value)
    if isinstance(value, list) and value:
        return all(_is_numeric_array(item) for item in value)
    return False


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
