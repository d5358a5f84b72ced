"""Search-space parsing: `{_type, _value}` (Ray Tune / NNI style) -> Optuna distributions,
and errors that name the exact field."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from synergos_ttp.optimization.search_space import parse_search_space, probe_points


def parse_one(kind: str, value: object) -> object:
    distributions, errors = parse_search_space({"x": {"_type": kind, "_value": value}})
    assert errors == {}
    return distributions["x"]


def test_each_sampler_type_becomes_its_distribution() -> None:
    uniform = parse_one("uniform", [0.1, 0.9])
    assert isinstance(uniform, FloatDistribution)
    assert (uniform.low, uniform.high, uniform.log, uniform.step) == (0.1, 0.9, False, None)
    log = parse_one("loguniform", [1e-4, 1e-1])
    assert isinstance(log, FloatDistribution) and log.log and log.low == 1e-4
    # randint: upper bound exclusive, as Ray Tune and NNI samplers have it
    integer = parse_one("randint", [1, 5])
    assert isinstance(integer, IntDistribution) and (integer.low, integer.high) == (1, 4)
    # quniform: multiples of q inside [low, high]; whole numbers give integers
    batch = parse_one("quniform", [10, 70, 16])
    assert isinstance(batch, IntDistribution) and (batch.low, batch.high, batch.step) == (
        16, 64, 16)
    fine = parse_one("quniform", [0.05, 0.5, 0.1])
    assert isinstance(fine, FloatDistribution) and fine.step == 0.1
    assert fine.low == pytest.approx(0.1) and fine.high == pytest.approx(0.5)
    choice = parse_one("choice", ["SGD", "Adam", None, 3])
    assert isinstance(choice, CategoricalDistribution)
    assert choice.choices == ("SGD", "Adam", None, 3)


def test_sampled_values_stay_inside_the_declared_ranges() -> None:
    distributions, errors = parse_search_space({
        "epochs": {"_type": "randint", "_value": [1, 3]},
        "batch_size": {"_type": "quniform", "_value": [16, 64, 16]},
        "lr": {"_type": "loguniform", "_value": [0.001, 0.1]}})
    assert errors == {}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(60):
        params = study.ask(fixed_distributions=distributions).params
        assert params["epochs"] in (1, 2)
        assert params["batch_size"] in (16, 32, 48, 64)
        assert isinstance(params["batch_size"], int)
        assert 0.001 <= params["lr"] <= 0.1
        seen.add(params["epochs"])
    assert seen == {1, 2}


@pytest.mark.parametrize(("space", "field", "words"), [
    ({"lr": {"_type": "gaussian", "_value": [0, 1]}}, "search_space.lr._type", "unknown"),
    ({"lr": {"_type": "uniform", "_value": [0.1]}}, "search_space.lr._value", "[low, high]"),
    ({"lr": {"_type": "uniform", "_value": "0.1,0.2"}}, "search_space.lr._value", "list"),
    ({"lr": {"_type": "uniform", "_value": [0.5, 0.1]}}, "search_space.lr._value",
     "less than"),
    ({"lr": {"_type": "uniform", "_value": [0.1, 0.1]}}, "search_space.lr._value",
     "less than"),
    ({"lr": {"_type": "loguniform", "_value": [0, 0.1]}}, "search_space.lr._value", "> 0"),
    ({"lr": {"_type": "uniform", "_value": [0, True]}}, "search_space.lr._value", "finite"),
    ({"e": {"_type": "randint", "_value": [1.5, 4]}}, "search_space.e._value", "whole"),
    ({"e": {"_type": "randint", "_value": [3, 3]}}, "search_space.e._value", "less than"),
    ({"b": {"_type": "quniform", "_value": [1, 9, 0]}}, "search_space.b._value", "q"),
    ({"b": {"_type": "quniform", "_value": [1, 3, 5]}}, "search_space.b._value", "multiple"),
    ({"o": {"_type": "choice", "_value": []}}, "search_space.o._value", "at least one"),
    ({"o": {"_type": "choice", "_value": [[1, 2]]}}, "search_space.o._value", "strings"),
    ({"o": {"_type": "choice", "_value": ["a", "a"]}}, "search_space.o._value", "twice"),
    ({"o": {"_type": "choice", "_value": [1], "extra": 2}}, "search_space.o.extra",
     "not allowed"),
    ({"o": ["choice", [1]]}, "search_space.o", "object"),
    ({}, "search_space", "non-empty"),
])
def test_invalid_entries_name_the_field(space: dict, field: str, words: str) -> None:
    distributions, errors = parse_search_space(space)
    assert field in errors, errors
    assert words in errors[field]
    assert distributions == {} or field.split(".")[1] not in distributions


def test_one_bad_entry_does_not_hide_the_others() -> None:
    _, errors = parse_search_space({"lr": {"_type": "nope", "_value": [1]},
                                    "mu": {"_type": "uniform", "_value": [2, 1]},
                                    "ok": {"_type": "uniform", "_value": [0, 1]}})
    assert set(errors) == {"search_space.lr._type", "search_space.mu._value"}


def test_probe_points_cover_the_extremes_and_every_choice() -> None:
    distributions, _ = parse_search_space({
        "lr": {"_type": "uniform", "_value": [0.01, 0.2]},
        "optimizer": {"_type": "choice", "_value": ["SGD", "Adam", "RMSprop"]}})
    points = probe_points(distributions)
    assert {"lr": 0.01, "optimizer": "SGD"} in points
    assert {"lr": 0.2, "optimizer": "RMSprop"} in points
    assert {"optimizer": "Adam"} in points
