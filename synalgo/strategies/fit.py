"""`LocalFit`: the arguments of one client's local fit, gathered once for every strategy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from synalgo.errors import TrainingError
from synalgo.local_training import LocalFitResult, TrainingHooks, train_locally
from synalgo.state import State


@dataclass
class LocalFit:
    """What a Worker hands a strategy for one local fit (see `Strategy.fit_locally`)."""

    run: dict[str, Any]
    model: nn.Module
    X: torch.Tensor
    y: torch.Tensor
    action: str
    n_classes: int
    global_state: State | None = None
    config: dict[str, Any] = field(default_factory=dict)
    tensors: State = field(default_factory=dict)
    client_state: State | None = None

    @property
    def seed(self) -> int:
        """This round's seed from the fit config (the run's seed when absent)."""
        return int(self.config.get("seed", self.run["seed"]))

    def required_global_state(self, strategy_name: str) -> State:
        """The global weights, which a weight-training strategy cannot fit without."""
        if self.global_state is None:
            raise TrainingError(f"{strategy_name} trains from the global weights: none were sent")
        return self.global_state

    def train(self, hooks: Sequence[TrainingHooks] = ()) -> LocalFitResult:
        """Standard local training from the global weights with `hooks`."""
        return train_locally(
            self.model, self.X, self.y, self.run, self.action, self.n_classes,
            global_state=self.global_state, seed=self.seed, hooks=hooks,
        )
