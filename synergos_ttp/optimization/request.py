"""The body of `POST .../models/<e>/optimizations`, checked field by field.

`parse_request(body, action, base_fields, check_run)` returns `(OptimizationRequest, errors)`;
`errors` maps field paths (`search_space.lr._value`, `metric`, `base_run.epochs`) to problems.
Every hyperparameter is checked against the run fields: its extreme values (and each choice)
are merged into the base run and normalised with `check_run`, so a name that is not a run
field, or a range a run field rejects (`lr` down to 0), is refused before any job starts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from synergos_ttp.optimization.metrics import DEFAULT_METRIC, default_mode, metric_error
from synergos_ttp.optimization.search_space import FIELD, parse_search_space, probe_points

DEFAULT_MAX_TRIALS = 10
MAX_TRIALS = 1000
MAX_CONCURRENCY = 64
DEFAULT_DURATION = "1h"
DEFAULT_SEED = 42
SEARCHERS = {"TPESampler": "TPESampler", "RandomSampler": "RandomSampler",
             "tpe": "TPESampler", "random": "RandomSampler",
             # Ray Tune's searcher names
             "OptunaSearch": "TPESampler", "BasicVariantGenerator": "RandomSampler"}
JOB_FLAGS = ("auto_align", "dockerised", "verbose", "log_msgs")
# Ray Tune / NNI options accepted so older requests validate; they change nothing.
COMPAT_OPTIONS = {"backend": str, "scheduler": str, "is_remote": bool, "use_annotation": bool}
IDENTIFIERS = ("project_id", "expt_id", "run_id", "participant_id")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw]?)$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

RunCheck = Callable[[dict[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class OptimizationRequest:
    """A checked optimisation request (`as_params()` is its JSON form for the job)."""

    search_space: dict[str, Any]
    metric: str
    optimize_mode: str
    max_trial_num: int
    trial_concurrency: int
    max_exec_duration: float | None
    searcher: str
    seed: int
    optim_id: str | None
    base_run_id: str | None
    base_run: dict[str, Any]

    def as_params(self) -> dict[str, Any]:
        """JSON-serialisable fields."""
        return asdict(self)


def parse_duration(value: Any) -> tuple[float | None, str | None]:
    """Seconds from a number or a text like `"1h"`, `"30m"`, `"1h 30m"`, `"90"`; null means no
    limit. Returns `(seconds, problem)`."""
    problem = 'must be seconds (> 0), a duration like "1h", "30m", "1h 30m", or null'
    if value is None:
        return None, None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (float(value), None) if math.isfinite(value) and value > 0 else (None, problem)
    if not isinstance(value, str) or not value.strip():
        return None, problem
    total = 0.0
    for part in value.split():
        match = _DURATION_PART.match(part)
        if match is None:
            return None, problem
        total += float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return (total, None) if total > 0 else (None, problem)


def parse_request(body: dict[str, Any], action: str,
                  base_fields: Callable[[str], dict[str, Any] | None],
                  check_run: RunCheck) -> tuple[OptimizationRequest | None, dict[str, str]]:
    """Check a POST body; `base_fields(run_id)` reads an existing run's fields (None if it
    does not exist), `check_run(fields)` returns a run's field errors."""
    errors: dict[str, str] = {}
    for name, value in body.items():
        problem = _option_error(name, value)
        if problem:
            errors[name] = problem
    if FIELD not in body:
        errors[FIELD] = "is required"
    distributions, space_errors = parse_search_space(body.get(FIELD, {}))
    if FIELD in body:
        errors.update(space_errors)
    metric = body.get("metric", DEFAULT_METRIC.get(action, "accuracy"))
    problem = metric_error(metric, action)
    if problem:
        errors["metric"] = problem
    mode = body.get("optimize_mode", default_mode(metric) if not problem else "max")
    if mode not in ("max", "min"):
        errors["optimize_mode"] = "must be 'max' or 'min'"
    trials = _integer(body, "max_trial_num", DEFAULT_MAX_TRIALS, MAX_TRIALS, errors)
    concurrency = _integer(body, "trial_concurrency", 1, MAX_CONCURRENCY, errors)
    seed = _integer(body, "seed", DEFAULT_SEED, 2**31 - 1, errors, minimum=0)
    duration, problem = parse_duration(body.get("max_exec_duration", DEFAULT_DURATION))
    if problem:
        errors["max_exec_duration"] = problem
    searcher_name = body.get("searcher", "TPESampler")
    searcher = SEARCHERS.get(searcher_name) if isinstance(searcher_name, str) else None
    if searcher is None:
        errors["searcher"] = "unknown searcher; allowed: " + ", ".join(SEARCHERS)
    optim_id = body.get("optim_id")
    if optim_id is not None and not (isinstance(optim_id, str) and _ID.match(optim_id)):
        errors["optim_id"] = "must be an identifier (letters, digits, _ . -; up to 128)"
    base, base_run_id = _base_run(body, base_fields, errors)
    for name in distributions:
        if name in IDENTIFIERS:
            errors[f"{FIELD}.{name}"] = "identifiers cannot be tuned"
    if not errors:
        fallback = "base_run_id" if base_run_id is not None else "base_run"
        errors.update(_check_against_runs(distributions, base, body.get("base_run") or {},
                                          check_run, fallback))
    if errors:
        return None, errors
    assert searcher is not None  # else `errors` names it
    return OptimizationRequest(
        search_space=body[FIELD], metric=metric, optimize_mode=mode, max_trial_num=trials,
        trial_concurrency=concurrency, max_exec_duration=duration, searcher=searcher,
        seed=seed, optim_id=optim_id, base_run_id=base_run_id, base_run=base), {}


