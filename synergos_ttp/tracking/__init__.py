"""Experiment tracking of the TTP (MLflow)."""

from __future__ import annotations

from synergos_ttp.tracking.mlflow_tracker import MlflowTracker, metric_items, round_metrics

__all__ = ["MlflowTracker", "metric_items", "round_metrics"]
