"""The run field `dp`: checked and filled with defaults by `check_dp`.

Worker-side DP-SGD (`mode: "worker"`, the default) needs `noise_multiplier` or
`target_epsilon` (or both: then the training stops before any Worker would exceed the target);
central client-level DP (`mode: "central"`) needs `noise_multiplier`.
"""

from __future__ import annotations

import math
from typing import Any

DP_MODES: tuple[str, ...] = ("worker", "central")
DEFAULT_DELTA = 1e-5
WORKER_DEFAULTS: dict[str, Any] = {"noise_multiplier": None, "target_epsilon": None,
                                   "max_grad_norm": 1.0, "delta": DEFAULT_DELTA}
CENTRAL_DEFAULTS: dict[str, Any] = {"noise_multiplier": None, "target_epsilon": None,
                                    "clip": 0.1, "adaptive_clip": False,
                                    "delta": DEFAULT_DELTA}


def _positive(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _check_value(name: str, value: Any) -> str | None:
    if name == "adaptive_clip":
        return None if isinstance(value, bool) else "must be a boolean"
    if value is None and name in ("noise_multiplier", "target_epsilon"):
        return None
    if name == "delta":
        return None if _positive(value) and value < 1 else "must be a number > 0 and < 1"
    if name == "noise_multiplier":
        ok = _positive(value) or (value == 0 and not isinstance(value, bool))
        return None if ok else "must be a number >= 0"
    return None if _positive(value) else "must be a number > 0"


def check_dp(value: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """`(dp, errors)`: the filled `dp` object (None when off) and `{"dp.<key>": message}`."""
    if value is None:
        return None, {}
    if not isinstance(value, dict):
        return value, {"dp": 'must be an object such as {"mode": "worker", '
                             '"target_epsilon": 3.0} or null (off)'}
    mode = value.get("mode", "worker")
    if mode not in DP_MODES:
        return value, {"dp.mode": f"must be one of {', '.join(DP_MODES)}"}
    defaults = WORKER_DEFAULTS if mode == "worker" else CENTRAL_DEFAULTS
    errors: dict[str, str] = {}
    filled: dict[str, Any] = {"mode": mode, **defaults}
    for name, given in value.items():
        if name == "mode":
            continue
        if name not in defaults:
            errors[f"dp.{name}"] = (f"unknown field for mode {mode!r}; allowed: "
                                    + ", ".join(["mode", *defaults]))
            continue
        problem = _check_value(name, given)
        if problem:
            errors[f"dp.{name}"] = problem
        filled[name] = given
    if mode == "worker" and filled["noise_multiplier"] is None \
            and filled["target_epsilon"] is None:
        errors["dp.noise_multiplier"] = "noise_multiplier or target_epsilon is required"
    if mode == "central" and filled["noise_multiplier"] is None:
        errors["dp.noise_multiplier"] = "is required in central mode"
    if mode == "worker" and filled["noise_multiplier"] == 0:
        errors["dp.noise_multiplier"] = "must be > 0 for DP-SGD"
    return filled, errors