def _option_error(name: str, value: Any) -> str | None:
    if name in JOB_FLAGS or COMPAT_OPTIONS.get(name) is bool:
        return None if isinstance(value, bool) else "must be a boolean"
    if COMPAT_OPTIONS.get(name) is str:
        return None if isinstance(value, str) else "must be a string"
    if name in (FIELD, "metric", "optimize_mode", "max_trial_num", "trial_concurrency",
                "max_exec_duration", "searcher", "seed", "optim_id", "base_run_id",
                "base_run"):
        return None
    return "is not an allowed field"


def _integer(body: dict[str, Any], name: str, default: int, maximum: int,
             errors: dict[str, str], minimum: int = 1) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not (
            minimum <= value <= maximum):
        errors[name] = f"must be an integer from {minimum} to {maximum}"
        return default
    return value


def _base_run(body: dict[str, Any], base_fields: Callable[[str], dict[str, Any] | None],
              errors: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """The base run: an existing run's fields (`base_run_id`) updated by `base_run`."""
    fields: dict[str, Any] = {}
    run_id = body.get("base_run_id")
    if run_id is not None:
        stored = base_fields(run_id) if isinstance(run_id, str) and _ID.match(run_id) else None
        if stored is None:
            errors["base_run_id"] = f"no run {run_id!r} in this experiment"
        else:
            fields.update(stored)
    extra = body.get("base_run", {})
    if not isinstance(extra, dict):
        errors["base_run"] = "must be an object of run fields"
    else:
        for name in extra:
            if name in IDENTIFIERS:
                errors[f"base_run.{name}"] = "identifiers cannot be set here"
        fields.update({k: v for k, v in extra.items() if k not in IDENTIFIERS})
    return fields, run_id


def _check_against_runs(distributions: dict[str, Any], base: dict[str, Any],
                        overrides: dict[str, Any], check_run: RunCheck,
                        fallback: str) -> dict[str, str]:
    """Each probe point merged into the base run must be a valid run."""
    errors: dict[str, str] = {}
    for point in probe_points(distributions):
        for name, problem in check_run({**base, **point}).items():
            if name in point:
                errors.setdefault(f"{FIELD}.{name}",
                                  f"{problem} (at the sampled value {point[name]!r})")
            elif name in distributions:
                continue  # reported by the point that sets it
            else:
                where = f"base_run.{name}" if name in overrides else fallback
                errors.setdefault(where, f"{name}: {problem}")
    return errors
