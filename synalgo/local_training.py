"""The client half of training: plain PyTorch on the Worker's own tensors.

`train_locally` runs the run's local epochs: mini-batches (`batch_size` None = full batch)
shuffled by a local `torch.Generator` seeded from `seed`, dropout and other randomness under a
forked RNG seeded the same way (so equal inputs give identical weights and the global RNG is
left alone), the run's optimizer/criterion/scheduler (stepped once per epoch;
ReduceLROnPlateau receives the epoch loss), and the surrogate loss

    criterion + mu/2 * sum ||w - w_global||^2 + l1_lambda * sum |w| + l2_lambda/2 * sum w^2

over the model's parameters (the proximal term only when `proximal_mu` > 0 and a global state
is given). The epoch loss is the sample-weighted mean of the batch surrogate losses. Local early
stopping follows the reference: score = -loss, an epoch improves when score >= best + delta,
and training stops after `patience` epochs without improvement.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from synalgo.components import (
    build_criterion,
    build_optimizer,
    build_scheduler,
    step_scheduler,
)
from synalgo.errors import TrainingError
from synalgo.seeding import seeded_rng
from synalgo.targets import format_targets


@dataclass
class LocalFitResult:
    """Outcome of local training; `payload` is what goes to the server (the state by default)."""

    state: dict[str, torch.Tensor]
    n_samples: int
    loss: float
    epochs_run: int
    loss_history: list[float] = field(default_factory=list)
    payload: dict[str, torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if self.payload is None:
            self.payload = self.state


class EarlyStopping:
    """Stop after `patience` epochs whose score (-loss) is below best + delta."""

    def __init__(self, patience: int, delta: float) -> None:
        self.patience = patience
        self.delta = delta
        self.best_score: float | None = None
        self.stale_epochs = 0

    def update(self, loss: float) -> bool:
        """Record an epoch loss; True when training should stop."""
        score = -loss
        if self.best_score is None or score >= self.best_score + self.delta:
            self.best_score = score
            self.stale_epochs = 0
            return False
        self.stale_epochs += 1
        return self.stale_epochs >= self.patience


def train_locally(
    model: nn.Module,
    X: torch.Tensor,  # noqa: N803 - the conventional name of a feature matrix
    y: torch.Tensor,
    run: dict[str, Any],
    action: str,
    n_classes: int,
    global_state: dict[str, torch.Tensor] | None = None,
    seed: int | None = None,
    proximal_mu: float = 0.0,
) -> LocalFitResult:
    """Train `model` in place on (X, y) for the run's epochs; see the module docstring."""
    _check_data(X, y)
    if global_state is not None:
        model.load_state_dict(global_state)
    seed = int(run["seed"] if seed is None else seed)
    device = _device_of(model)
    anchor = _anchor_parameters(model) if proximal_mu > 0 and global_state is not None else None
    with seeded_rng(seed, device):
        generator = torch.Generator().manual_seed(seed)
        optimizer = build_optimizer(run, model.parameters())
        scheduler = build_scheduler(run, optimizer)
        criterion = build_criterion(run)
        stopper = EarlyStopping(int(run["patience"]), float(run["delta"]))
        history: list[float] = []
        model.train()
        for _ in range(int(run["epochs"])):
            epoch_loss = _run_epoch(
                model, X, y, run, action, n_classes, optimizer, criterion, generator,
                device, anchor, proximal_mu,
            )
            history.append(epoch_loss)
            if stopper.update(epoch_loss):
                break
            step_scheduler(scheduler, epoch_loss)
    state = {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}
    return LocalFitResult(
        state=state,
        n_samples=int(X.shape[0]),
        loss=history[-1],
        epochs_run=len(history),
        loss_history=history,
    )


def evaluate_locally(
    model: nn.Module,
    X: torch.Tensor,  # noqa: N803 - the conventional name of a feature matrix
    y: torch.Tensor,
    run: dict[str, Any],
    action: str,
    n_classes: int,
) -> tuple[float, torch.Tensor]:
    """`(mean criterion loss, raw outputs)` of `model` on (X, y), without penalties."""
    _check_data(X, y)
    criterion = build_criterion(run)
    device = _device_of(model)
    model.eval()
    total, outputs = 0.0, []
    with torch.no_grad():
        for indices in _batches(X.shape[0], run.get("batch_size"), None):
            xb, yb = X[indices].to(device), y[indices].to(device)
            out = model(xb)
            out_for_loss, y_for_loss = format_targets(out, yb, run["criterion"], n_classes, action)
            total += float(criterion(out_for_loss, y_for_loss)) * len(indices)
            outputs.append(out.detach().cpu())
    return total / X.shape[0], torch.cat(outputs)


