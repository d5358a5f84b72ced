"""SCAFFOLD (Karimireddy et al. 2020): control variates correct each client's drift.

The TTP keeps the global control variate `c`, each Worker its own `c_i` (its client state,
zeros at first), both shaped like the model's trainable entries. Every local step descends
along `g + c - c_i` (a gradient hook). After training from the global weights `x` to `y`,
with step sizes summing to `S` (the learning rate of every step, schedules included), the
Worker sets (the paper's option II)

    c_i+ = c_i - c + (x - y) / S

keeps `c_i+` and replies with `y` plus `c + (c_i+ - c_i)` under `extras/<entry>`. The run's
aggregate (sample-weighted mean by default) of the replies is the new global model and the new
`c`, i.e. `c + mean(c_i+ - c_i)`: the global learning rate is 1 and the mean runs over the
Workers that answered (the paper scales it by their share of all clients). The correction
assumes plain SGD steps; other optimizers rescale it. Worker-side and central DP, update
compression and contributions are refused (replies carry the control variates).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from synalgo.errors import TrainingError
from synalgo.local_training import LocalFitResult, TrainingHooks
from synalgo.strategies.base import (
    EXTRA_PREFIX,
    Aggregator,
    State,
    Strategy,
    is_optimised_entry,
)
from synalgo.strategies.fit import LocalFit

_CONTROL = "control."


def controlled(state: State) -> State:
    """The entries of `state` that carry control variates (its trainable weights)."""
    return {name: tensor for name, tensor in state.items() if is_optimised_entry(name, tensor)}


class ControlCorrection(TrainingHooks):
    """Adds `c - c_i` to every gradient and sums the learning rates of the steps taken."""

    def __init__(self, correction: State) -> None:
        self.correction = correction
        self.step_sizes = 0.0
        self._optimizer: torch.optim.Optimizer | None = None

    def start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Move the correction to the model's device; remember the optimizer's lr."""
        self._optimizer = optimizer
        devices = {name: p.device for name, p in model.named_parameters()}
        self.correction = {name: t.to(devices[name]) for name, t in self.correction.items()
                           if name in devices}

    def adjust_gradients(self, model: nn.Module) -> None:
        """g <- g + c - c_i."""
        for name, parameter in model.named_parameters():
            if parameter.grad is not None and name in self.correction:
                parameter.grad.add_(self.correction[name])
        if self._optimizer is not None:
            self.step_sizes += float(self._optimizer.param_groups[0]["lr"])


class Scaffold(Strategy):
    """SCAFFOLD: FedAvg on the weights plus control variates that cancel client drift."""

    name = "SCAFFOLD"

    def reset_server_state(self) -> None:
        """The global control variate `c` starts empty (zeros)."""
        self.control: State = {}

    @classmethod
    def check_run(cls, run: dict[str, Any]) -> dict[str, str]:
        """Replies carry control variates next to the weights: they are neither noised,
        compressed nor used as coalition models."""
        problems: dict[str, str] = {}
        if run.get("dp") is not None:
            problems["dp"] = ("SCAFFOLD corrects every local step and replies with control "
                              "variates, which neither DP mode accounts for")
        if run.get("update_compression", "none") != "none":
            problems["update_compression"] = ("SCAFFOLD replies carry control variates besides "
                                              "the weights: only \"none\" applies")
        if run.get("contribution") is True:
            problems["contribution"] = ("SCAFFOLD replies carry control variates besides the "
                                        "weights: contributions are not measured")
        return problems

    # ----- server half -------------------------------------------------------------------
    def _global_control(self, global_state: State) -> State:
        return {name: self.control.get(name, torch.zeros_like(tensor))
                for name, tensor in controlled(global_state).items()}

    def fit_tensors(self, participant_id: str | None = None) -> State:
        """The global control variate (none before the first round: zeros)."""
        return {EXTRA_PREFIX + name: tensor for name, tensor in self.control.items()}

    def reply_template(self, global_state: State) -> State:
        """The weights plus `extras/<entry>`, each Worker's view of the new control variate."""
        control = self._global_control(global_state)
        return {**global_state, **{EXTRA_PREFIX + name: t for name, t in control.items()}}

    def finish_round(self, global_state: State, aggregator: Aggregator) -> State:
        """The aggregate's weights are the new model, its control entries the new `c`."""
        aggregate = aggregator.result(like=self.reply_template(global_state))
        self.control = {name[len(EXTRA_PREFIX):]: tensor for name, tensor in aggregate.items()
                        if name.startswith(EXTRA_PREFIX)}
        return {name: aggregate[name] for name in global_state}

    def state_dict(self) -> State:
        """The global control variate, keyed `control.<entry>`."""
        return {_CONTROL + name: t.clone() for name, t in self.control.items()}

    def load_state_dict(self, state: State) -> None:
        """Restore the global control variate."""
        self.control = {name[len(_CONTROL):]: t for name, t in state.items()
                        if name.startswith(_CONTROL)}

    # ----- client half -------------------------------------------------------------------
    def client_state_template(self, model: nn.Module) -> State:
        """The Worker keeps its control variate `c_i`, shaped like the trainable weights."""
        return controlled(model.state_dict())

    def fit(self, fit: LocalFit) -> LocalFitResult:
        """Corrected local training; the payload adds this Worker's control update."""
        start = {name: t.detach().clone()
                 for name, t in controlled(fit.required_global_state(self.name)).items()}
        control = _matching("the global control variate", fit.tensors, start)
        own = _matching("this Worker's control variate", fit.client_state or {}, start)
        hook = ControlCorrection({name: control[name] - own[name] for name in start})
        result = fit.train([hook])
        updated = {name: own[name] - control[name]
                   + (start[name] - result.state[name]) / hook.step_sizes for name in start}
        result.payload = {**result.state, **{
            EXTRA_PREFIX + name: control[name] + updated[name] - own[name] for name in start}}
        result.client_state = updated
        return result


def _matching(what: str, given: State, like: State) -> State:
    """`given` checked against the trainable weights (zeros where it is empty)."""
    if not given:
        return {name: torch.zeros_like(tensor) for name, tensor in like.items()}
    unknown = sorted(set(given) - set(like))
    missing = sorted(set(like) - set(given))
    if unknown or missing:
        raise TrainingError(f"{what} does not fit the model: unknown {unknown[:3]}, "
                            f"missing {missing[:3]}")
    for name, tensor in like.items():
        if tuple(given[name].shape) != tuple(tensor.shape):
            raise TrainingError(f"{what}: tensor {name!r} has shape {list(given[name].shape)}, "
                                f"the model's is {list(tensor.shape)}")
    return {name: given[name].to(tensor.dtype) for name, tensor in like.items()}
