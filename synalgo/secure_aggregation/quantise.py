"""Clipping, unbiased stochastic quantisation to unsigned integers, and back."""

from __future__ import annotations

import numpy as np

from synalgo.secure_aggregation.params import SecAggParams


def quantise(values: np.ndarray, params: SecAggParams,
             generator: np.random.Generator | None = None) -> np.ndarray:
    """`values` clipped to [-clip, clip] and mapped to {0, ..., 2^bits - 1} as uint32, rounded
    up with probability equal to the remainder (so the expectation is the clipped value)."""
    rng = generator or np.random.default_rng()
    scaled = np.clip(np.asarray(values, dtype=np.float64), -params.clip, params.clip)
    scaled += params.clip
    scaled /= params.step
    scaled += rng.random(scaled.shape)  # floor(v + U[0, 1)) rounds up with probability frac(v)
    np.floor(scaled, out=scaled)
    np.minimum(scaled, params.levels, out=scaled)
    return scaled.astype(np.uint32)


def dequantise_sum(total: np.ndarray, n_summed: int, params: SecAggParams) -> np.ndarray:
    """The float sum of `n_summed` quantised vectors whose integer sum is `total`."""
    return total.astype(np.float64) * params.step - n_summed * params.clip
