"""Targets: class labels become one-hot `target_<label>` columns, regression values one float."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synergos_worker.datasets.categorical import CategoricalColumn, concat_categorical
from synergos_worker.datasets.errors import InvalidDataset, InvalidRequest

TARGET = "target"
ACTIONS = ("classify", "regress")


def check_action(action: object) -> str:
    """Return `action` if it is `classify` or `regress`, else raise `InvalidRequest`."""
    if action not in ACTIONS:
        raise InvalidRequest(f"action must be one of {list(ACTIONS)}, got {action!r}")
    return str(action)


@dataclass
class Target:
    """Raw targets of some rows: class labels (classify) or float values (regress)."""

    labels: CategoricalColumn | None = None
    values: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels) if self.labels is not None else len(self.value_array())

    def value_array(self) -> np.ndarray:
        """The regression values (a Target without labels holds values)."""
        assert self.values is not None, "a Target holds labels or values"
        return self.values

    def label_column(self) -> CategoricalColumn:
        """The class labels (a Target without values holds labels)."""
        assert self.labels is not None, "a Target holds labels or values"
        return self.labels

    def missing(self) -> np.ndarray:
        """Boolean mask of rows without a usable target."""
        if self.labels is not None:
            return self.labels.is_missing()
        return ~np.isfinite(self.value_array())

    def take(self, rows: np.ndarray) -> Target:
        """The targets of `rows` only."""
        if self.labels is not None:
            return Target(labels=self.labels.take(rows))
        return Target(values=self.value_array()[rows])


def target_from_values(values: Any, action: str, shown: str) -> Target:
    """Build a `Target` from raw per-row values (strings or numbers; missing allowed).

    Regression targets must be numeric: non-numeric values raise `InvalidDataset` naming `shown`.
    """
    series = pd.Series(values)
    if action == "classify":
        return Target(labels=CategoricalColumn.from_series(series))
    numbers = pd.to_numeric(series, errors="coerce")
    bad = int(numbers.isna().sum() - series.isna().sum())
    if bad:
        raise InvalidDataset(f"{shown}: {bad} target value(s) are not numbers (action 'regress')")
    return Target(values=numbers.to_numpy(dtype=np.float32))


def unlabeled_target(n_rows: int, action: str) -> Target:
    """Targets of `n_rows` rows without a label (prediction data without a target column)."""
    if action == "classify":
        return Target(labels=CategoricalColumn.missing(n_rows))
    return Target(values=np.full(n_rows, np.nan, dtype=np.float32))


def concat_targets(parts: list[Target]) -> Target:
    """Append targets row-wise (all parts are of the same kind)."""
    if parts and parts[0].labels is not None:
        return Target(labels=concat_categorical([part.label_column() for part in parts]))
    return Target(values=np.concatenate([part.value_array() for part in parts]
                                        ).astype(np.float32))


def encode_target(target: Target) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Return `(y, y_columns, target_metadata)`: one-hot float32 N x K with `target_<label>`
    columns for class labels, or N x 1 float32 `target` for regression values."""
    if target.labels is not None:
        labels = target.labels
        y = np.zeros((len(labels), len(labels.levels)), dtype=np.float32)
        present = ~labels.is_missing()  # unlabeled rows (prediction data) stay all zero
        y[np.flatnonzero(present), labels.codes[present].astype(np.int64)] = 1.0
        counts = labels.counts()
        columns = [f"{TARGET}_{level}" for level in labels.levels]
        order = np.argsort(columns, kind="stable")
        meta: dict[str, Any] = {"kind": "classes", "labels": labels.levels,
                "counts": {level: int(n) for level, n in zip(labels.levels, counts, strict=True)}}
        return np.ascontiguousarray(y[:, order]), [columns[i] for i in order], meta
    values = target.value_array().astype(np.float32).reshape(-1, 1)
    flat = values[:, 0].astype(np.float64)
    flat = flat[np.isfinite(flat)]  # unlabeled rows (prediction data) are NaN
    meta = {"kind": "values", "count": len(flat)}
    if len(flat):
        meta.update(mean=float(flat.mean()), std=float(flat.std()), min=float(flat.min()),
                    max=float(flat.max()))
    return values, [TARGET], meta
