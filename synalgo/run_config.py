"""Normalise a run configuration: fill the defaults and validate every field.

`normalise_run(fields)` returns `(run, errors)`. Known fields (`RUN_DEFAULTS`) are type- and
range-checked; component names (`algorithm`, `optimizer`, `criterion`, `lr_scheduler`) must be
on their allow-lists (matched case-insensitively, stored canonically; `lr_scheduler` null or ""
means no scheduler). Any other field must be a constructor argument of the chosen optimizer,
criterion or scheduler with a JSON value of the right type (pass-through, e.g. `momentum`,
`base_lr`, `max_lr`, `step_size`, `gamma`, `reduction`, `pos_weight`); otherwise the error
names the field. Explicit 0/False values are kept and reach the constructors (they are
never dropped as falsy). The platform's fields are `PLATFORM_DEFAULTS`/`PLATFORM_CHECKS`
(`INFORMATIONAL_FIELDS` are checked but stored only when given);
each strategy adds its own (`Strategy.hyperparameters`) and rules out the combinations it
cannot serve (`Strategy.check_run`); `dp` is checked by `synalgo.privacy.config.check_dp`,
the secure-aggregation fields and their conflicts by
`synalgo.secure_aggregation.config.check_run`. Finally
the optimizer, scheduler and criterion are built once on a dummy parameter so constructor
errors surface at creation time. The builders live in `synalgo.components`.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from synalgo.components import (
    auto_filled_scheduler_arguments,
    build_criterion,
    build_optimizer,
    build_scheduler,
    criterion_class,
    optimizer_class,
    scheduler_class,
)
from synalgo.hyperparameters import Checker, collect_hyperparameters
from synalgo.privacy.config import check_dp
from synalgo.run_fields import (
    AGGREGATORS,
    CRITERION_ALLOW_LIST,
    IDENTIFIER_FIELDS,
    INFORMATIONAL_DECLARATIONS,
    INFORMATIONAL_FIELDS,
    OPTIMIZER_ALLOW_LIST,
    PLATFORM_DEFAULTS,
    PLATFORM_FIELDS,
    SCHEDULER_ALLOW_LIST,
)
from synalgo.secure_aggregation import config as secure_aggregation
from synalgo.signatures import ParamRule, constructor_rules
from synalgo.strategies.registry import STRATEGIES, SUPPORTED_ALGORITHMS

__all__ = [
    "FIELD_CHECKS",
    "RESERVED_FIELDS",
    "RUN_DEFAULTS",
    "STRATEGY_FIELDS",
    "SUPPORTED_ALGORITHMS",
    "build_criterion",
    "build_optimizer",
    "build_scheduler",
    "normalise_run",
]


# The platform's checks (the fields without one are checked with others below).
PLATFORM_CHECKS: dict[str, Checker] = {
    field.name: field.check for field in (*PLATFORM_FIELDS, *INFORMATIONAL_DECLARATIONS)
    if field.check is not None}

# Every strategy's own run fields, by name (`Strategy.hyperparameters`).
STRATEGY_FIELDS = collect_hyperparameters(
    STRATEGIES.values(), taken=(*PLATFORM_DEFAULTS, *INFORMATIONAL_FIELDS))
RUN_DEFAULTS: dict[str, Any] = {
    **PLATFORM_DEFAULTS, **{name: field.default for name, field in STRATEGY_FIELDS.items()}}
FIELD_CHECKS: dict[str, Checker] = {
    **PLATFORM_CHECKS, **{name: field.check for name, field in STRATEGY_FIELDS.items()
                          if field.check is not None}}
# Run fields keep their run meaning and are never passed to a constructor by name, even where
# a constructor has a parameter of the same name (HuberLoss `delta`, RMSprop `alpha`,
# ReduceLROnPlateau `patience`, Adagrad `lr_decay`, OneCycleLR `epochs`). The optimizer gets
# `lr` and `weight_decay` explicitly.
RESERVED_FIELDS = frozenset(RUN_DEFAULTS) | frozenset(INFORMATIONAL_FIELDS) | frozenset(
    IDENTIFIER_FIELDS
)

NAMED_COMPONENTS: dict[str, tuple[str, ...]] = {
    "algorithm": SUPPORTED_ALGORITHMS,
    "optimizer": OPTIMIZER_ALLOW_LIST,
    "criterion": CRITERION_ALLOW_LIST,
    "lr_scheduler": SCHEDULER_ALLOW_LIST,
    "aggregator": AGGREGATORS,
}


def normalise_run(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Defaults filled and values checked: `(run, errors)`; `errors` maps field -> message."""
    if not isinstance(fields, dict):
        return dict(RUN_DEFAULTS), {"run": "must be an object of run fields"}
    run = dict(RUN_DEFAULTS)
    errors: dict[str, str] = {}
    extra: dict[str, Any] = {}
    for name, value in fields.items():
        if not isinstance(name, str):
            errors[str(name)] = "field names must be strings"
        elif name == "dp":
            run[name], problems = check_dp(value)
            errors.update(problems)
        elif name in NAMED_COMPONENTS:
            canonical, problem = _canonical_name(name, value, NAMED_COMPONENTS[name])
            run[name] = canonical
            if problem:
                errors[name] = problem
        elif name in secure_aggregation.FIELDS:
            run[name] = value  # checked with the run below
        elif name in FIELD_CHECKS:
            problem = FIELD_CHECKS[name](value)
            run[name] = value
            if problem:
                errors[name] = problem
        elif name in IDENTIFIER_FIELDS:
            run[name] = value
            if not isinstance(value, str):
                errors[name] = "must be a string"
        else:
            extra[name] = value
    errors.update(_check_pass_through(run, extra, errors))
    run.update({k: v for k, v in extra.items() if k not in errors})
    for name, problem in _check_algorithm_requirements(run).items():
        errors.setdefault(name, problem)
    errors.update(_check_compression(run, errors))
    errors.update(secure_aggregation.check_run(run, errors))
    if not errors:
        errors.update(_dry_build(run))
    return run, errors


