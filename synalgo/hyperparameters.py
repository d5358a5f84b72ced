"""Run-field declarations: a name, a default, a check and a JSON schema, kept together.

A strategy lists the run fields only it reads in `Strategy.hyperparameters`;
`synalgo.run_config` collects them into the run defaults and checks and the TTP's API schema
documents them, so a new strategy adds its fields in its own module. Field names are one flat
namespace shared with the platform's fields (`synalgo.run_fields`): a strategy whose
customary name for a setting is taken prefixes it with its own lower-case name
(FedDyn's `alpha` is `feddyn_alpha`, as FedGKT's `alpha` came first).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Checker = Callable[[Any], str | None]


@dataclass(frozen=True)
class Rule:
    """A check (a message, or None when the value passes) with the JSON schema (draft
    2020-12) that says the same, so a field's bounds are written once."""

    test: Checker
    schema: dict[str, Any]

    def __call__(self, value: Any) -> str | None:
        return self.test(value)


def integer(minimum: int) -> Rule:
    """An integer (not a bool) >= `minimum`."""
    def check(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"must be an integer >= {minimum}"
        return None if value >= minimum else f"must be an integer >= {minimum}"

    return Rule(check, {"type": "integer", "minimum": minimum})


def number(low: float, high: float = math.inf, low_open: bool = False,
           high_open: bool = False) -> Rule:
    """A finite number (not a bool) within the bounds (open or closed at each end)."""
    low_sign = ">" if low_open else ">="
    high_sign = "<" if high_open else "<="
    text = f"must be a number {low_sign} {low}"
    if high != math.inf:
        text += f" and {high_sign} {high}"

    def check(value: Any) -> str | None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return text
        if not math.isfinite(value):
            return text
        if value < low or (low_open and value == low):
            return text
        if value > high or (high_open and value == high):
            return text
        return None

    schema: dict[str, Any] = {"type": "number",
                              "exclusiveMinimum" if low_open else "minimum": low}
    if high != math.inf:
        schema["exclusiveMaximum" if high_open else "maximum"] = high
    return Rule(check, schema)


boolean = Rule(lambda value: None if isinstance(value, bool) else "must be a boolean",
               {"type": "boolean"})
"""A JSON boolean."""


def optional(rule: Rule) -> Rule:
    """`rule`, or null."""
    schema = dict(rule.schema)
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    else:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return Rule(lambda value: None if value is None else rule(value), schema)


def one_of(allowed: tuple[str, ...]) -> Rule:
    """One of the `allowed` strings."""
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"
    return Rule(check, {"enum": list(allowed)})


@dataclass(frozen=True)
class Hyperparameter:
    """One run field: its default, its check (a message or None; None where the run config
    checks the field with others), its JSON schema (draft 2020-12; a `Rule` check brings
    its own) and a one-line description. The run defaults, the run checks, the REST API's
    run schema and the archive's run schema are all read from these declarations."""

    name: str
    default: Any
    check: Checker | None
    schema: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def json_schema(self) -> dict[str, Any]:
        """The declared schema, else the check's own (a `Rule`), else any value."""
        if self.schema:
            return dict(self.schema)
        return dict(self.check.schema) if isinstance(self.check, Rule) else {}

    def api_schema(self) -> dict[str, Any]:
        """The schema with its description and default, as the REST API documents it."""
        return {**self.json_schema(),
                "description": f"{self.description} (default {json.dumps(self.default)})"}


def collect_hyperparameters(
    strategies: Iterable[Any], taken: Iterable[str] = ()
) -> dict[str, Hyperparameter]:
    """Every strategy's hyperparameters by name. A name may be declared by several strategies
    only as the same declaration (a family sharing it); it may not be one of `taken` (the
    platform's fields). Raises `ValueError` naming the strategies otherwise."""
    taken = set(taken)
    collected: dict[str, Hyperparameter] = {}
    owners: dict[str, str] = {}
    for strategy in strategies:
        for declared in strategy.hyperparameters:
            if declared.name in taken:
                raise ValueError(f"{strategy.name} declares run field {declared.name!r}, "
                                 "a platform field")
            known = collected.get(declared.name)
            if known is not None and known is not declared:
                raise ValueError(f"{strategy.name} and {owners[declared.name]} both declare "
                                 f"run field {declared.name!r}: prefix one with its "
                                 "strategy's name")
            collected[declared.name] = declared
            owners.setdefault(declared.name, strategy.name)
    return collected
