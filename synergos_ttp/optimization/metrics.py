"""The metric a study optimises, read from a trial's Validation records.

Workers report `synalgo.metrics` statistics per participant: scalars for regression (`R2`,
`MSE`, `MAE`) and per-class lists for classification (`accuracy`, `roc_auc_score`,
`pr_auc_score`, `f_score`, `TPRs`, ...), plus the validation `loss`. A trial's value is the
mean over classes (macro average) of each participant's statistic, then the mean over the
participants weighted by their evaluate sample counts (plain mean when a count is missing).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CLASSIFY_METRICS = ("accuracy", "roc_auc_score", "pr_auc_score", "f_score", "accuracy_overall",
                    "TPRs", "TNRs", "PPVs", "NPVs", "FPRs", "FNRs", "FDRs", "loss")
REGRESS_METRICS = ("R2", "MSE", "MAE", "loss")
ALIASES = {"f1_score": "f_score", "f1": "f_score", "roc_auc": "roc_auc_score",
           "pr_auc": "pr_auc_score", "r2": "R2", "mse": "MSE", "mae": "MAE"}
LOWER_IS_BETTER = frozenset({"MSE", "MAE", "loss", "FPRs", "FNRs", "FDRs"})
DEFAULT_METRIC = {"classify": "accuracy", "regress": "R2"}


class MetricUnavailable(Exception):
    """The optimised metric is missing from a trial's validation results (a job error)."""


@dataclass(frozen=True)
class MetricValue:
    """A trial's value and the per-participant values it was averaged from."""

    value: float
    participants: dict[str, float]


def canonical_metric(name: str) -> str:
    """The statistic name behind `name` (`f1_score` -> `f_score`, ...)."""
    return ALIASES.get(name, name)


def allowed_metrics(action: str) -> tuple[str, ...]:
    """The metrics a project of `action` can optimise."""
    return REGRESS_METRICS if action == "regress" else CLASSIFY_METRICS


def default_mode(metric: str) -> str:
    """`min` for errors and losses, `max` otherwise."""
    return "min" if canonical_metric(metric) in LOWER_IS_BETTER else "max"


def metric_error(metric: Any, action: str) -> str | None:
    """None when `metric` can be optimised for `action`, else why not."""
    allowed = allowed_metrics(action)
    if isinstance(metric, str) and canonical_metric(metric) in allowed:
        return None
    return f"unknown metric {metric!r} for a {action} project; allowed: " + ", ".join(
        [*allowed, *sorted(name for name, target in ALIASES.items() if target in allowed)])


def extract_metric(validations: Iterable[dict[str, Any]], metric: str) -> MetricValue:
    """The trial value of `metric` over Validation records (`{evaluate: {statistics,
    n_samples, loss}}` per participant); raises `MetricUnavailable`."""
    name = canonical_metric(metric)
    values: dict[str, float] = {}
    weights: dict[str, float | None] = {}
    for record in validations:
        participant = str((record.get("key") or {}).get("participant_id", len(values)))
        entry = record.get("evaluate") or {}
        raw = entry.get("loss") if name == "loss" else (entry.get("statistics") or {}).get(name)
        value = _scalar(raw)
        if value is None:
            known = ", ".join(sorted(entry.get("statistics") or {})) or "none"
            raise MetricUnavailable(
                f"metric {metric!r} is missing from the validation of participant "
                f"{participant!r} (statistics: {known})")
        values[participant] = value
        count: Any = entry.get("n_samples", (entry.get("statistics") or {}).get("n_samples"))
        weights[participant] = float(count) if _positive(count) else None
    if not values:
        raise MetricUnavailable(f"no validation results to read metric {metric!r} from "
                                "(does any participant have evaluate data?)")
    if all(weight is not None for weight in weights.values()):
        total = sum(weights.values())  # type: ignore[arg-type]
        mean = sum(values[pid] * weights[pid] for pid in values) / total  # type: ignore[operator,misc]
    else:
        mean = sum(values.values()) / len(values)
    return MetricValue(value=mean, participants=values)


def _scalar(raw: Any) -> float | None:
    """A finite number, or the mean of a non-empty list of finite numbers (per class)."""
    items = raw if isinstance(raw, list) else [raw]
    if not items or any(isinstance(item, bool) or not isinstance(item, int | float)
                        or not math.isfinite(item) for item in items):
        return None
    return float(sum(items) / len(items))


def _positive(count: Any) -> bool:
    return isinstance(count, int | float) and not isinstance(count, bool) and count > 0
