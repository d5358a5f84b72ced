"""JSON value helpers: checked deep copies and fast clones."""

from __future__ import annotations

import math
from typing import Any


def clone_json(value: Any) -> Any:
    """Deep-copy a JSON value (dicts, lists, scalars) much faster than `copy.deepcopy`."""
    if isinstance(value, dict):
        return {key: clone_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone_json(item) for item in value]
    return value


def normalise_json(value: Any, path: str, errors: dict[str, str]) -> Any:
    """A deep copy of `value` as plain JSON (tuples become lists).

    Anything JSON cannot hold (non-string keys, NaN/infinity, sets, objects, bytes) is
    reported in `errors` under its dotted path and left out of the copy.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            errors[path or "details"] = "must be a finite number (NaN and infinity are not JSON)"
        return float(value)
    if isinstance(value, dict):
        copied = {}
        for key, item in value.items():
            if not isinstance(key, str):
                errors[_join(path, str(key))] = "object keys must be strings"
                continue
            copied[key] = normalise_json(item, _join(path, key), errors)
        return copied
    if isinstance(value, list | tuple):
        return [normalise_json(item, _join(path, str(i)), errors) for i, item in enumerate(value)]
    errors[path or "details"] = f"a {type(value).__name__} cannot be stored as JSON"
    return None


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part
