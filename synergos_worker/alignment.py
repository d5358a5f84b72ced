"""Checking the alignment the TTP sends against this Worker's own headers.

The TTP computes the aligned superset (sorted union of every participant's columns), each
participant's spacer indexes (superset positions it lacks) and the global scaling parameters.
The Worker accepts them only if its own columns are all in the superset and the spacers agree
with its headers, then stores them for `initialise`. Prediction data may hold columns (and
labels) training never saw: they are ignored when its tensors are built, not refused here.
"""

from __future__ import annotations

import math
from typing import Any

AXES = ("X", "y")


def _column_list(value: Any, where: str, errors: dict[str, str]) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors[where] = "must be a list of column names"
        return None
    if len(set(value)) != len(value):
        errors[where] = "has duplicate column names"
        return None
    return value


def _check_superset(body: dict[str, Any], errors: dict[str, str]) -> dict[str, list[str]]:
    superset = body.get("superset")
    if not isinstance(superset, dict):
        errors["superset"] = "must be an object {X: [columns], y: [columns]}"
        return {}
    checked = {}
    for axis in AXES:
        columns = _column_list(superset.get(axis), f"superset.{axis}", errors)
        if columns is not None:
            checked[axis] = columns
    return checked


def _expected_spacers(headers: dict[str, list[str]], superset: dict[str, list[str]]
                      ) -> dict[str, list[int]]:
    spacers = {}
    for axis in AXES:
        present = set(headers[axis])
        spacers[axis] = [index for index, name in enumerate(superset[axis])
                         if name not in present]
    return spacers


def _check_spacers(body: dict[str, Any], own: dict[str, dict[str, list[str]]],
                   superset: dict[str, list[str]], errors: dict[str, str]) -> None:
    spacers = body.get("spacers", {})
    if spacers is None:
        return
    if not isinstance(spacers, dict):
        errors["spacers"] = "must be an object {meta: {X: [indexes], y: [indexes]}}"
        return
    for meta, given in spacers.items():
        where = f"spacers.{meta}"
        if meta not in own:
            errors[where] = f"this Worker has no {meta!r} data"
            continue
        expected = _expected_spacers(own[meta], superset)
        if not isinstance(given, dict):
            errors[where] = "must be an object {X: [indexes], y: [indexes]}"
            continue
        for axis in AXES:
            value = given.get(axis, [])
            if value != expected[axis]:
                errors[f"{where}.{axis}"] = (
                    f"disagrees with this Worker's headers (expected {expected[axis][:20]}"
                    f"{'...' if len(expected[axis]) > 20 else ''})")


def _check_scaling(body: dict[str, Any], superset_x: list[str],
                   errors: dict[str, str]) -> dict[str, list] | None:
    scaling = body.get("scaling")
    if scaling is None:
        return None
    if not isinstance(scaling, dict):
        errors["scaling"] = "must be an object {columns: [..], shift: [..], scale: [..]}"
        return None
    columns = _column_list(scaling.get("columns"), "scaling.columns", errors)
    vectors = {}
    for name in ("shift", "scale"):
        values = scaling.get(name)
        if not isinstance(values, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in values):
            errors[f"scaling.{name}"] = "must be a list of finite numbers"
            return None
        vectors[name] = [float(v) for v in values]
    if columns is None:
        return None
    if not len(columns) == len(vectors["shift"]) == len(vectors["scale"]):
        errors["scaling"] = "columns, shift and scale must have the same length"
        return None
    if any(value <= 0 for value in vectors["scale"]):
        errors["scaling.scale"] = "every scale must be positive"
    unknown = sorted(set(columns) - set(superset_x))
    if unknown:
        errors["scaling.columns"] = "not in superset.X: " + ", ".join(unknown[:10])
    return {"columns": columns, **vectors}


def validate_alignment(body: dict[str, Any], own: dict[str, dict[str, list[str]]]
                       ) -> tuple[dict[str, Any], dict[str, str]]:
    """`(alignment to store, errors)` for the TTP's align `body`, checked against `own`
    (this Worker's `{meta: {"X": [..], "y": [..]}}` headers); errors map field -> problem."""
    errors: dict[str, str] = {}
    superset = _check_superset(body, errors)
    for axis in AXES:
        if axis not in superset:
            continue
        missing = {meta: sorted(set(headers[axis]) - set(superset[axis]))
                   for meta, headers in own.items() if meta != "predict"}
        missing = {meta: columns for meta, columns in missing.items() if columns}
        if missing:
            errors[f"superset.{axis}"] = "lacks this Worker's columns: " + "; ".join(
                f"{meta}: {', '.join(columns[:10])}" for meta, columns in sorted(missing.items()))
    if errors:
        return {}, errors
    _check_spacers(body, own, superset, errors)
    scaling = _check_scaling(body, superset["X"], errors)
    if errors:
        return {}, errors
    alignment = {
        "superset": superset,
        "spacers": {meta: _expected_spacers(headers, superset) for meta, headers in own.items()},
        "scaling": scaling,
        "headers": own,
    }
    return alignment, {}
