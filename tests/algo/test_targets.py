"""Label formatting for each output/criterion combination, and predictions."""

from __future__ import annotations

import pytest
import torch

from synalgo.errors import TrainingError
from synalgo.targets import format_targets, predict_scores

Y_BINARY = torch.tensor([0, 1, 1, 0])
P = torch.tensor([[0.2], [0.9], [0.6], [0.4]])


@pytest.mark.parametrize("criterion", ["BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss"])
def test_one_unit_with_indicator_losses(criterion):
    outputs, targets = format_targets(P, Y_BINARY, criterion, 2, "classify")
    assert torch.equal(outputs, P)
    assert targets.dtype == torch.float32 and targets.shape == (4, 1)
    assert targets[:, 0].tolist() == [0.0, 1.0, 1.0, 0.0]
    loss = getattr(torch.nn, criterion)()(outputs, targets)
    assert torch.isfinite(loss)


def test_one_unit_with_signed_losses():
    _, targets = format_targets(P, Y_BINARY, "SoftMarginLoss", 2, "classify")
    assert targets[:, 0].tolist() == [-1.0, 1.0, 1.0, -1.0]


def test_one_unit_with_nll_uses_log_two_columns():
    outputs, targets = format_targets(P, Y_BINARY, "NLLLoss", 2, "classify")
    assert outputs.shape == (4, 2) and targets.dtype == torch.long
    torch.testing.assert_close(outputs.exp(), torch.cat([1 - P, P], dim=1))
    expected = -(torch.log(torch.tensor([0.8, 0.9, 0.6, 0.6]))).mean()
    torch.testing.assert_close(torch.nn.NLLLoss()(outputs, targets), expected)


def test_one_unit_with_cross_entropy_equals_binary_cross_entropy():
    outputs, targets = format_targets(P, Y_BINARY, "CrossEntropyLoss", 2, "classify")
    ce = torch.nn.CrossEntropyLoss()(outputs, targets)
    bce = torch.nn.BCELoss()(P, Y_BINARY.float().reshape(-1, 1))
    torch.testing.assert_close(ce, bce)


def test_one_unit_with_cross_entropy_is_differentiable_through_p():
    p = P.clone().requires_grad_(True)
    outputs, targets = format_targets(p, Y_BINARY, "CrossEntropyLoss", 2, "classify")
    torch.nn.CrossEntropyLoss()(outputs, targets).backward()
    assert p.grad is not None and bool(torch.isfinite(p.grad).all())


def test_one_unit_index_losses_require_probabilities():
    logits = torch.tensor([[-2.0], [3.0]])
    with pytest.raises(TrainingError, match="sigmoid"):
        format_targets(logits, torch.tensor([0, 1]), "NLLLoss", 2, "classify")


def test_k_outputs_with_index_losses_keep_long_labels():
    outputs = torch.randn(3, 4)
    y = torch.tensor([0, 3, 2])
    for criterion in ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"):
        out, targets = format_targets(outputs, y, criterion, 4, "classify")
        assert out is outputs and targets.dtype == torch.long and targets.tolist() == [0, 3, 2]


@pytest.mark.parametrize("criterion", ["BCELoss", "MSELoss", "MultiLabelSoftMarginLoss"])
def test_k_outputs_with_other_losses_get_one_hot(criterion):
    outputs = torch.softmax(torch.randn(3, 4), dim=1)
    out, targets = format_targets(outputs, torch.tensor([0, 3, 2]), criterion, 4, "classify")
    assert targets.dtype == torch.float32
    assert targets.tolist() == [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]
    assert torch.isfinite(getattr(torch.nn, criterion)()(out, targets))


def test_regression_targets_unchanged_but_shaped():
    outputs = torch.randn(5, 1)
    y = torch.arange(5.0)
    out, targets = format_targets(outputs, y, "MSELoss", 0, "regress")
    assert out is outputs and targets.shape == (5, 1)
    assert targets[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("outputs", "y", "action", "fragment"),
    [
        (torch.rand(3, 1), torch.tensor([0, 1]), "classify", "3 outputs for 2 labels"),
        (torch.rand(2, 3), torch.tensor([0, 5]), "classify", "does not fit"),
        (torch.rand(2, 1), torch.tensor([0, 2]), "classify", "binary"),
        (torch.rand(2, 1), torch.tensor([0.5, 1.0]), "classify", "whole class indices"),
        (torch.rand(2, 1), torch.tensor([0, 1]), "cluster", "action"),
        (torch.rand(2, 2), torch.rand(2, 1), "regress", "do not match"),
    ],
)
def test_bad_targets_are_clear_errors(outputs, y, action, fragment):
    with pytest.raises(TrainingError, match=fragment):
        format_targets(outputs, y, "BCELoss", 3, action)


def test_predict_scores():
    y_pred, y_score = predict_scores(P, "classify")
    assert y_pred.tolist() == [0, 1, 1, 0] and torch.equal(y_score, P)
    multi = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    assert predict_scores(multi, "classify")[0].tolist() == [1, 0]
    regression = torch.tensor([[1.5], [-2.0]])
    y_pred, y_score = predict_scores(regression, "regress")
    assert torch.equal(y_pred, regression) and torch.equal(y_score, regression)
