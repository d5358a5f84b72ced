"""Search spaces in the `{_type, _value}` (Ray Tune / NNI style) format, as Optuna distributions.

`{name: {"_type": T, "_value": V}}` with T one of:

* `uniform`    `[low, high]`        floats in [low, high] (low < high);
* `loguniform` `[low, high]`        floats, log scale (0 < low < high);
* `quniform`   `[low, high, q]`     multiples of q in [low, high] (ints when all three are
  whole numbers, e.g. batch sizes);
* `randint`    `[low, high]`        integers low <= x < high (upper bound exclusive, as Ray Tune
  and NNI samplers have it);
* `choice`     `[option, ...]`      one of the listed JSON scalars (string, number, bool, null).

`parse_search_space(raw)` returns `(distributions, errors)`; errors are keyed by the field
path (`search_space.lr._value`) with a message saying what is wrong. `probe_points` gives the
extreme values of every distribution so a caller can check them against the run fields.
Optuna is imported on the first parse, so a node starts without it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

FIELD = "search_space"
SAMPLER_TYPES = ("uniform", "loguniform", "quniform", "randint", "choice")
MAX_HYPERPARAMETERS = 64
MAX_CHOICES = 1000
Distributions = dict[str, "BaseDistribution"]


def parse_search_space(raw: Any) -> tuple[Distributions, dict[str, str]]:
    """`(name -> Optuna distribution, errors)`; `errors` maps field paths to problems."""
    if not isinstance(raw, dict) or not raw:
        return {}, {FIELD: "must be a non-empty object {hyperparameter: {_type, _value}}"}
    if len(raw) > MAX_HYPERPARAMETERS:
        return {}, {FIELD: f"at most {MAX_HYPERPARAMETERS} hyperparameters"}
    distributions: Distributions = {}
    errors: dict[str, str] = {}
    for name, spec in raw.items():
        path = f"{FIELD}.{name}"
        if not isinstance(name, str) or not name.strip():
            errors[path] = "hyperparameter names must be non-empty strings"
            continue
        distribution, problem = parse_entry(spec, path)
        if distribution is None:
            errors.update(problem)
        else:
            distributions[name] = distribution
    return distributions, errors


def parse_entry(spec: Any, path: str) -> tuple[BaseDistribution | None, dict[str, str]]:
    """One `{_type, _value}` entry as a distribution, or `(None, errors)`."""
    if not isinstance(spec, dict):
        return None, {path: 'must be an object {"_type": ..., "_value": [...]}'}
    unknown = sorted(set(spec) - {"_type", "_value"})
    if unknown:
        return None, {f"{path}.{unknown[0]}": "is not allowed (only _type and _value)"}
    kind = spec.get("_type")
    if kind not in SAMPLER_TYPES:
        return None, {f"{path}._type": f"unknown sampler {kind!r}; allowed: "
                                       + ", ".join(SAMPLER_TYPES)}
    value = spec.get("_value")
    value_path = f"{path}._value"
    if not isinstance(value, list):
        return None, {value_path: "must be a list"}
    builder = {"uniform": _uniform, "loguniform": _loguniform, "quniform": _quniform,
               "randint": _randint, "choice": _choice}[kind]
    try:
        return builder(value), {}
    except ValueError as error:
        return None, {value_path: str(error)}


def probe_points(distributions: Distributions) -> list[dict[str, Any]]:
    """Two assignments: every hyperparameter at its lowest / highest value (first / last
    option for choices), plus one per further choice option, to check against a run."""
    from optuna.distributions import CategoricalDistribution

    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    extra: list[dict[str, Any]] = []
    for name, distribution in distributions.items():
        if isinstance(distribution, CategoricalDistribution):
            options = list(distribution.choices)
            low[name], high[name] = options[0], options[-1]
            extra.extend({name: option} for option in options[1:-1])
        else:
            numeric: Any = distribution  # an Int- or FloatDistribution
            low[name], high[name] = numeric.low, numeric.high
    return [low, high, *extra]


def _numbers(value: list[Any], count: int, shape: str) -> list[float]:
    if len(value) != count:
        raise ValueError(f"must be {shape} ({count} numbers), got {len(value)} item(s)")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(
                item):
            raise ValueError(f"must be {shape} of finite numbers, got {item!r}")
    return value


def _ordered(low: float, high: float) -> None:
    if not low < high:
        raise ValueError(f"low ({low}) must be less than high ({high})")


def _uniform(value: list[Any]) -> FloatDistribution:
    from optuna.distributions import FloatDistribution

    low, high = _numbers(value, 2, "[low, high]")
    _ordered(low, high)
    return FloatDistribution(float(low), float(high))


def _loguniform(value: list[Any]) -> FloatDistribution:
    from optuna.distributions import FloatDistribution

    low, high = _numbers(value, 2, "[low, high]")
    if low <= 0:
        raise ValueError(f"low ({low}) must be > 0 for a log scale")
    _ordered(low, high)
    return FloatDistribution(float(low), float(high), log=True)


def _quniform(value: list[Any]) -> FloatDistribution | IntDistribution:
    from optuna.distributions import FloatDistribution, IntDistribution

    low, high, q = _numbers(value, 3, "[low, high, q]")
    _ordered(low, high)
    if q <= 0:
        raise ValueError(f"q ({q}) must be > 0")
    first, last = math.ceil(low / q - 1e-9) * q, math.floor(high / q + 1e-9) * q
    if first > last + 1e-12:
        raise ValueError(f"no multiple of q ({q}) lies in [{low}, {high}]")
    if all(float(item).is_integer() for item in (low, high, q)):
        return IntDistribution(round(first), round(last), step=int(q))
    return FloatDistribution(float(first), float(last), step=float(q))


def _randint(value: list[Any]) -> IntDistribution:
    from optuna.distributions import IntDistribution

    low, high = _numbers(value, 2, "[low, high]")
    if not all(float(item).is_integer() for item in (low, high)):
        raise ValueError("must be [low, high] of whole numbers")
    _ordered(low, high)
    return IntDistribution(int(low), int(high) - 1)


def _choice(value: list[Any]) -> CategoricalDistribution:
    from optuna.distributions import CategoricalDistribution

    if not value:
        raise ValueError("must list at least one option")
    if len(value) > MAX_CHOICES:
        raise ValueError(f"at most {MAX_CHOICES} options")
    for item in value:
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValueError(f"options must be strings, numbers, booleans or null, got "
                             f"{type(item).__name__}")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"options must be finite, got {item!r}")
    seen: list[Any] = []
    for item in value:
        if any(type(item) is type(other) and item == other for other in seen):
            raise ValueError(f"option {item!r} is listed twice")
        seen.append(item)
    return CategoricalDistribution(value)
