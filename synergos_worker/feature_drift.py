"""How a run's prediction data differs from the Worker's own training data: training columns
it lacks (imputed from training statistics) and columns or labels training never saw
(ignored). The warnings hold names only, no values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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


def impute_absent(aligned: np.ndarray, superset_x: list[str], present: list[str],
                  scaling: dict[str, list] | None, train_answer: dict[str, Any]) -> None:
    """Fill, in place, the aligned prediction columns the data lacks (a numeric column is left
    at 0: after the global scaling that is the training mean): a word of a bag of words counts
    0, and a categorical column absent altogether takes the training data's most frequent
    level."""
    have = set(present)
    position = {name: index for index, name in enumerate(superset_x)}
    shift_scale = dict(zip(scaling["columns"], zip(scaling["shift"], scaling["scale"],
                                                   strict=True), strict=True)) if scaling else {}
    metadata = train_answer.get("metadata") or {}
    if metadata.get("datatype") == "text":
        for name, index in position.items():
            if name.startswith("w_") and name not in have:
                shift, scale = shift_scale.get(name, (0.0, 1.0))
                aligned[:, index] = -shift / scale
        return
    categories = (metadata.get("features") or {}).get("cat_variables") or {}
    for name, described in categories.items():
        levels = [f"{name}_{level}" for level in described.get("labels") or []]
        mode = f"{name}_{described.get('top')}"
        if levels and not have.intersection(levels) and mode in position:
            shift, scale = shift_scale.get(mode, (0.0, 1.0))
            aligned[:, position[mode]] = (1.0 - shift) / scale


def train_answer(outputs_dir: Path, project_id: str) -> dict[str, Any]:
    """The poll answer of the project's cached `train` data (empty when there is none)."""
    return _answer(outputs_dir, project_id, "train")


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
