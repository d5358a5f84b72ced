"""Multiple Feature Alignment (MFA) and global feature scaling, as pure functions.

The aligned column order is the sorted union of every participant's column names (X and y
separately); a participant's spacer indexes are the positions of that union it lacks. This is
what a STAR/Needleman-Wunsch multiple alignment (Synergos 1's method) yields on sorted
headers, in O(n log n).
Scaling is a z-score with pooled statistics from every Worker's summaries (never per-worker),
so an absent feature, filled with 0 after scaling, sits at the global mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from synalgo.errors import AlignmentError
from synalgo.spec_surgery import has_probability_module_after, resize_input, resize_output

AXES = ("X", "y")
_ZERO_VARIANCE_TOLERANCE = 1e-12


def compute_alignment(
    headers: dict[str, dict[str, dict[str, list[str]]]],
) -> dict[str, Any]:
    """`{"superset": {"X", "y"}, "spacers": {participant: {meta: {"X": [..], "y": [..]}}}}`."""
    if not isinstance(headers, dict) or not headers:
        raise AlignmentError("headers must be a non-empty {participant: {meta: {X, y}}} object")
    own: dict[str, dict[str, dict[str, set[str]]]] = {}
    union: dict[str, set[str]] = {axis: set() for axis in AXES}
    for participant, metas in headers.items():
        if not isinstance(metas, dict):
            raise AlignmentError(f"headers of {participant!r} must be a {{meta: {{X, y}}}} object")
        own[participant] = {}
        for meta, header in metas.items():
            own[participant][meta] = {}
            for axis in AXES:
                columns = _column_list(header, axis, f"{participant}.{meta}")
                own[participant][meta][axis] = set(columns)
                union[axis].update(columns)
    superset = {axis: sorted(union[axis]) for axis in AXES}
    spacers = {
        participant: {
            meta: {
                axis: [i for i, name in enumerate(superset[axis]) if name not in present[axis]]
                for axis in AXES
            }
            for meta, present in metas.items()
        }
        for participant, metas in own.items()
    }
    return {"superset": superset, "spacers": spacers}


def global_scaling(
    summaries: list[dict[str, dict[str, float]]],
    columns: list[str],
    categorical: Iterable[str] = (),
) -> dict[str, list]:
    """Pooled z-score parameters `{"columns", "shift", "scale"}` for `columns`.

    Each summary maps column -> {"count", "sum", "sum_sq", "min", "max"} for one Worker.
    Population variance sum_sq/count - mean^2; a (numerically) zero spread gives scale 1;
    categorical/one-hot columns and columns nobody reported get shift 0, scale 1."""
    if not isinstance(summaries, list):
        raise AlignmentError("summaries must be a list of {column: statistics} objects")
    categorical = set(categorical)
    shift: list[float] = []
    scale: list[float] = []
    for column in columns:
        count, total, total_sq = 0.0, 0.0, 0.0
        for index, summary in enumerate(summaries):
            stats = summary.get(column) if isinstance(summary, dict) else None
            if stats is None:
                continue
            count += _statistic(stats, "count", index, column)
            total += _statistic(stats, "sum", index, column)
            total_sq += _statistic(stats, "sum_sq", index, column)
        if column in categorical or count <= 0:
            shift.append(0.0)
            scale.append(1.0)
            continue
        mean = total / count
        variance = max(total_sq / count - mean * mean, 0.0)
        spread_is_zero = variance <= _ZERO_VARIANCE_TOLERANCE * max(1.0, mean * mean)
        shift.append(mean)
        scale.append(1.0 if spread_is_zero else math.sqrt(variance))
    return {"columns": list(columns), "shift": shift, "scale": scale}


def apply_alignment(
    X: np.ndarray,  # noqa: N803 - the conventional name of a feature matrix
    columns: list[str],
    superset: list[str],
    scaling: dict[str, list] | None = None,
) -> np.ndarray:
    """Scale X's own columns with the global parameters, then place them in superset order;
    absent columns are 0 (the global mean after scaling). Returns float64 (N, len(superset))."""
    matrix = np.asarray(X, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(columns):
        raise AlignmentError(
            f"X must be 2-D with {len(columns)} columns, got shape {tuple(matrix.shape)}"
        )
    position = {name: index for index, name in enumerate(superset)}
    unknown = [name for name in columns if name not in position]
    if unknown:
        raise AlignmentError("columns not in the aligned superset: " + ", ".join(unknown[:10]))
    if len(set(columns)) != len(columns):
        raise AlignmentError("X has duplicate column names")
    shift, scale = _scaling_vectors(columns, scaling)
    aligned = np.zeros((matrix.shape[0], len(superset)), dtype=np.float64)
    aligned[:, [position[name] for name in columns]] = (matrix - shift) / scale
    return aligned


def labels_to_indices(
    y_onehot: np.ndarray, y_columns: list[str], y_superset: list[str]
) -> np.ndarray:
    """Class indices (int64, (N,)) in the aligned label set from a one-hot label matrix."""
    y_onehot = np.asarray(y_onehot)
    if y_onehot.ndim != 2 or y_onehot.shape[1] != len(y_columns):
        raise AlignmentError(
            f"y must be 2-D with {len(y_columns)} columns, got shape {tuple(y_onehot.shape)}"
        )
    position = {name: index for index, name in enumerate(y_superset)}
    unknown = [name for name in y_columns if name not in position]
    if unknown:
        raise AlignmentError("label columns not in the aligned superset: " + ", ".join(unknown))
    hot = y_onehot == 1
    bad_rows = int(np.sum(hot.sum(axis=1) != 1)) if len(y_onehot) else 0
    if bad_rows or not np.all((y_onehot == 0) | hot):
        raise AlignmentError(f"y is not one-hot: {bad_rows} rows do not have exactly one 1")
    mapping = np.array([position[name] for name in y_columns], dtype=np.int64)
    return mapping[np.argmax(hot, axis=1)] if len(y_onehot) else np.zeros(0, dtype=np.int64)


def auto_fix_model(
    spec: list[dict[str, Any]], n_features: int, n_classes: int, action: str
) -> list[dict[str, Any]]:
    """Copy of `spec` resized to the aligned data (see `synalgo.spec_surgery` for which layers).

    The output layer gets 1 unit for regression or <= 2 classes, else K units with activation
    forced to softmax (kept as log_softmax when already so, for NLLLoss; left alone when a
    Softmax/LogSoftmax/Sigmoid module follows)."""
    if action not in ("classify", "regress"):
        raise AlignmentError(f"action must be classify or regress, got {action!r}")
    units = 1 if action == "regress" or n_classes <= 2 else int(n_classes)
    fixed, output_index = resize_output(resize_input(spec, n_features), units)
    if units > 1 and output_index is not None:
        layer = fixed[output_index]
        if layer.get("activation") != "log_softmax" and not has_probability_module_after(
            fixed, output_index
        ):
            layer["activation"] = "softmax"
    return fixed


def _column_list(header: Any, axis: str, where: str) -> list[str]:
    if not isinstance(header, dict):
        raise AlignmentError(f"{where}: header must be an object with X and y column lists")
    columns = header.get(axis, [])
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise AlignmentError(f"{where}.{axis}: must be a list of column names")
    if len(set(columns)) != len(columns):
        raise AlignmentError(f"{where}.{axis}: duplicate column names")
    return columns


def _statistic(stats: Any, key: str, index: int, column: str) -> float:
    value = stats.get(key) if isinstance(stats, dict) else None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise AlignmentError(f"summary {index} column {column!r}: {key} must be a finite number")
    return float(value)


def _scaling_vectors(
    columns: list[str], scaling: dict[str, list] | None
) -> tuple[np.ndarray, np.ndarray]:
    shift = np.zeros(len(columns))
    scale = np.ones(len(columns))
    if scaling is None:
        return shift, scale
    try:
        lookup = {
            name: (float(a), float(b))
            for name, a, b in zip(
                scaling["columns"], scaling["shift"], scaling["scale"], strict=True
            )
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise AlignmentError(f"scaling must have equal-length columns/shift/scale: {exc}") from exc
    for index, name in enumerate(columns):
        if name in lookup:
            shift[index], scale[index] = lookup[name]
    if np.any(scale == 0) or not np.all(np.isfinite(scale)):
        raise AlignmentError("scaling has a zero or non-finite scale")
    return shift, scale
