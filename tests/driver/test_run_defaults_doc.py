"""The run defaults the Driver's `runs.create` docstring shows are the declared ones."""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

from synalgo.run_config import RUN_DEFAULTS
from synergos.resources.runs import Runs

# "rounds: global federated rounds (default 10)." and "`patience` (10)"
_NAMED = re.compile(r"^\s+(\w+): [^\n]*?\(default `?([^`)\s=]+)`?[^()]*\)", re.MULTILINE)
_LISTED = re.compile(r"`(\w+)` \(`?([^`)\s=:]+)`?[^()]*\)")


def _value(text: str) -> Any:
    return ast.literal_eval(text.rstrip(".,"))


def test_defaults_in_the_runs_create_docstring_are_the_declared_defaults() -> None:
    doc = inspect.getdoc(Runs.create) or ""
    shown = {name: text for name, text in [*_NAMED.findall(doc), *_LISTED.findall(doc)]
             if name in RUN_DEFAULTS}
    assert {"rounds", "epochs", "lr", "batch_size", "optimizer", "criterion", "weight_decay",
            "patience", "seed", "clip_factor", "secagg_bits"} <= set(shown), shown
    for name, text in shown.items():
        assert _value(text) == RUN_DEFAULTS[name], (name, text, RUN_DEFAULTS[name])
