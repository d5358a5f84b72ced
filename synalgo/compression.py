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

import numpy as np
import torch

from synalgo.state import State

MODES: tuple[str, ...] = ("none", "float16", "int8")
WIRE_DTYPES: dict[str, torch.dtype] = {"float16": torch.float16, "int8": torch.int8}
INT8_LEVELS = 127
SLICE = 1 << 16  # elements quantised per pass (256 KiB of float32 stays in cache)
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
        delta = _delta(value, received[name], residual.get(name))
        if mode == "float16":
            tensors[name] = delta.to(torch.float16)
            delta.sub_(tensors[name])
        else:
            tensors[name], scales[name] = quantise_int8(delta, generator)
        residual[name] = delta
    entry: dict[str, Any] = {"mode": mode}
    if mode == "int8":
        entry["scales"] = scales
    return tensors, entry


def _delta(value: torch.Tensor, received: torch.Tensor, residual: torch.Tensor | None
           ) -> torch.Tensor:
    """`value - received + residual` in float32, in the residual's own memory when it has
    the right shape (a fresh 40 MB tensor costs more in page faults than the arithmetic)."""
    if (residual is not None and residual.shape == value.shape
            and residual.dtype == torch.float32 and residual.is_contiguous()):
        return residual.add_(value).sub_(received)
    delta = torch.sub(value.float(), received.float()).contiguous()
    return delta if residual is None else delta.add_(residual)


def quantise_int8(delta: torch.Tensor, generator: torch.Generator | None = None
                  ) -> tuple[torch.Tensor, float]:
    """`(levels, scale)`: `delta` (float32, contiguous) as int8 levels of one per-tensor
    scale, stochastically rounded; `delta` is left holding what the rounding lost. Works
    through the tensor in cache-sized slices, in place, so each element comes from memory
    once, not once per operation. The rounding noise comes from numpy's PCG64 (seeded from
    `generator`), several times faster than torch's CPU generator."""
    flat = delta.view(-1)
    levels = torch.empty(flat.numel(), dtype=torch.int8)
    if not flat.numel():
        return levels.view(delta.shape), 1.0
    low, high = torch.aminmax(flat)
    scale = max(-float(low), float(high)) / INT8_LEVELS
    scale = scale if scale > 0 and math.isfinite(scale) else 1.0
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator))
    noise_source = np.random.Generator(np.random.PCG64(seed))
    noise = torch.empty(min(SLICE, flat.numel()))
    for start in range(0, flat.numel(), SLICE):
        part = flat[start:start + SLICE]
        rounded = noise[:part.numel()]
        noise_source.random(out=rounded.numpy(), dtype=np.float32)
        rounded.add_(part, alpha=1 / scale).floor_().clamp_(-INT8_LEVELS, INT8_LEVELS)
        levels[start:start + SLICE].copy_(rounded)
        part.sub_(rounded, alpha=scale)
    return levels.view(delta.shape), scale


def _restore(reference: torch.Tensor, value: torch.Tensor, scale: float) -> torch.Tensor:
    """`reference + value * scale` in float32, slice by slice (see `quantise_int8`)."""
    restored = torch.empty(reference.shape, dtype=torch.float32)
    out, sent, base = restored.view(-1), value.reshape(-1), reference.reshape(-1)
    for start in range(0, out.numel(), SLICE):
        part = out[start:start + SLICE]
        part.copy_(sent[start:start + SLICE])
        if scale != 1.0:
            part.mul_(scale)
        part.add_(base[start:start + SLICE])
    return restored


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
        scale: Any = scales.get(name) if mode == "int8" else 1.0
        if (isinstance(scale, bool) or not isinstance(scale, int | float)
                or not math.isfinite(scale) or scale <= 0):
            raise ValueError(f"tensor {name!r} has scale {scale!r}, not a positive number")
        expanded[name] = _restore(reference, value, float(scale)).to(reference.dtype)
    return expanded


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
