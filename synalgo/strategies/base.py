"""The `Strategy` base class: a server half (aggregate) and a client half (fit locally).

Federated cycle, as the TTP and the Worker drive it (Flower-style):

    strategy = get_strategy(run, spec=spec, n_classes=K)
    state = strategy.initial_global_state(seed)                     # TTP, once
    for round_index in range(run["rounds"]):
        config = strategy.configure_fit(state, round_index, pid)     # JSON for each client
        tensors = strategy.fit_tensors(pid)                         # extra tensors per client
        # Worker: model = strategy.build_client_model(spec, X, K, seed)
        #         weights, extras = strategy.split_fit_tensors(received)
        #         result = strategy.fit_locally(model, X, y, action, K, weights, config,
        #                                       extras, client_state)
        #         keeps result.client_state for its next fit (when not None) and
        #         returns result.payload (+ n_samples, loss) to the TTP
        aggregator = strategy.start_round(state)
        aggregator.add(payload, n_samples, participant_id=pid)       # per answering client
        state = strategy.finish_round(state, aggregator)
    checkpoint: state plus strategy.state_dict() (server optimiser state)

Weight-averaging strategies send the global weights to clients (`sends_global_weights`);
the base implementation is FedAvg with the robust aggregator chosen by `run["aggregator"]`.
A strategy extends it in one module: its own run fields (`hyperparameters`, `check_run`),
local-training hooks (`training_hooks`: a loss term, a gradient correction), state a Worker
keeps across rounds (`client_state_template`, `LocalFitResult.client_state`), tensors the TTP
sends besides the weights (`fit_tensors`, named under `EXTRA_PREFIX`) and tensors a reply
carries besides them (`reply_template`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from synalgo.aggregation import (
    CollectingAggregator,
    WeightedMeanAccumulator,
    coordinate_median,
    krum,
    trimmed_mean,
)
from synalgo.hyperparameters import Hyperparameter
from synalgo.local_training import LocalFitResult, ProximalTerm, TrainingHooks
from synalgo.model_spec import build_model
from synalgo.state import State
from synalgo.strategies.fit import LocalFit

# Names of the tensors a fit body or reply carries besides the model's (a module path never
# holds "/").
EXTRA_PREFIX = "extras/"
BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def is_optimised_entry(name: str, tensor: torch.Tensor) -> bool:
    """Whether a state entry is a trainable weight (floating point, not a BatchNorm
    statistic): what server optimisers and control variates act on."""
    return tensor.is_floating_point() and not name.endswith(BUFFER_SUFFIXES)


def update_optimised(
    global_state: State,
    aggregate: State,
    update: Callable[[str, torch.Tensor, torch.Tensor], torch.Tensor],
) -> State:
    """The new global state: `update(name, current, aggregated)`, in float64 and cast back,
    for each trainable weight; the aggregate itself for the other entries."""
    updated: State = {}
    for name, current in global_state.items():
        if not is_optimised_entry(name, current):
            updated[name] = aggregate[name]
            continue
        step = update(name, current.to(torch.float64), aggregate[name].to(torch.float64))
        updated[name] = step.to(current.dtype)
    return updated


class Aggregator(Protocol):
    """What `start_round` returns: fold client payloads, then produce the round's result."""

    n_updates: int

    def add(self, state: State, n_samples: int, participant_id: str | None = None) -> None:
        """Fold one client's payload."""

    def result(self, like: State | None = None) -> State:
        """The aggregate of everything added."""


