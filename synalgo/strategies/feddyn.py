"""FedDyn, federated learning with dynamic regularisation (Acar et al. 2021).

Each Worker keeps `g_i`, its estimate of its loss gradient at its last local model (its client
state, zeros at first), and minimises, from the global weights `x`,

    L_i(w) - <g_i, w> + feddyn_alpha/2 * ||w - x||^2

(the linear term as a gradient hook, the quadratic one as a loss term like FedProx's), then
sets `g_i <- g_i - feddyn_alpha * (w - x)` and replies with `w` like FedAvg. The TTP keeps
`h`: with `m` the run's aggregate of the replies (sample-weighted mean by default),

    h <- h - feddyn_alpha * (m - x);    x <- m - h / feddyn_alpha

over the trainable entries (BatchNorm statistics take `m`). The paper averages over all
clients, unweighted; here over the Workers that answered, with the run's aggregator.
The run field is `feddyn_alpha`: `alpha` is FedGKT's distillation weight. Worker-side DP is
refused (its DP-SGD loop has no hooks).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from synalgo.errors import TrainingError
from synalgo.hyperparameters import Hyperparameter, number
from synalgo.local_training import LocalFitResult, ProximalTerm, TrainingHooks
from synalgo.state import State
from synalgo.strategies.base import Aggregator, Strategy, is_optimised_entry, update_optimised
from synalgo.strategies.fit import LocalFit

_CORRECTION = "correction."


class LinearCorrection(TrainingHooks):
    """Adds `-g_i` to every gradient: the gradient of `-<g_i, w>`."""

    def __init__(self, gradient: State) -> None:
        self.gradient = gradient

    def start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Move `g_i` to the model's device."""
        devices = {name: p.device for name, p in model.named_parameters()}
        self.gradient = {name: t.to(devices[name]) for name, t in self.gradient.items()
                         if name in devices}

    def adjust_gradients(self, model: nn.Module) -> None:
        """g <- g - g_i."""
        for name, parameter in model.named_parameters():
            if parameter.grad is not None and name in self.gradient:
                parameter.grad.sub_(self.gradient[name])


class FedDyn(Strategy):
    """FedDyn: a dynamic regulariser per Worker, a corrected average on the TTP."""

    name = "FedDyn"
    hyperparameters = (
        Hyperparameter("feddyn_alpha", 0.01, number(0.0, low_open=True),
                       description="FedDyn regularisation coefficient"),
    )

    def reset_server_state(self) -> None:
        """The server's `h` starts empty (zeros)."""
        self.correction: State = {}

    @classmethod
    def check_run(cls, run: dict[str, Any]) -> dict[str, str]:
        """Worker-side DP trains without FedDyn's terms."""
        dp = run.get("dp")
        if isinstance(dp, dict) and dp.get("mode") == "worker":
            return {"dp": "FedDyn's local terms are not part of Worker-side DP-SGD; use "
                          "central DP"}
        return {}

    @property
    def alpha(self) -> float:
        """The run's `feddyn_alpha`."""
        return float(self.run["feddyn_alpha"])

    # ----- server half -------------------------------------------------------------------
    def finish_round(self, global_state: State, aggregator: Aggregator) -> State:
        """Update `h` from the round's mean and move the model by `-h / alpha`."""
        return update_optimised(global_state, aggregator.result(like=global_state),
                                self._corrected)

    def _corrected(self, name: str, current: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        h = self.correction.get(name, torch.zeros_like(mean)) - self.alpha * (mean - current)
        self.correction[name] = h
        return mean - h / self.alpha

    def state_dict(self) -> State:
        """The server's `h`, keyed `correction.<entry>`."""
        return {_CORRECTION + name: t.clone() for name, t in self.correction.items()}

    def load_state_dict(self, state: State) -> None:
        """Restore `h`."""
        self.correction = {name[len(_CORRECTION):]: t.to(torch.float64)
                           for name, t in state.items() if name.startswith(_CORRECTION)}

    # ----- client half -------------------------------------------------------------------
    def client_state_template(self, model: nn.Module) -> State:
        """The Worker keeps `g_i`, shaped like the trainable weights."""
        return {name: t for name, t in model.state_dict().items() if is_optimised_entry(name, t)}

    def fit(self, fit: LocalFit) -> LocalFitResult:
        """Regularised local training; the new `g_i` stays on the Worker."""
        start = {name: t.detach().clone()
                 for name, t in fit.required_global_state(self.name).items()
                 if is_optimised_entry(name, t)}
        gradient = {name: torch.zeros_like(t) for name, t in start.items()}
        if fit.client_state:
            if set(fit.client_state) != set(start):
                raise TrainingError("this Worker's FedDyn state does not fit the model")
            gradient = {name: fit.client_state[name].to(t.dtype) for name, t in start.items()}
        result = fit.train([LinearCorrection(gradient), ProximalTerm(self.alpha)])
        result.client_state = {name: gradient[name] - self.alpha * (result.state[name] - x)
                               for name, x in start.items()}
        return result
