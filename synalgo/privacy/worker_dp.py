"""Worker-side (sample-level) DP-SGD with Opacus: one privacy engine per run, kept across
the rounds of the run, so its accountant composes every local step the run ever took.

Each round the run's optimizer is rebuilt on the same `GradSampleModule` and made private by
the same `PrivacyEngine`: Poisson-sampled batches of expected size `batch_size` (sampling
rate q = 1 / ceil(n / batch_size)), per-sample gradients clipped to `max_grad_norm`,
Gaussian noise of std `noise_multiplier * max_grad_norm`. Noise and sampling draw from
generators seeded from `secrets` (never from the run's public seed); Opacus' `secure_mode`
(a CSPRNG for the noise itself) needs torchcsprng, unmaintained for current torch. Penalties
that do not depend on the data (FedProx proximal term, l1/l2) are added to the privatised
gradient.
Local early stopping is off: when to stop would depend on the data. ε(δ) comes from
`synalgo.privacy.accounting` over the engine accountant's history.
"""

from __future__ import annotations

import math
import secrets
import warnings
from typing import Any

import torch
from opacus import GradSampleModule, PrivacyEngine
from opacus.validators import ModuleValidator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from synalgo.components import build_criterion, build_optimizer, build_scheduler, step_scheduler
from synalgo.errors import TrainingError
from synalgo.local_training import LocalFitResult, regularisation
from synalgo.privacy.accounting import epsilon, noise_for_epsilon
from synalgo.targets import format_targets

REPLACEMENTS: dict[str, str] = {
    "BatchNorm1d": "GroupNorm (or LayerNorm)", "BatchNorm2d": "GroupNorm",
    "BatchNorm3d": "GroupNorm", "SyncBatchNorm": "GroupNorm",
    "InstanceNorm1d": "GroupNorm or InstanceNorm1d without track_running_stats",
    "InstanceNorm2d": "GroupNorm or InstanceNorm2d without track_running_stats",
    "InstanceNorm3d": "GroupNorm or InstanceNorm3d without track_running_stats",
    "LSTM": "Linear or Conv layers (Opacus needs its own DPLSTM)",
    "RNN": "Linear or Conv layers (Opacus needs its own DPRNN)",
    "GRU": "Linear or Conv layers (Opacus needs its own DPGRU)",
}


def unsupported_layers(model: nn.Module) -> dict[str, str]:
    """`{"model.<i>": message}` for each top-level layer DP-SGD cannot train, naming the
    layer and what to use instead (empty when every layer is fine)."""
    problems: dict[str, str] = {}
    for index, (name, layer) in enumerate(model.named_children()):
        kind = type(layer).__name__
        if ModuleValidator.validate(layer, strict=False):
            instead = REPLACEMENTS.get(kind, "a layer Opacus supports (Linear, Conv, "
                                             "GroupNorm, LayerNorm, Embedding)")
            problems[f"model.{index}"] = (
                f"layer {index} ({kind}, {name}) cannot be trained with DP-SGD: replace "
                f"it with {instead}")
    return problems


def _secret_generator() -> torch.Generator:
    return torch.Generator().manual_seed(secrets.randbits(63))


