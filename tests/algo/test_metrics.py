"""Validation statistics against scikit-learn on toy cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from synalgo.errors import AlgoError
from synalgo.metrics import PER_CLASS_KEYS, compute_statistics


def test_regression_statistics_match_sklearn():
    y_true = np.array([3.0, -0.5, 2.0, 7.0])
    y_score = np.array([[2.5], [0.0], [2.0], [8.0]])
    stats = compute_statistics("regress", y_true, y_score)
    assert stats["R2"] == pytest.approx(r2_score(y_true, y_score[:, 0]))
    assert stats["MSE"] == pytest.approx(mean_squared_error(y_true, y_score[:, 0]))
    assert stats["MAE"] == pytest.approx(mean_absolute_error(y_true, y_score[:, 0]))
    assert all(isinstance(stats[key], float) for key in ("R2", "MSE", "MAE"))


def test_binary_statistics_are_two_one_vs_rest_columns():
    y_true = torch.tensor([0, 1, 1, 0, 1])
    p = torch.tensor([[0.1], [0.8], [0.4], [0.3], [0.9]])
    stats = compute_statistics("classify", y_true, p)
    predicted = np.array([0, 1, 0, 0, 1])
    assert set(PER_CLASS_KEYS) <= set(stats)
    assert stats["n_samples"] == 5
    assert stats["accuracy_overall"] == pytest.approx(0.8)
    # class 1 = the positive class, class 0 = its complement
    assert stats["TPs"] == [2, 2] and stats["FNs"] == [0, 1]
    assert stats["FPs"] == [1, 0] and stats["TNs"] == [2, 2]
    assert stats["TPRs"] == pytest.approx([1.0, 2 / 3])
    assert stats["PPVs"] == pytest.approx([2 / 3, 1.0])
    assert stats["FDRs"] == pytest.approx([1 / 3, 0.0])
    y = y_true.numpy()
    assert stats["roc_auc_score"][1] == pytest.approx(roc_auc_score(y, p[:, 0].numpy()))
    assert stats["roc_auc_score"][0] == pytest.approx(roc_auc_score(1 - y, 1 - p[:, 0].numpy()))
    assert stats["f_score"][1] == pytest.approx(f1_score(y, predicted))
    assert stats["f_score"][0] == pytest.approx(f1_score(1 - y, 1 - predicted))
    assert stats["accuracy"] == pytest.approx([0.8, 0.8])
    json.dumps(stats, allow_nan=False)


def test_multiclass_statistics_and_undefined_values():
    y_true = np.array([0, 1, 2, 2, 1, 0])
    scores = np.array([
        [0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6],
        [0.5, 0.1, 0.4], [0.3, 0.4, 0.3], [0.2, 0.7, 0.1],
    ])
    stats = compute_statistics("classify", y_true, scores)
    predicted = scores.argmax(axis=1)
    assert stats["accuracy_overall"] == pytest.approx(np.mean(predicted == y_true))
    for c in range(3):
        truth_c, pred_c = (y_true == c).astype(int), (predicted == c).astype(int)
        assert stats["roc_auc_score"][c] == pytest.approx(roc_auc_score(truth_c, scores[:, c]))
        assert stats["f_score"][c] == pytest.approx(f1_score(truth_c, pred_c))
        assert stats["TPs"][c] == int(np.sum(truth_c & pred_c))
        assert stats["TPs"][c] + stats["TNs"][c] + stats["FPs"][c] + stats["FNs"][c] == 6

    # a class absent from the labels: ROC/PR AUC undefined -> 0.0, rates with 0 denominators
    only_zero = compute_statistics("classify", np.array([0, 0]), np.array([[0.9, 0.1, 0.0]] * 2))
    assert only_zero["roc_auc_score"] == [0.0, 0.0, 0.0]
    assert only_zero["pr_auc_score"][1:] == [0.0, 0.0]
    assert only_zero["TPRs"][1] == 0.0 and only_zero["PPVs"][1] == 0.0
    json.dumps(only_zero, allow_nan=False)


def test_non_finite_scores_do_not_leak_nan():
    stats = compute_statistics("classify", np.array([0, 1, 1]),
                               np.array([[np.nan], [0.9], [np.inf]]))
    json.dumps(stats, allow_nan=False)
    regression = compute_statistics("regress", np.array([1.0]), np.array([np.nan]))
    assert regression["R2"] == 0.0
    json.dumps(regression, allow_nan=False)


@pytest.mark.parametrize(
    ("action", "y_true", "y_score", "fragment"),
    [
        ("classify", np.array([]), np.zeros((0, 1)), "zero samples"),
        ("classify", np.array([0, 1]), np.zeros((3, 1)), "2 labels but 3 scores"),
        ("classify", np.array([0, 3]), np.zeros((2, 3)), "does not fit"),
        ("classify", np.array([0.5, 1]), np.zeros((2, 1)), "class indices"),
        ("cluster", np.array([0]), np.zeros((1, 1)), "action"),
    ],
)
def test_bad_inputs_are_clear_errors(action, y_true, y_score, fragment):
    with pytest.raises(AlgoError, match=fragment):
        compute_statistics(action, y_true, y_score)
