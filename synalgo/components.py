"""Build the optimizer, criterion and LR scheduler a normalised run asks for.

Each builder passes only the constructor arguments present in the run (pass-through fields,
converted by `synalgo.signatures`), plus:
* optimizer: `lr`, and `weight_decay` (forced to 0 when `l2_lambda` > 0,
  so the L2 penalty is not applied twice);
* CyclicLR: `base_lr` defaults to `lr` and `max_lr` to 10 x `lr`; `cycle_momentum` defaults
  to False for optimizers without momentum or betas (Adagrad, Adadelta);
* OneCycleLR: `max_lr` defaults to 10 x `lr`, `total_steps` to `epochs` + 1 (stepped per epoch);
* CosineAnnealingLR: `T_max` defaults to `epochs`;
* LambdaLR: multiplier `1 / (1 + lr_decay * epoch)` (a multiplier of lr, not an lr).
Schedulers are stepped once per local epoch by `synalgo.local_training`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from synalgo.errors import RunConfigError
from synalgo.run_fields import (
    CRITERION_ALLOW_LIST,
    OPTIMIZER_ALLOW_LIST,
    SCHEDULER_ALLOW_LIST,
)
from synalgo.signatures import constructor_rules


class InverseTimeDecay:
    """LambdaLR multiplier `1 / (1 + decay * epoch)`."""

    def __init__(self, decay: float) -> None:
        self.decay = float(decay)

    def __call__(self, epoch: int) -> float:
        """The factor applied to the base learning rate at `epoch`."""
        return 1.0 / (1.0 + self.decay * epoch)


def optimizer_class(run: dict[str, Any]) -> type[torch.optim.Optimizer]:
    """The `torch.optim` class named by `run["optimizer"]` (allow-listed)."""
    return getattr(torch.optim, _allowed(run, "optimizer", OPTIMIZER_ALLOW_LIST))


def criterion_class(run: dict[str, Any]) -> type[nn.Module]:
    """The `torch.nn` loss class named by `run["criterion"]` (allow-listed)."""
    return getattr(nn, _allowed(run, "criterion", CRITERION_ALLOW_LIST))


def scheduler_class(run: dict[str, Any]) -> type | None:
    """The `torch.optim.lr_scheduler` class named by `run["lr_scheduler"]`, or None."""
    if not run.get("lr_scheduler"):
        return None
    return getattr(torch.optim.lr_scheduler, _allowed(run, "lr_scheduler", SCHEDULER_ALLOW_LIST))


def pass_through_kwargs(cls: type, run: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments of `cls` given as (non-reserved) run fields, converted."""
    # the reserved fields include the strategies' own, and strategies build on this module
    from synalgo.run_config import RESERVED_FIELDS

    kwargs: dict[str, Any] = {}
    for name, rule in constructor_rules(cls).items():
        if name in run and name not in RESERVED_FIELDS:
            kwargs[name] = rule.convert(run[name])
    return kwargs


def build_optimizer(
    run: dict[str, Any], params: Iterable[torch.Tensor] | Iterable[dict[str, Any]]
) -> torch.optim.Optimizer:
    """The run's optimizer over `params`."""
    cls = optimizer_class(run)
    kwargs = pass_through_kwargs(cls, run)
    kwargs["lr"] = float(run["lr"])
    if "weight_decay" in constructor_rules(cls):
        kwargs["weight_decay"] = 0.0 if run.get("l2_lambda", 0.0) > 0 else run["weight_decay"]
    return cls(params, **kwargs)


def build_criterion(run: dict[str, Any]) -> nn.Module:
    """The run's loss module."""
    cls = criterion_class(run)
    return cls(**pass_through_kwargs(cls, run))


def build_scheduler(run: dict[str, Any], optimizer: torch.optim.Optimizer) -> Any | None:
    """The run's LR scheduler on `optimizer`, or None when `lr_scheduler` is null/empty."""
    cls = scheduler_class(run)
    if cls is None:
        return None
    kwargs = pass_through_kwargs(cls, run)
    lr = float(run["lr"])
    name = cls.__name__
    if name in ("CyclicLR", "OneCycleLR"):
        kwargs.setdefault("max_lr", 10.0 * lr)
        if "cycle_momentum" not in kwargs and not _has_momentum(optimizer):
            kwargs["cycle_momentum"] = False
    if name == "CyclicLR":
        kwargs.setdefault("base_lr", lr)
    elif name == "OneCycleLR":
        kwargs.setdefault("total_steps", int(run["epochs"]) + 1)
    elif name == "CosineAnnealingLR":
        kwargs.setdefault("T_max", int(run["epochs"]))
    elif name == "LambdaLR":
        kwargs["lr_lambda"] = InverseTimeDecay(run["lr_decay"])
    return cls(optimizer, **kwargs)


def auto_filled_scheduler_arguments(scheduler_name: str) -> frozenset[str]:
    """Required scheduler arguments that `build_scheduler` supplies when the run omits them."""
    return {
        "CyclicLR": frozenset({"base_lr", "max_lr"}),
        "OneCycleLR": frozenset({"max_lr"}),
        "CosineAnnealingLR": frozenset({"T_max"}),
        "LambdaLR": frozenset({"lr_lambda"}),
    }.get(scheduler_name, frozenset())


def scheduler_needs_metric(scheduler: Any) -> bool:
    """Whether `scheduler.step` takes the epoch loss (ReduceLROnPlateau)."""
    return isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)


def step_scheduler(scheduler: Any | None, epoch_loss: float) -> None:
    """Step a scheduler once after an epoch (ReduceLROnPlateau gets the epoch loss)."""
    if scheduler is None:
        return
    if scheduler_needs_metric(scheduler):
        scheduler.step(epoch_loss)
    else:
        scheduler.step()


def _allowed(run: dict[str, Any], field: str, allowed: tuple[str, ...]) -> str:
    name = run.get(field)
    if name not in allowed:
        raise RunConfigError(f"{field} {name!r} is not allowed; use one of {', '.join(allowed)}")
    return name


def _has_momentum(optimizer: torch.optim.Optimizer) -> bool:
    return "momentum" in optimizer.defaults or "betas" in optimizer.defaults
