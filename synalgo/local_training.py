"""The client half of training: plain PyTorch on the Worker's own tensors.

`run_epochs` is the loop every local training shares: mini-batches (`batch_size` None = full
batch) shuffled by a local `torch.Generator` seeded from `seed`, dropout and other randomness
under a forked RNG seeded the same way (so equal inputs give identical weights and the global
RNG is left alone), the run's optimizer (and scheduler, stepped once per epoch;
ReduceLROnPlateau receives the epoch loss), and `TrainingHooks` through which a strategy adds
a loss term (FedProx's proximal term) or corrects the gradients before each optimizer step
(SCAFFOLD's control variates). `train_locally` runs it on the run's criterion plus

    l1_lambda * sum |w| + l2_lambda/2 * sum w^2

over the model's parameters. The epoch loss is the sample-weighted mean of the batch losses
(hook terms included). Local early stopping: score = -loss, an epoch improves when
score >= best + delta, and training stops after `patience` epochs without improvement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
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
    # what the Worker keeps for this run's next fit (None: nothing; see Strategy.fit_locally)
    client_state: dict[str, torch.Tensor] | None = None

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


class TrainingHooks:
    """How a strategy extends local training; every method is optional (a no-op here)."""

    def start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Called once the model holds its starting weights, before the first batch."""

    def loss_term(self, model: nn.Module) -> torch.Tensor | float:
        """A term added to every batch loss (0: none)."""
        return 0.0

    def adjust_gradients(self, model: nn.Module) -> None:
        """Change the gradients in place after `backward`, before the optimizer step."""


class ProximalTerm(TrainingHooks):
    """`mu/2 * sum ||w - w_start||^2` over the parameters: FedProx's proximal term."""

    def __init__(self, mu: float) -> None:
        self.mu = float(mu)
        self.anchor: dict[str, torch.Tensor] = {}

    def start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Remember the starting (global) weights."""
        self.anchor = {name: p.detach().clone() for name, p in model.named_parameters()}

    def loss_term(self, model: nn.Module) -> torch.Tensor | float:
        """The proximal penalty of the current weights."""
        return regularisation(model, 0.0, 0.0, self.anchor, self.mu)


BatchLoss = Callable[[torch.Tensor], torch.Tensor]


def run_epochs(
    model: nn.Module,
    batch_loss: BatchLoss,
    n_samples: int,
    run: dict[str, Any],
    epochs: int,
    seed: int,
    hooks: Sequence[TrainingHooks] = (),
    use_scheduler: bool = True,
) -> list[float]:
    """Train `model` in place for up to `epochs` epochs; `batch_loss(indices)` is the loss of
    the rows at `indices`. Returns the epoch losses (see the module docstring)."""
    device = _device_of(model)
    with seeded_rng(seed, device):
        generator = torch.Generator().manual_seed(seed)
        optimizer = build_optimizer(run, model.parameters())
        scheduler = build_scheduler(run, optimizer) if use_scheduler else None
        stopper = EarlyStopping(int(run["patience"]), float(run["delta"]))
        for hook in hooks:
            hook.start(model, optimizer)
        history: list[float] = []
        model.train()
        for _ in range(epochs):
            epoch_loss = _run_epoch(model, batch_loss, n_samples, run.get("batch_size"),
                                    optimizer, generator, hooks)
            history.append(epoch_loss)
            if stopper.update(epoch_loss):
                break
            step_scheduler(scheduler, epoch_loss)
    return history


def train_locally(
    model: nn.Module,
    X: torch.Tensor,  # noqa: N803 - the conventional name of a feature matrix
    y: torch.Tensor,
    run: dict[str, Any],
    action: str,
    n_classes: int,
    global_state: dict[str, torch.Tensor] | None = None,
    seed: int | None = None,
    hooks: Sequence[TrainingHooks] = (),
) -> LocalFitResult:
    """Train `model` in place on (X, y) for the run's epochs; see the module docstring."""
    _check_data(X, y)
    if global_state is not None:
        model.load_state_dict(global_state)
    seed = int(run["seed"] if seed is None else seed)
    device = _device_of(model)
    criterion = build_criterion(run)
    l1_lambda, l2_lambda = float(run["l1_lambda"]), float(run["l2_lambda"])
    on_device = X.device == device and y.device == device

    def batch_loss(indices: torch.Tensor) -> torch.Tensor:
        xb, yb = (X[indices], y[indices]) if on_device else (X[indices].to(device),
                                                             y[indices].to(device))
        out = model(xb)
        out_for_loss, y_for_loss = format_targets(out, yb, run["criterion"], n_classes, action)
        loss = criterion(out_for_loss, y_for_loss)
        if l1_lambda or l2_lambda:
            loss = loss + regularisation(model, l1_lambda, l2_lambda, None, 0.0)
        return loss

    history = run_epochs(model, batch_loss, int(X.shape[0]), run, int(run["epochs"]), seed,
                         hooks)
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
    model: nn.Module, batch_loss: BatchLoss, n_samples: int, batch_size: int | None,
    optimizer: torch.optim.Optimizer, generator: torch.Generator,
    hooks: Sequence[TrainingHooks],
) -> float:
    total = 0.0
    parameters = [parameter for group in optimizer.param_groups for parameter in group["params"]]
    for indices in _batches(n_samples, batch_size, generator):
        for parameter in parameters:  # optimizer.zero_grad() without its profiler wrapper
            parameter.grad = None
        loss = batch_loss(indices)
        for hook in hooks:
            loss = loss + hook.loss_term(model)
        value = float(loss.detach())  # the one host sync of the batch
        if not math.isfinite(value):
            raise TrainingError(
                "local training diverged (loss is not finite); lower the learning rate "
                "or check the inputs"
            )
        loss.backward()
        for hook in hooks:
            hook.adjust_gradients(model)
        optimizer.step()
        total += value * len(indices)
    epoch_loss = total / n_samples
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
