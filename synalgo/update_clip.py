"""Norm bounding of client updates before they are aggregated (run field `update_clip`).

A client's update is its weights minus the round's global weights, over the floating-point
entries. `update_clip` is `"auto"`, a number (a fixed L2 bound: a larger update is scaled
down to it) or None (off). Scaling keeps the direction: `global + s * (w - global)`.

`"auto"`: once at least `AUTO_MIN_UPDATES` clients answered, an update whose norm exceeds
`clip_factor` times the round's median update norm is an outlier and is scaled down to the
median norm, so it weighs no more than a typical honest update. (Scaling it only down to the
threshold would leave one outlier among N updates `clip_factor / N` times a typical update in
a direction of its choosing, which steers the mean, and more so an adaptive server optimiser
such as FedAdam that normalises the step per coordinate.) Updates within the threshold are
folded as sent, so honest rounds are unchanged.

Replies are folded as they arrive, so `"auto"` uses the median of the norms seen so far: the
first `AUTO_MIN_UPDATES - 1` updates are held until the next one arrives and are then
judged against the median of the first `AUTO_MIN_UPDATES` norms; each later update against
the median of all norms so far, itself included. Held updates are the replies themselves (not
copies), and clipping scales a reply in place, so `"auto"` costs at most two un-folded
replies next to the aggregator's sums. A round that ends with fewer answers folds its held
updates unclipped (no median is meaningful).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import torch

from synalgo.state import State

Fold = Callable[[State, int, str], None]
AUTO = "auto"
AUTO_MIN_UPDATES = 3


NORM_SLICE = 1 << 18  # elements: a slice's difference stays in cache


def update_norm(state: State, global_state: State) -> float:
    """L2 norm of `state - global_state` over the floating-point entries. Each tensor's
    difference is taken slice by slice into one small buffer and squared with a dot product,
    the slices' sums added in double precision: several times faster than `torch.dist` on a
    large model (no whole-model temporary) and closer to the exact norm."""
    total = 0.0
    for name, tensor in state.items():
        if tensor.is_floating_point():
            total += _squared_distance(tensor, global_state[name])
    return math.sqrt(total)


def _squared_distance(tensor: torch.Tensor, reference: torch.Tensor) -> float:
    values, base = tensor.detach().reshape(-1), reference.detach().reshape(-1)
    dtype = torch.promote_types(tensor.dtype, torch.float32)
    buffer = torch.empty(min(NORM_SLICE, values.numel()), dtype=dtype)
    total = 0.0
    for start in range(0, values.numel(), NORM_SLICE):
        part = buffer[:min(NORM_SLICE, values.numel() - start)]
        torch.sub(values[start:start + NORM_SLICE], base[start:start + NORM_SLICE], out=part)
        total += float(torch.dot(part, part))
    return total


def scale_update_(state: State, global_state: State, scale: float) -> State:
    """`global + scale * (state - global)` on the floating-point entries, in place (the
    reply's own buffer: no copy of the model); other entries unchanged."""
    if scale < 1.0:
        for name, tensor in state.items():
            if not tensor.is_floating_point():
                continue
            base = global_state[name]
            if scale > 0.0:
                tensor.sub_(base).mul_(scale).add_(base)
            else:  # an update of infinite norm counts for nothing (inf * 0 would be NaN)
                tensor.copy_(base)
    return state


class UpdateClipper:
    """Bounds each update's norm, then hands it to `fold(state, n_samples, participant_id)`;
    `notes` holds `{update_norm, clipped}` per participant once its update is folded.
    `add` is not thread-safe: callers fold one reply at a time; `norm` is."""

    def __init__(self, mode: Any, factor: float, global_state: State, fold: Fold) -> None:
        self.mode = mode
        self.factor = float(factor)
        self.global_state = global_state
        self._fold = fold
        self.notes: dict[str, dict[str, Any]] = {}
        self._norms: list[float] = []
        self._held: list[tuple[State, int, str, float]] = []

    @property
    def active(self) -> bool:
        """Whether updates are bounded (their norms are needed)."""
        return self.mode is not None

    def norm(self, state: State) -> float | None:
        """The update norm of `state` when updates are bounded, else None. Reads only the
        reply and the global weights, so it may run in any thread, outside the fold lock."""
        return update_norm(state, self.global_state) if self.active else None

    def add(self, state: State, n_samples: int, participant_id: str,
            norm: float | None = None) -> None:
        """Fold one update (possibly later, when `"auto"` still waits for a median); `norm`:
        its update norm when already computed (`norm`)."""
        if not self.active:
            self._fold(state, n_samples, participant_id)
            return
        if norm is None:
            norm = update_norm(state, self.global_state)
        if self.mode != AUTO:
            self._fold_bounded(state, n_samples, participant_id, norm, float(self.mode))
            return
        self._norms.append(norm)
        if len(self._norms) < AUTO_MIN_UPDATES:
            self._held.append((state, n_samples, participant_id, norm))
            return
        median = statistics.median(self._norms)
        bound = self.factor * median
        held, self._held = self._held, []
        for held_state, held_samples, held_id, held_norm in held:
            self._fold_bounded(held_state, held_samples, held_id, held_norm, bound, median)
        self._fold_bounded(state, n_samples, participant_id, norm, bound, median)

    def flush(self) -> None:
        """Fold the updates still held (too few answers for a median): unclipped."""
        held, self._held = self._held, []
        for state, n_samples, participant_id, norm in held:
            self._fold_bounded(state, n_samples, participant_id, norm, math.inf)

    def _fold_bounded(self, state: State, n_samples: int, participant_id: str, norm: float,
                      bound: float, target: float | None = None) -> None:
        """Fold the update, scaled down to norm `target` (default `bound`) when its norm
        exceeds `bound`."""
        clipped = norm > bound
        target = bound if target is None else target
        scale = (target / norm if math.isfinite(norm) else 0.0) if clipped else 1.0
        self._fold(scale_update_(state, self.global_state, scale), n_samples, participant_id)
        self.notes[participant_id] = {"update_norm": round(norm, 6), "clipped": clipped}
