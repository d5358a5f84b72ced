"""The FedOpt family: a server optimiser on the aggregated update (Reddi et al. 2021).

Each round the clients' weighted mean `aggregate` gives the pseudo-gradient
`delta = aggregate - global`, and for every trainable floating-point entry:

* FedAvgM  (Hsu et al. 2019): m = server_momentum * m + delta;  x += server_lr * m
* FedAdagrad: m = beta_1 * m + (1 - beta_1) * delta;  v = v + delta^2
* FedAdam:    m as above;  v = beta_2 * v + (1 - beta_2) * delta^2
* FedYogi:    m as above;  v = v - (1 - beta_2) * delta^2 * sign(v - delta^2)
  and for the three adaptive ones x += server_lr * m / (sqrt(v) + tau)

m starts at 0 and v at tau^2 (Reddi et al., Algorithm 2), without bias correction.
Integer entries and BatchNorm running statistics (names ending in `running_mean`,
`running_var`, `num_batches_tracked`) are not optimised: they take the aggregate as is.
"""

from __future__ import annotations

import torch

from synalgo.errors import AggregationError
from synalgo.hyperparameters import Hyperparameter, number
from synalgo.state import State
from synalgo.strategies.base import Aggregator, Strategy, update_optimised

_MOMENTUM = "momentum."
_VARIANCE = "variance."


SERVER_OPTIMISER_FIELDS = (
    Hyperparameter("server_lr", 1.0, number(0.0, low_open=True),
                   description="server learning rate"),
    Hyperparameter("server_momentum", 0.9, number(0.0, 1.0, high_open=True),
                   description="server momentum (FedAvgM)"),
    Hyperparameter("beta_1", 0.9, number(0.0, 1.0, high_open=True),
                   description="first-moment decay of the adaptive server optimisers"),
    Hyperparameter("beta_2", 0.99, number(0.0, 1.0, high_open=True),
                   description="second-moment decay (FedAdam, FedYogi)"),
    Hyperparameter("tau", 1e-3, number(0.0, low_open=True),
                   description="adaptivity constant added to sqrt(v); v starts at tau^2"),
)


class FedOptStrategy(Strategy):
    """Shared server-optimiser machinery; subclasses define the moment updates."""

    adaptive = True
    hyperparameters = SERVER_OPTIMISER_FIELDS

    def reset_server_state(self) -> None:
        """The server optimiser's moments start empty."""
        self.momentum: State = {}
        self.variance: State = {}

    def finish_round(self, global_state: State, aggregator: Aggregator) -> State:
        """Apply the server optimiser step to the round's aggregate."""
        return update_optimised(
            global_state, aggregator.result(like=global_state),
            lambda name, current, mean: current + self._step(name, mean - current))

    def _step(self, name: str, delta: torch.Tensor) -> torch.Tensor:
        run = self.run
        lr = float(run["server_lr"])
        if not self.adaptive:
            m = self.momentum.get(name, torch.zeros_like(delta))
            m = float(run["server_momentum"]) * m + delta
            self.momentum[name] = m
            return lr * m
        beta_1, tau = float(run["beta_1"]), float(run["tau"])
        m = self.momentum.get(name, torch.zeros_like(delta))
        m = beta_1 * m + (1.0 - beta_1) * delta
        v = self.variance.get(name, torch.full_like(delta, tau * tau))
        v = self._second_moment(v, delta * delta)
        self.momentum[name], self.variance[name] = m, v
        return lr * m / (v.sqrt() + tau)

    def _second_moment(self, v: torch.Tensor, delta_sq: torch.Tensor) -> torch.Tensor:
        raise AggregationError(f"{self.name} has no second-moment rule")

    def state_dict(self) -> State:
        """Momentum and variance tensors, keyed `momentum.<entry>` / `variance.<entry>`."""
        state = {_MOMENTUM + name: t.clone() for name, t in self.momentum.items()}
        state.update({_VARIANCE + name: t.clone() for name, t in self.variance.items()})
        return state

    def load_state_dict(self, state: State) -> None:
        """Restore momentum/variance saved by `state_dict`."""
        self.momentum = {
            k[len(_MOMENTUM):]: v.to(torch.float64) for k, v in state.items()
            if k.startswith(_MOMENTUM)
        }
        self.variance = {
            k[len(_VARIANCE):]: v.to(torch.float64) for k, v in state.items()
            if k.startswith(_VARIANCE)
        }
        unknown = [k for k in state if not k.startswith((_MOMENTUM, _VARIANCE))]
        if unknown:
            raise AggregationError(f"unexpected {self.name} state entries: {unknown[:5]}")


class FedAvgM(FedOptStrategy):
    """Server momentum (Hsu et al. 2019)."""

    name = "FedAvgM"
    adaptive = False


class FedAdagrad(FedOptStrategy):
    """Adagrad on the server: v accumulates delta^2."""

    name = "FedAdagrad"

    def _second_moment(self, v: torch.Tensor, delta_sq: torch.Tensor) -> torch.Tensor:
        return v + delta_sq


class FedAdam(FedOptStrategy):
    """Adam on the server: exponential moving average of delta^2."""

    name = "FedAdam"

    def _second_moment(self, v: torch.Tensor, delta_sq: torch.Tensor) -> torch.Tensor:
        beta_2 = float(self.run["beta_2"])
        return beta_2 * v + (1.0 - beta_2) * delta_sq


class FedYogi(FedOptStrategy):
    """Yogi on the server: additive, sign-controlled update of v."""

    name = "FedYogi"

    def _second_moment(self, v: torch.Tensor, delta_sq: torch.Tensor) -> torch.Tensor:
        beta_2 = float(self.run["beta_2"])
        return v - (1.0 - beta_2) * delta_sq * torch.sign(v - delta_sq)
