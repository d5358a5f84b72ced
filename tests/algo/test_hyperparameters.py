"""A strategy's own run fields: declared once on the strategy, collected everywhere a run
field is known (defaults, checks, reserved names, the TTP's API schema)."""

from __future__ import annotations

import pytest

from synalgo.hyperparameters import Hyperparameter, collect_hyperparameters, number
from synalgo.run_config import FIELD_CHECKS, RESERVED_FIELDS, RUN_DEFAULTS, normalise_run
from synalgo.run_fields import PLATFORM_DEFAULTS
from synalgo.strategies import STRATEGIES, Strategy
from synergos_ttp.api.schemas import BODY_SCHEMAS


class Declaring(Strategy):
    name = "Declaring"
    hyperparameters = (Hyperparameter("alpha", 1.0, number(0.0)),)


class Platformish(Strategy):
    name = "Platformish"
    hyperparameters = (Hyperparameter("rounds", 3, number(1.0)),)


def test_every_declared_field_has_its_default_check_and_api_schema() -> None:
    run_schema = BODY_SCHEMAS["Run"][0]["properties"]
    for strategy in STRATEGIES.values():
        for field in strategy.hyperparameters:
            assert RUN_DEFAULTS[field.name] == field.default
            assert FIELD_CHECKS[field.name] is field.check
            assert field.name in RESERVED_FIELDS
            assert run_schema[field.name]["description"].startswith(field.description)
            assert field.name not in PLATFORM_DEFAULTS


def test_a_strategy_check_names_the_field() -> None:
    _, errors = normalise_run({"algorithm": "FedProx", "mu": -1})
    assert errors == {"mu": "must be a number >= 0.0"}


def test_two_strategies_may_not_give_one_name_two_meanings() -> None:
    with pytest.raises(ValueError, match="Declaring and FedGKT both declare run field 'alpha'"):
        collect_hyperparameters([STRATEGIES["FedGKT"], Declaring])


def test_a_strategy_may_not_redeclare_a_platform_field() -> None:
    with pytest.raises(ValueError, match="Platformish declares run field 'rounds'"):
        collect_hyperparameters([Platformish], taken=PLATFORM_DEFAULTS)


def test_a_family_shares_one_declaration() -> None:
    family = [STRATEGIES[name] for name in ("FedAvgM", "FedAdam", "FedYogi", "FedAdagrad")]
    assert set(collect_hyperparameters(family)) == {
        "server_lr", "server_momentum", "beta_1", "beta_2", "tau"}
