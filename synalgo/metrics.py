"""Validation statistics computed on a Worker from its own labels, under stable names.

regress: `R2`, `MSE`, `MAE`. classify: binary scores (one column p) are expanded to the two
one-vs-rest columns [1 - p, p]; multiclass scores have one column per class. Per class (lists
indexed by class): `accuracy` (one-vs-rest), `roc_auc_score` (0.0 when undefined),
`pr_auc_score` (area under the precision-recall curve, 0.0 when undefined), `f_score` (F1),
`TPs`, `TNs`, `FPs`, `FNs` from the multiclass confusion matrix, and the rates `TPRs`, `TNRs`,
`PPVs`, `NPVs`, `FPRs`, `FNRs`, `FDRs` (0.0 when the denominator is 0). Plus
`accuracy_overall` and `n_samples`. Every value is a plain JSON int or float: non-finite
scores are replaced by 0 before scoring and any undefined statistic is reported as 0.0.
"""

from __future__ import annotations

import math
import warnings
from types import ModuleType
from typing import Any

import numpy as np

from synalgo.errors import AlgoError

PER_CLASS_KEYS = (
    "accuracy", "roc_auc_score", "pr_auc_score", "f_score", "TPs", "TNs", "FPs", "FNs",
    "TPRs", "TNRs", "PPVs", "NPVs", "FPRs", "FNRs", "FDRs",
)


def _sklearn_metrics() -> ModuleType:
    """`sklearn.metrics`, imported at the first statistics rather than when a node starts
    (scikit-learn is 1.7 s of a Worker's start-up)."""
    import sklearn.metrics

    return sklearn.metrics


def compute_statistics(action: str, y_true: Any, y_score: Any) -> dict[str, Any]:
    """Statistics for `action` ('classify' or 'regress') from labels and model scores."""
    truth = _as_numpy(y_true)
    scores = np.nan_to_num(_as_numpy(y_score).astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if truth.shape[0] == 0:
        raise AlgoError("cannot compute statistics on zero samples")
    if truth.shape[0] != scores.shape[0]:
        raise AlgoError(f"{truth.shape[0]} labels but {scores.shape[0]} scores")
    if action == "regress":
        return _regression(truth.astype(np.float64).reshape(-1), scores.reshape(-1))
    if action == "classify":
        return _classification(truth, scores)
    raise AlgoError(f"action must be classify or regress, got {action!r}")


def _regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    if truth.shape != predicted.shape:
        raise AlgoError(f"{truth.size} targets but {predicted.size} predictions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r2 = _sklearn_metrics().r2_score(truth, predicted) if truth.size >= 2 else 0.0
    return {
        "R2": _finite(r2),
        "MSE": _finite(_sklearn_metrics().mean_squared_error(truth, predicted)),
        "MAE": _finite(_sklearn_metrics().mean_absolute_error(truth, predicted)),
        "n_samples": int(truth.size),
    }


def _classification(truth: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    labels = _class_labels(truth)
    if scores.ndim == 1:
        scores = scores.reshape(-1, 1)
    if scores.shape[1] == 1:
        predicted = (scores[:, 0] > 0.5).astype(np.int64)
        scores = np.column_stack([1.0 - scores[:, 0], scores[:, 0]])
    else:
        predicted = np.argmax(scores, axis=1)
    n_classes = scores.shape[1]
    if labels.max() >= n_classes:
        raise AlgoError(f"label {int(labels.max())} does not fit {n_classes} score columns")
    truth_hot = np.eye(n_classes, dtype=np.int64)[labels]
    predicted_hot = np.eye(n_classes, dtype=np.int64)[predicted]
    matrix = _sklearn_metrics().confusion_matrix(labels, predicted, labels=list(range(n_classes)))
    stats: dict[str, list] = {key: [] for key in PER_CLASS_KEYS}
    total = int(matrix.sum())
    for c in range(n_classes):
        tp = int(matrix[c, c])
        fp = int(matrix[:, c].sum()) - tp
        fn = int(matrix[c, :].sum()) - tp
        tn = total - tp - fp - fn
        stats["accuracy"].append(_finite(np.mean(truth_hot[:, c] == predicted_hot[:, c])))
        stats["roc_auc_score"].append(_roc_auc(truth_hot[:, c], scores[:, c]))
        stats["pr_auc_score"].append(_pr_auc(truth_hot[:, c], scores[:, c]))
        stats["f_score"].append(
            _finite(_sklearn_metrics().f1_score(truth_hot[:, c], predicted_hot[:, c],
                                                zero_division=0))
        )
        for key, value in (("TPs", tp), ("TNs", tn), ("FPs", fp), ("FNs", fn)):
            stats[key].append(value)
        for key, numerator, denominator in (
            ("TPRs", tp, tp + fn), ("TNRs", tn, tn + fp), ("PPVs", tp, tp + fp),
            ("NPVs", tn, tn + fn), ("FPRs", fp, fp + tn), ("FNRs", fn, fn + tp),
            ("FDRs", fp, fp + tp),
        ):
            stats[key].append(numerator / denominator if denominator else 0.0)
    result: dict[str, Any] = dict(stats)
    result["accuracy_overall"] = _finite(np.mean(predicted == labels))
    result["n_samples"] = int(labels.size)
    return result


def _class_labels(truth: np.ndarray) -> np.ndarray:
    if truth.ndim == 2 and truth.shape[1] == 1:
        truth = truth[:, 0]
    if truth.ndim != 1:
        raise AlgoError(f"labels must be class indices of shape (N,), got {truth.shape}")
    if not np.all(np.isfinite(truth)) or not np.all(truth == np.round(truth)) or truth.min() < 0:
        raise AlgoError("labels must be non-negative whole class indices")
    return truth.astype(np.int64)


def _roc_auc(truth: np.ndarray, score: np.ndarray) -> float:
    if truth.min() == truth.max():
        return 0.0
    return _finite(_sklearn_metrics().roc_auc_score(truth, score))


def _pr_auc(truth: np.ndarray, score: np.ndarray) -> float:
    if truth.max() == 0:
        return 0.0
    precision, recall, _ = _sklearn_metrics().precision_recall_curve(truth, score)
    return _finite(_sklearn_metrics().auc(recall, precision))


def _finite(value: Any) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


def _as_numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)