class WorkerPrivacy:
    """The DP-SGD state of one run on one Worker (see the module docstring)."""

    def __init__(self, dp: dict[str, Any], run: dict[str, Any], n_samples: int) -> None:
        self.dp = dp
        self.run = run
        self.n_samples = int(n_samples)
        self.delta = float(dp["delta"])
        self.max_grad_norm = float(dp["max_grad_norm"])
        self.target_epsilon = dp.get("target_epsilon")
        batch = run.get("batch_size") or n_samples
        self.batches = math.ceil(n_samples / min(int(batch), n_samples))
        self.batch_size = math.ceil(n_samples / self.batches)
        self.sample_rate = 1.0 / self.batches
        self.steps_per_round = self.batches * int(run["epochs"])
        if dp.get("noise_multiplier") is not None:
            self.noise_multiplier = float(dp["noise_multiplier"])
        elif self.target_epsilon is None:
            raise ValueError("dp needs noise_multiplier or target_epsilon")
        else:
            self.noise_multiplier = noise_for_epsilon(
                float(self.target_epsilon), self.delta, self.sample_rate,
                self.steps_per_round * int(run["rounds"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its note that secure_mode is off (see above)
            self.engine = PrivacyEngine(accountant="rdp")
        self._module: GradSampleModule | None = None

    def history(self) -> list[tuple[float, float, int]]:
        """`(noise_multiplier, sample_rate, steps)` entries of every step taken so far."""
        return [(float(z), float(q), int(n)) for z, q, n in self.engine.accountant.history]

    def epsilon(self) -> float:
        """ε(δ) spent by this run's training on this Worker so far."""
        return epsilon(self.history(), self.delta)

    def epsilon_after_next_round(self) -> float:
        """ε(δ) once one more round of local steps is taken."""
        return epsilon([*self.history(), (self.noise_multiplier, self.sample_rate,
                                          self.steps_per_round)], self.delta)

    def describe(self) -> dict[str, Any]:
        """What the fit reply reports under `privacy`."""
        return {"epsilon": self.epsilon(), "epsilon_next_round": self.epsilon_after_next_round(),
                "delta": self.delta, "noise_multiplier": self.noise_multiplier,
                "sample_rate": self.sample_rate,
                "steps": sum(steps for _, _, steps in self.history())}

    def fit(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor,  # noqa: N803
            action: str, n_classes: int, global_state: dict[str, torch.Tensor] | None,
            proximal_mu: float = 0.0) -> LocalFitResult:
        """One round of DP-SGD on (X, y) from `global_state`; the model is trained in place."""
        if global_state is not None:
            model.load_state_dict(global_state)
        if self._module is None:
            self._module = GradSampleModule(model)
        anchor = ({name: p.detach().clone() for name, p in model.named_parameters()}
                  if proximal_mu > 0 and global_state is not None else None)
        loader = DataLoader(TensorDataset(X, y), batch_size=self.batch_size,
                            generator=_secret_generator())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Opacus' notes on secure_mode and loaders
            module, optimizer, private_loader = self.engine.make_private(
                module=self._module, optimizer=build_optimizer(self.run, model.parameters()),
                data_loader=loader, noise_multiplier=self.noise_multiplier,
                max_grad_norm=self.max_grad_norm, noise_generator=_secret_generator())
        scheduler = build_scheduler(self.run, optimizer.original_optimizer)
        criterion = build_criterion(self.run)
        history: list[float] = []
        module.train()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            for _ in range(int(self.run["epochs"])):
                loss = self._epoch(module, model, private_loader, optimizer, criterion,
                                   action, n_classes, anchor, proximal_mu)
                history.append(loss)
                step_scheduler(scheduler, loss)
        state = {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}
        return LocalFitResult(state=state, n_samples=self.n_samples, loss=history[-1],
                              epochs_run=len(history), loss_history=history)

    def _epoch(self, module: nn.Module, model: nn.Module, loader: DataLoader, optimizer: Any,
               criterion: nn.Module, action: str, n_classes: int,
               anchor: dict[str, torch.Tensor] | None, proximal_mu: float) -> float:
        l1, l2 = float(self.run["l1_lambda"]), float(self.run["l2_lambda"])
        parameters = [p for p in model.parameters() if p.requires_grad]
        total, seen = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad(set_to_none=True)
            if len(xb):
                out = module(xb)
                out_for_loss, y_for_loss = format_targets(out, yb, self.run["criterion"],
                                                          n_classes, action)
                loss = criterion(out_for_loss, y_for_loss)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise TrainingError("local training diverged (loss is not finite); lower "
                                        "the learning rate or check the inputs")
                loss.backward()
                total, seen = total + value * len(xb), seen + len(xb)
            if not optimizer.pre_step():  # clip, noise, account (an empty batch too)
                continue
            penalty = regularisation(model, l1, l2, anchor, proximal_mu)
            if isinstance(penalty, torch.Tensor):  # data-independent: added after noising
                for parameter, grad in zip(parameters, torch.autograd.grad(
                        penalty, parameters, allow_unused=True), strict=True):
                    if grad is not None:
                        parameter.grad = grad if parameter.grad is None else parameter.grad + grad
            optimizer.original_optimizer.step()
        return total / seen if seen else math.nan
