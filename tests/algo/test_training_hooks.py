"""Local-training hooks: a loss term joins every batch loss, a gradient correction runs
between `backward` and the optimizer step, and FedProx's proximal term is one such hook."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from synalgo.local_training import ProximalTerm, TrainingHooks, train_locally
from synalgo.model_spec import build_model
from tests.algo.test_local_training import SPEC, make_data, make_run


class ConstantTerm(TrainingHooks):
    def loss_term(self, model: nn.Module) -> torch.Tensor | float:
        return 2.5


class Frozen(TrainingHooks):
    """Zeroes every gradient; counts the steps it saw and remembers the start."""

    def __init__(self) -> None:
        self.steps = 0
        self.started_with: dict[str, torch.Tensor] = {}

    def start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.started_with = {k: v.clone() for k, v in model.state_dict().items()}

    def adjust_gradients(self, model: nn.Module) -> None:
        self.steps += 1
        for parameter in model.parameters():
            parameter.grad.zero_()


def _fit(hooks, **fields):
    X, y = make_data()
    model = build_model(SPEC, seed=3)
    global_state = {k: v.clone() for k, v in build_model(SPEC, seed=5).state_dict().items()}
    result = train_locally(model, X, y, make_run(**fields), "classify", 2,
                           global_state=global_state, seed=1, hooks=hooks)
    return result, global_state


def test_a_loss_term_is_added_to_every_batch_loss_without_changing_the_gradients() -> None:
    plain, _ = _fit([])
    shifted, _ = _fit([ConstantTerm()])
    assert shifted.loss_history == pytest.approx([loss + 2.5 for loss in plain.loss_history])
    for name, tensor in plain.state.items():
        assert torch.equal(tensor, shifted.state[name]), name


def test_a_gradient_hook_runs_before_each_optimizer_step() -> None:
    frozen = Frozen()
    result, global_state = _fit([frozen], epochs=3)
    assert frozen.steps == 3 * 4  # 3 epochs of 64 rows in batches of 16
    for name, tensor in global_state.items():
        assert torch.equal(frozen.started_with[name], tensor), "start sees the global weights"
        assert torch.equal(result.state[name], tensor), name


def test_the_proximal_term_keeps_the_weights_nearer_the_start() -> None:
    def distance(result, start):
        return sum(float((result.state[n] - start[n]).pow(2).sum()) for n in start)

    free, start = _fit([], lr=0.5, epochs=20)
    held, _ = _fit([ProximalTerm(1.0)], lr=0.5, epochs=20)
    assert distance(held, start) < 0.5 * distance(free, start)
