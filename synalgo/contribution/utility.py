"""The utility of a coalition model: a validation metric oriented so that higher is better.

Classification: `accuracy` (the share of correct predictions, default), `roc_auc_score`,
`pr_auc_score`, `f_score` (macro averages over classes) or `loss`; regression: `MSE`
(default), `MAE`, `R2` or `loss`. Errors and losses are negated, so a regression's default
utility is -MSE. A Worker measures its own evaluate data; the TTP combines Workers by
sample count.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from synalgo.metrics import compute_statistics
from synalgo.targets import class_indices

METRICS: dict[str, tuple[str, ...]] = {
    "classify": ("accuracy", "roc_auc_score", "pr_auc_score", "f_score", "loss"),
    "regress": ("MSE", "MAE", "R2", "loss"),
}
DEFAULT_METRIC = {"classify": "accuracy", "regress": "MSE"}
ALIASES = {"f1_score": "f_score", "mse": "MSE", "mae": "MAE", "r2": "R2"}
LOWER_IS_BETTER = frozenset({"MSE", "MAE", "loss"})
UNIT_RANGE = frozenset({"accuracy", "roc_auc_score", "pr_auc_score", "f_score"})
ALL_METRICS = tuple(dict.fromkeys([*METRICS["classify"], *METRICS["regress"], *ALIASES]))


def resolve_metric(metric: str | None, action: str) -> str:
    """The canonical metric for `action` (its default when None); `ValueError` naming the
    allowed ones when `metric` does not fit the action."""
    if metric is None:
        return DEFAULT_METRIC[action]
    name = ALIASES.get(metric, metric)
    if name not in METRICS[action]:
        raise ValueError(f"contribution_metric {metric!r} does not fit a {action} project; "
                         f"allowed: {', '.join(METRICS[action])}")
    return name


def measure(metric: str, action: str, loss: float, y_true: torch.Tensor,
            y_pred: torch.Tensor, y_score: torch.Tensor) -> float:
    """The raw metric of one model's predictions on one Worker's data."""
    if metric == "loss":
        return float(loss)
    if metric == "accuracy":
        return float((y_pred.reshape(-1) == class_indices(y_true)).float().mean())
    if metric in ("MSE", "MAE"):
        error = y_score.reshape(-1).double() - y_true.reshape(-1).double()
        return float((error ** 2).mean() if metric == "MSE" else error.abs().mean())
    return _macro(compute_statistics(action, y_true, y_score)[metric])


def utility(metric: str, value: float) -> float:
    """The metric oriented so that higher is better."""
    return -value if metric in LOWER_IS_BETTER else value


def combine(per_worker: Iterable[tuple[float, int]]) -> float:
    """The sample-weighted mean of per-Worker values."""
    pairs = list(per_worker)
    total = sum(count for _, count in pairs)
    if total <= 0:
        raise ValueError("no evaluate samples to measure a coalition on")
    return sum(value * count for value, count in pairs) / total


def _macro(value: Any) -> float:
    if isinstance(value, list):
        return float(sum(value) / len(value)) if value else 0.0
    return float(value)