def model_outputs(model: nn.Module, X: torch.Tensor,  # noqa: N803 - a feature matrix
                  batch_size: int | None = None) -> torch.Tensor:
    """Raw outputs of `model` on every row of X (no labels needed), on the CPU."""
    device = _device_of(model)
    model.eval()
    outputs = []
    with torch.no_grad():
        for indices in _batches(X.shape[0], batch_size, None):
            outputs.append(model(X[indices].to(device)).detach().cpu())
    return torch.cat(outputs) if outputs else torch.zeros((0, 1))


def regularisation(
    model: nn.Module,
    l1_lambda: float,
    l2_lambda: float,
    anchor: dict[str, torch.Tensor] | None,
    proximal_mu: float,
) -> torch.Tensor | float:
    """l1_lambda * sum|w| + l2_lambda/2 * sum w^2 + mu/2 * sum ||w - anchor||^2 (0 if none)."""
    penalty: torch.Tensor | float = 0.0
    for name, parameter in model.named_parameters():
        if l1_lambda:
            penalty = penalty + l1_lambda * parameter.abs().sum()
        if l2_lambda:
            penalty = penalty + (l2_lambda / 2.0) * parameter.pow(2).sum()
        if anchor is not None and proximal_mu:
            penalty = penalty + (proximal_mu / 2.0) * (parameter - anchor[name]).pow(2).sum()
    return penalty


def _run_epoch(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, run: dict[str, Any], action: str,  # noqa: N803
    n_classes: int, optimizer: torch.optim.Optimizer, criterion: nn.Module,
    generator: torch.Generator, device: torch.device,
    anchor: dict[str, torch.Tensor] | None, proximal_mu: float,
) -> float:
    total = 0.0
    l1_lambda, l2_lambda = float(run["l1_lambda"]), float(run["l2_lambda"])
    penalised = bool(l1_lambda or l2_lambda or (anchor is not None and proximal_mu))
    parameters = [parameter for group in optimizer.param_groups for parameter in group["params"]]
    on_device = X.device == device and y.device == device
    for indices in _batches(X.shape[0], run.get("batch_size"), generator):
        xb, yb = (X[indices], y[indices]) if on_device else (X[indices].to(device),
                                                             y[indices].to(device))
        for parameter in parameters:  # optimizer.zero_grad() without its profiler wrapper
            parameter.grad = None
        out = model(xb)
        out_for_loss, y_for_loss = format_targets(out, yb, run["criterion"], n_classes, action)
        loss = criterion(out_for_loss, y_for_loss)
        if penalised:
            loss = loss + regularisation(model, l1_lambda, l2_lambda, anchor, proximal_mu)
        value = float(loss.detach())  # the one host sync of the batch
        if not math.isfinite(value):
            raise TrainingError(
                "local training diverged (loss is not finite); lower the learning rate "
                "or check the inputs"
            )
        loss.backward()
        optimizer.step()
        total += value * len(indices)
    epoch_loss = total / X.shape[0]
    if not math.isfinite(epoch_loss):
        raise TrainingError("local training diverged (epoch loss is not finite)")
    return epoch_loss


def _batches(
    n_samples: int, batch_size: int | None, generator: torch.Generator | None
) -> Iterator[torch.Tensor]:
    size = n_samples if not batch_size else min(int(batch_size), n_samples)
    order = (
        torch.randperm(n_samples, generator=generator)
        if generator is not None
        else torch.arange(n_samples)
    )
    for start in range(0, n_samples, size):
        yield order[start:start + size]


def _anchor_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _device_of(model: nn.Module) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def _check_data(X: torch.Tensor, y: torch.Tensor) -> None:  # noqa: N803
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TrainingError("X and y must be torch tensors")
    if X.shape[0] == 0:
        raise TrainingError("no samples to train or evaluate on")
    if X.shape[0] != y.shape[0]:
        raise TrainingError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