def _canonical_name(field: str, value: Any, allowed: tuple[str, ...]) -> tuple[Any, str | None]:
    if field == "lr_scheduler" and value in (None, ""):
        return None, None
    if isinstance(value, str):
        by_lower = {name.lower(): name for name in allowed}
        if value.lower() in by_lower:
            return by_lower[value.lower()], None
    return value, f"unknown {field} {value!r}; allowed: " + ", ".join(allowed)


def _target_classes(run: dict[str, Any], errors: dict[str, str]) -> list[type]:
    targets: list[type] = []
    if "optimizer" not in errors:
        targets.append(optimizer_class(run))
    if "criterion" not in errors:
        targets.append(criterion_class(run))
    if "lr_scheduler" not in errors and (scheduler := scheduler_class(run)) is not None:
        targets.append(scheduler)
    return targets


def _check_pass_through(
    run: dict[str, Any], extra: dict[str, Any], errors: dict[str, str]
) -> dict[str, str]:
    targets = _target_classes(run, errors)
    rules_by_class = {cls: constructor_rules(cls) for cls in targets}
    problems: dict[str, str] = {}
    names = ", ".join(cls.__name__ for cls in targets) or "the chosen components"
    for name, value in extra.items():
        accepting = [(cls, rules[name]) for cls, rules in rules_by_class.items() if name in rules]
        if not accepting:
            problems[name] = (
                f"unknown run field: not a run setting nor a constructor argument of {names}"
            )
            continue
        for cls, rule in accepting:
            problem = rule.check(value)
            if problem:
                problems[name] = f"{cls.__name__}: {problem}"
                break
    scheduler_type = scheduler_class(run) if "lr_scheduler" not in errors else None
    if scheduler_type is not None:
        scheduler = run["lr_scheduler"]
        filled = auto_filled_scheduler_arguments(scheduler)
        for name, rule in constructor_rules(scheduler_type).items():
            if _missing_required(rule, extra, filled):
                problems[name] = f"is required by {scheduler}"
    return problems


def _missing_required(rule: ParamRule, extra: dict[str, Any], filled: frozenset[str]) -> bool:
    return rule.required and rule.name not in extra and rule.name not in filled


def _check_compression(run: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Combinations `update_compression` cannot serve."""
    if run.get("update_compression", "none") == "none" or "update_compression" in errors:
        return {}
    if run.get("is_snn") is True:
        return {"update_compression": "secure aggregation (is_snn) quantises updates on its "
                                      "own: only \"none\" applies"}
    return {}


def _check_algorithm_requirements(run: dict[str, Any]) -> dict[str, str]:
    dp = run.get("dp")
    if isinstance(dp, dict) and dp.get("mode") == "central" and run.get("aggregator") != "mean":
        return {"dp": "central DP needs aggregator 'mean' (its noise is calibrated to the "
                      "clipped mean)"}
    strategy = STRATEGIES.get(str(run.get("algorithm")))
    return strategy.check_run(run) if strategy is not None else {}


def _dry_build(run: dict[str, Any]) -> dict[str, str]:
    """Instantiate the components once so constructor-level errors surface now."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            optimizer = build_optimizer(run, [parameter])
        except Exception as exc:  # report any constructor failure
            return {"optimizer": f"{run['optimizer']} cannot be built: {exc}"}
        try:
            build_scheduler(run, optimizer)
        except Exception as exc:
            return {"lr_scheduler": f"{run['lr_scheduler']} cannot be built: {exc}"}
        try:
            build_criterion(run)
        except Exception as exc:
            return {"criterion": f"{run['criterion']} cannot be built: {exc}"}
    return {}
