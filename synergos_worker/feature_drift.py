"""How a run's prediction data differs from the Worker's own training data: training columns
it lacks (imputed: after the global scaling an absent column sits at the training mean) and
columns or labels training never saw (ignored). Names only; no values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synergos_worker.datasets.cache import preprocessing_dir, read_entry
from synrest.errors import ValidationFailed

MAX_LISTED = 100


def _source_columns(answer: dict[str, Any]) -> set[str] | None:
    """A tabular meta's source columns (before one-hot encoding); None for other datatypes."""
    metadata = answer.get("metadata") or {}
    features = metadata.get("features")
    if metadata.get("datatype") != "tabular" or not isinstance(features, dict):
        return None
    return set(features.get("num_variables") or {}) | set(features.get("cat_variables") or {})


def _answer(outputs_dir: Path, project_id: str, meta: str) -> dict[str, Any]:
    entry = read_entry(preprocessing_dir(outputs_dir, project_id) / meta) or {}
    return entry.get("answer") or {}


def drift_warnings(outputs_dir: Path, project_id: str, ignored: dict[str, list[str]],
                   strict: bool) -> dict[str, Any]:
    """`{missing_columns, ignored_columns, ignored_labels}` of the project's predict data
    (lists cut at `MAX_LISTED`, empty ones left out); with `strict`, missing columns raise
    ValidationFailed naming them."""
    train = _source_columns(_answer(outputs_dir, project_id, "train"))
    predict = _source_columns(_answer(outputs_dir, project_id, "predict"))
    missing = sorted(train - predict) if train is not None and predict is not None else []
    if missing and strict:
        problem = "the predict data lacks training column(s) " + ", ".join(missing[:MAX_LISTED])
        raise ValidationFailed({"strict_features": problem},
                               f"{problem} (strict_features is true: nothing is imputed)")
    warnings = {"missing_columns": missing, "ignored_columns": ignored.get("X", []),
                "ignored_labels": [name.removeprefix("target_")
                                   for name in ignored.get("y", [])]}
    return {name: columns[:MAX_LISTED] for name, columns in warnings.items() if columns}
