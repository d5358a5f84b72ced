"""Server-side aggregation of client states.

`WeightedMeanAccumulator` keeps one running sum per tensor (float64 by default), so memory
does not grow with the number of clients: `add(state, n_samples)` then `result(like)`. `add`
folds each tensor in place and the first `result` divides in place, so the working memory is
the float64 sums plus the state being added (or the result being built). Every
entry is aggregated, integer tensors (BatchNorm `num_batches_tracked`) and 0-d tensors
included: integers get the weighted mean rounded to the nearest integer.

The robust aggregators need every update at once (O(N) memory in the number of clients):
`coordinate_median`, `trimmed_mean` (drops the `trim_ratio` largest and smallest values per
coordinate) and `krum` (Blanchard et al. 2017: picks the update with the smallest sum of
squared distances, over the floating-point entries, to its N - f - 2 nearest neighbours).
They are unweighted by design, and NaN-safe: an update holding a non-finite value is left out
before the rule is applied (`finite_states`).
`CollectingAggregator` gives them the same add/result interface. `add` is thread-safe, so a
server may fold answers from parallel client calls as they arrive.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence

import torch

from synalgo.errors import AggregationError
from synalgo.state import State, all_finite

# what a result is cast to: a state, or the dtype of each entry
DtypeSource = Mapping[str, torch.Tensor | torch.dtype]
_FOLD_CHUNK = 1 << 16  # elements folded per slice (512 KiB of float64)


class WeightedMeanAccumulator:
    """Running n_samples-weighted mean of client states (FedAvg)."""

    def __init__(self, accumulate_dtype: torch.dtype = torch.float64) -> None:
        self.accumulate_dtype = accumulate_dtype
        self._sums: dict[str, torch.Tensor] = {}
        self._dtypes: dict[str, torch.dtype] = {}
        self._total_weight = 0
        self.n_updates = 0
        self._finalised = False
        self._lock = threading.Lock()

    def add(self, state: State, n_samples: int, participant_id: str | None = None) -> None:
        """Fold one client state, weighted by its number of training samples (thread-safe).

        Folds tensor by tensor in place (`sum += n * tensor`), so adding needs no memory
        beyond the running sums and the caller's state."""
        _check_weight(n_samples)
        with self._lock:
            if self._finalised:
                raise AggregationError("this round is already aggregated (result was taken)")
            if self._sums:
                _check_same_layout(self._sums, state)
            for name, tensor in state.items():
                source = tensor.detach().to("cpu")
                if name in self._sums:
                    _add_in_chunks(self._sums[name], source, n_samples)
                else:
                    self._sums[name] = source.to(self.accumulate_dtype, copy=True).mul_(n_samples)
                    self._dtypes[name] = tensor.dtype
            self._total_weight += n_samples
            self.n_updates += 1

    @property
    def total_samples(self) -> int:
        """Sum of the weights added so far."""
        return self._total_weight

    def result(self, like: State | None = None) -> State:
        """The weighted mean, cast to the dtypes of `like` (default: the clients' dtypes).

        The first call turns the running sums into means in place (no second float64 copy);
        later calls reuse them, and `add` is refused from then on."""
        if not self.n_updates:
            raise AggregationError("no client updates to aggregate")
        if self._total_weight <= 0:
            raise AggregationError("client updates carry no samples (total weight is 0)")
        targets = like if like is not None else self._dtypes
        with self._lock:
            _check_same_names(self._sums, targets)
            if not self._finalised:
                for total in self._sums.values():
                    total.div_(self._total_weight)
                self._finalised = True
            return {name: cast_like({name: mean}, {name: targets[name]})[name]
                    for name, mean in self._sums.items()}


class CollectingAggregator:
    """Keeps every update (O(N) memory) and applies a robust rule in `result`."""

    def __init__(self, rule: Callable[[list[State]], State]) -> None:
        self.rule = rule
        self.states: list[State] = []
        self.n_updates = 0
        self.total_samples = 0
        self._lock = threading.Lock()

    def add(self, state: State, n_samples: int, participant_id: str | None = None) -> None:
        """Store one client state (the weight is only counted); thread-safe."""
        _check_weight(n_samples)
        copy = {k: v.detach().to("cpu") for k, v in state.items()}
        with self._lock:
            if self.states:
                _check_same_layout(self.states[0], state)
            self.states.append(copy)
            self.n_updates += 1
            self.total_samples += n_samples

    def result(self, like: State | None = None) -> State:
        """The robust aggregate, cast like `like`."""
        if not self.states:
            raise AggregationError("no client updates to aggregate")
        dtypes = {name: tensor.dtype for name, tensor in self.states[0].items()}
        return cast_like(self.rule(self.states), like if like is not None else dtypes)


