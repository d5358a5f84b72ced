"""Compressed model updates (run field `update_compression`).

A Worker sends the delta of its local model against the global model it received, as
`float16` or as per-tensor scaled `int8` with stochastic rounding; what rounding lost is
kept on the Worker (error feedback) and added to its next delta, so the error does not
accumulate. The TTP turns a reply back into float32 weights (`expand_update`) before any
check, clip or fold. Non-floating tensors (counters) travel unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from synalgo.state import State

MODES: tuple[str, ...] = ("none", "float16", "int8")
WIRE_DTYPES: dict[str, torch.dtype] = {"float16": torch.float16, "int8": torch.int8}
INT8_LEVELS = 127
HEADER_KEY = "compression"


def wire_dtype(mode: str, model_dtype: torch.dtype) -> torch.dtype:
    """The dtype a tensor of `model_dtype` travels as under `mode`."""
    if mode == "none" or not model_dtype.is_floating_point:
        return model_dtype
    return WIRE_DTYPES[mode]


def compress_update(local: State, received: State, mode: str, residual: State,
                    generator: torch.Generator | None = None) -> tuple[State, dict[str, Any]]:
    """`(tensors, header entry)` of the update `local - received` (plus `residual`, which is
    updated in place with what this compression lost)."""
    tensors: State = {}
    scales: dict[str, float] = {}
    for name, value in local.items():
        if not value.is_floating_point():
            tensors[name] = value
            continue
        delta = value.float() - received[name].float()
        if name in residual:
            delta = delta + residual[name]
        if mode == "float16":
            sent = delta.to(torch.float16)
            restored = sent.float()
        else:
            scale = float(delta.abs().max()) / INT8_LEVELS if delta.numel() else 0.0
            scale = scale if scale > 0 and math.isfinite(scale) else 1.0
            noise = torch.rand(delta.shape, generator=generator)
            sent = torch.floor(delta / scale + noise).clamp_(-INT8_LEVELS, INT8_LEVELS)
            sent = sent.to(torch.int8)
            restored = sent.float() * scale
            scales[name] = scale
        residual[name] = delta - restored
        tensors[name] = sent
    entry: dict[str, Any] = {"mode": mode}
    if mode == "int8":
        entry["scales"] = scales
    return tensors, entry


def expand_update(tensors: State, entry: Any, mode: str, global_state: State) -> State:
    """The float32 weights a compressed reply stands for; `ValueError` naming the problem
    when its header entry or its tensors' dtypes do not fit `mode`."""
    if not isinstance(entry, dict) or entry.get("mode") != mode:
        raise ValueError(f"the run's update_compression is {mode!r}, the reply's header says "
                         f"{entry!r}")
    scales = entry.get("scales") if mode == "int8" else {}
    if not isinstance(scales, dict):
        raise ValueError("int8 reply without a scales object")
    expanded: State = {}
    for name, value in tensors.items():
        reference = global_state.get(name)
        if reference is None or not reference.is_floating_point():
            expanded[name] = value
            continue
        if tuple(value.shape) != tuple(reference.shape):
            raise ValueError(f"tensor {name!r} has shape {list(value.shape)}, the model's is "
                             f"{list(reference.shape)}")
        expected = wire_dtype(mode, reference.dtype)
        if value.dtype != expected:
            raise ValueError(f"tensor {name!r} is {_name(value.dtype)}, {mode} updates travel "
                             f"as {_name(expected)}")
        delta = value.float()
        if mode == "int8":
            scale = scales.get(name)
            if (isinstance(scale, bool) or not isinstance(scale, int | float)
                    or not math.isfinite(scale) or scale <= 0):
                raise ValueError(f"tensor {name!r} has scale {scale!r}, not a positive number")
            delta = delta * float(scale)
        expanded[name] = (reference.float() + delta).to(reference.dtype)
    return expanded


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