class Strategy:
    """Base strategy (FedAvg semantics); subclasses override the parts that differ."""

    name = "FedAvg"
    sends_global_weights = True
    # the run fields only this strategy reads (collected by `synalgo.run_config`)
    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = ()

    @classmethod
    def check_run(cls, run: dict[str, Any]) -> dict[str, str]:
        """Problems (field -> message) of a run, with its fields filled and checked one by
        one, that only this strategy rules out (combinations it cannot serve)."""
        return {}

    def __init__(
        self,
        run: dict[str, Any],
        spec: list[dict[str, Any]] | None = None,
        n_classes: int | None = None,
    ) -> None:
        self.run = run
        self.spec = spec
        self.n_classes = n_classes
        self.reset_server_state()

    def reset_server_state(self) -> None:
        """Set up the server-side state a fresh strategy starts from (none for FedAvg);
        a strategy with state overrides it instead of the constructor."""

    # ----- server half -------------------------------------------------------------------
    def initial_global_state(self, seed: int | None = None) -> State:
        """The round-0 global state: the spec's model, initialised with `seed` (run seed)."""
        if self.spec is None:
            raise ValueError(f"{self.name} needs the model spec to build the initial state")
        model = build_model(self.spec, seed=self.run["seed"] if seed is None else seed)
        return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}

    def configure_fit(
        self, global_state: State, round_index: int, participant_id: str | None = None
    ) -> dict[str, Any]:
        """JSON-compatible instructions for one client's local fit in `round_index`."""
        return {
            "algorithm": self.name,
            "round": int(round_index),
            "seed": int(self.run["seed"]) + int(round_index),
            "proximal_mu": self.proximal_mu,
        }

    def fit_tensors(self, participant_id: str | None = None) -> State:
        """Tensors a client needs besides the global state (none for FedAvg); a strategy that
        sends the global weights names them under `EXTRA_PREFIX`."""
        return {}

    def reply_template(self, global_state: State) -> State:
        """The tensors (names, shapes, dtypes) every fit reply must carry; the TTP checks,
        bounds and aggregates replies against it (the global weights for FedAvg)."""
        return global_state

    def start_round(self, global_state: State) -> Aggregator:
        """A fresh aggregator for this round, chosen by `run["aggregator"]`."""
        choice = self.run.get("aggregator", "mean")
        if choice == "mean":
            return WeightedMeanAccumulator()
        if choice == "median":
            return CollectingAggregator(coordinate_median)
        if choice == "trimmed_mean":
            return CollectingAggregator(
                functools.partial(trimmed_mean, trim_ratio=float(self.run["trim_ratio"]))
            )
        if choice == "krum":
            return CollectingAggregator(
                functools.partial(krum, byzantine=int(self.run["krum_byzantine"]))
            )
        raise ValueError(f"unknown aggregator {choice!r}")

    def finish_round(self, global_state: State, aggregator: Aggregator) -> State:
        """The new global state from this round's aggregate."""
        return aggregator.result(like=global_state)

    def aggregate(self, global_state: State, updates: Iterable[tuple[State, int]]) -> State:
        """Convenience: one whole round's server half over `(state, n_samples)` pairs."""
        aggregator = self.start_round(global_state)
        for state, n_samples in updates:
            aggregator.add(state, n_samples)
        return self.finish_round(global_state, aggregator)

    def state_dict(self) -> State:
        """Server-side optimiser state to checkpoint (empty when stateless)."""
        return {}

    def load_state_dict(self, state: State) -> None:
        """Restore what `state_dict` returned (to resume from a checkpoint)."""

    # ----- client half -------------------------------------------------------------------
    @property
    def proximal_mu(self) -> float:
        """Coefficient of the FedProx proximal term used by clients (0 = none)."""
        return 0.0

    def training_hooks(self, global_state: State | None) -> list[TrainingHooks]:
        """Hooks of one local training (FedProx's proximal term when `mu` > 0)."""
        if self.proximal_mu > 0 and global_state is not None:
            return [ProximalTerm(self.proximal_mu)]
        return []

    def split_fit_tensors(self, tensors: State) -> tuple[State, State]:
        """`(global weights, extras)` of a fit body as the client received it; the extras
        lose their `EXTRA_PREFIX`."""
        if not self.sends_global_weights:
            return {}, dict(tensors)
        extras = {name[len(EXTRA_PREFIX):]: tensor for name, tensor in tensors.items()
                  if name.startswith(EXTRA_PREFIX)}
        weights = {name: tensor for name, tensor in tensors.items()
                   if not name.startswith(EXTRA_PREFIX)}
        return weights, extras

    def client_state_template(self, model: nn.Module) -> State | None:
        """What a Worker keeps across this run's rounds (names and shapes; the stored state
        is reloaded only when it fits), or None when it keeps nothing."""
        return None

    def build_client_model(
        self,
        spec: list[dict[str, Any]],
        sample_x: torch.Tensor,
        n_classes: int,
        seed: int | None = None,
    ) -> nn.Module:
        """The model a client trains (the spec's model for weight strategies)."""
        return build_model(spec, seed=self.run["seed"] if seed is None else seed)

    def fit_locally(
        self,
        model: nn.Module,
        X: torch.Tensor,  # noqa: N803 - the conventional name of a feature matrix
        y: torch.Tensor,
        action: str,
        n_classes: int,
        global_state: State | None = None,
        config: dict[str, Any] | None = None,
        tensors: State | None = None,
        client_state: State | None = None,
    ) -> LocalFitResult:
        """Local training on a client; `payload` of the result goes back to the server and
        its `client_state` stays on the client for the next fit (`client_state` here).
        Strategies override `fit`, which gets these arguments as one `LocalFit`."""
        return self.fit(LocalFit(
            self.run, model, X, y, action, n_classes, global_state=global_state,
            config=config or {}, tensors=tensors or {}, client_state=client_state,
        ))

    def fit(self, fit: LocalFit) -> LocalFitResult:
        """One local fit: standard training with this strategy's `training_hooks`."""
        return fit.train(self.training_hooks(fit.global_state))
