"""Model states as the flat vectors the protocol masks: the floating-point entries, by name.

Integer entries (BatchNorm's `num_batches_tracked`) are counters, not weights: they are not
aggregated under secure aggregation and keep the global model's value.
"""

from __future__ import annotations

import numpy as np
import torch

from synalgo.state import State


def vector_names(state: State) -> list[str]:
    """The floating-point entries of `state`, in name order (both ends agree on it)."""
    return sorted(name for name, tensor in state.items() if tensor.is_floating_point())


def vector_length(state: State) -> int:
    """How many values the masked vector of `state` has."""
    return sum(state[name].numel() for name in vector_names(state))


def delta_vector(local: State, reference: State) -> np.ndarray:
    """`local - reference` over the floating-point entries, flattened (float64)."""
    names = vector_names(reference)
    if not names:
        return np.zeros(0)
    return np.concatenate([(local[name].detach().double() - reference[name].double())
                           .reshape(-1).numpy() for name in names])


def apply_delta(reference: State, delta: np.ndarray) -> State:
    """`reference` plus a flat `delta` on its floating-point entries (others unchanged)."""
    result = dict(reference)
    offset = 0
    for name in vector_names(reference):
        tensor = reference[name]
        size = tensor.numel()
        change = torch.from_numpy(delta[offset:offset + size]).reshape(tensor.shape)
        result[name] = (tensor.double() + change).to(tensor.dtype)
        offset += size
    return result