def coordinate_median(states: Sequence[State]) -> State:
    """Element-wise median across clients (the mean of the two middle values when N is even)."""
    states = finite_states(states)
    n = len(states)
    result: State = {}
    for name in _names(states):
        ordered = _stack(states, name).sort(dim=0).values
        result[name] = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0
    return result


def trimmed_mean(states: Sequence[State], trim_ratio: float) -> State:
    """Element-wise mean after dropping floor(trim_ratio * N) highest and lowest values."""
    if not 0.0 <= trim_ratio < 0.5:
        raise AggregationError("trim_ratio must be in [0, 0.5)")
    states = finite_states(states)
    n = len(states)
    cut = math.floor(trim_ratio * n)
    result: State = {}
    for name in _names(states):
        ordered = _stack(states, name).sort(dim=0).values
        result[name] = ordered[cut:n - cut].mean(dim=0)
    return result


def krum(states: Sequence[State], byzantine: int, selected: int = 1) -> State:
    """Krum (selected=1) or Multi-Krum (mean of the `selected` best) with f = `byzantine`."""
    states = finite_states(states)
    n = len(states)
    neighbours = n - byzantine - 2
    if byzantine < 0 or neighbours < 1:
        raise AggregationError(
            f"Krum with krum_byzantine={byzantine} needs at least {byzantine + 3} updates, "
            f"got {n}"
        )
    if not 1 <= selected <= n:
        raise AggregationError(f"Krum can select between 1 and {n} updates, not {selected}")
    names = _names(states)
    scored = [name for name in names if states[0][name].is_floating_point()] or names
    flat = torch.stack([
        torch.cat([state[name].to(torch.float64).reshape(-1) for name in scored])
        for state in states
    ])
    distances = torch.cdist(flat, flat).pow(2)
    scores = []
    for i in range(n):
        others = torch.cat([distances[i, :i], distances[i, i + 1:]])
        scores.append(float(others.sort().values[:neighbours].sum()))
    best = sorted(range(n), key=lambda i: (scores[i], i))[:selected]
    return {
        name: torch.stack([states[i][name].to(torch.float64) for i in best]).mean(dim=0)
        for name in names
    }


def finite_states(states: Sequence[State]) -> list[State]:
    """The states whose floating-point values are all finite: a robust rule never selects or
    mixes in NaN or Inf. `AggregationError` when none is left."""
    kept = [state for state in _non_empty(states) if all(
        all_finite(tensor) for tensor in state.values()
        if tensor.is_floating_point())]
    if not kept:
        raise AggregationError(f"all {len(states)} client updates hold non-finite values")
    return kept


def cast_like(values: State, like: DtypeSource) -> State:
    """Cast each tensor to the dtype of the same entry of `like` (a state or a dtype map);
    integer and boolean entries are rounded to the nearest value first."""
    _check_same_names(values, like)
    result: State = {}
    for name, value in values.items():
        target = like[name]
        target = target.dtype if isinstance(target, torch.Tensor) else target
        if not target.is_floating_point and not target.is_complex:
            value = value.round()
        result[name] = value.to(target)
    return result


def _add_in_chunks(total: torch.Tensor, source: torch.Tensor, weight: int) -> None:
    """`total += weight * source` in place; a dtype-promoting add copies its operand, so it
    goes in slices to keep that copy small."""
    flat_total = total.view(-1)
    flat_source = source.reshape(-1)
    for start in range(0, flat_total.numel(), _FOLD_CHUNK):
        end = start + _FOLD_CHUNK
        flat_total[start:end].add_(flat_source[start:end], alpha=weight)


def _check_same_names(values: State, like: DtypeSource) -> None:
    missing = set(like) ^ set(values)
    if missing:
        raise AggregationError(
            "aggregate and global state differ in entries: " + ", ".join(sorted(missing))
        )


def _stack(states: Sequence[State], name: str) -> torch.Tensor:
    return torch.stack([state[name].to(torch.float64) for state in states])


def _names(states: Sequence[State]) -> list[str]:
    return list(_non_empty(states)[0])


def _non_empty(states: Sequence[State]) -> Sequence[State]:
    if not states:
        raise AggregationError("no client updates to aggregate")
    return states


def _check_weight(n_samples: int) -> None:
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 0:
        raise AggregationError(f"n_samples must be a non-negative integer, got {n_samples!r}")


def _check_same_layout(reference: State, state: State) -> None:
    if set(reference) != set(state):
        different = sorted(set(reference) ^ set(state))
        raise AggregationError("client update has different entries: " + ", ".join(different))
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(reference[name].shape):
            raise AggregationError(
                f"client update {name!r} has shape {tuple(tensor.shape)}, "
                f"expected {tuple(reference[name].shape)}"
            )
