"""The optimisation POST body: defaults, and 422 errors naming each bad field (including
hyperparameters that are not run fields or ranges a run field rejects)."""

from __future__ import annotations

from typing import Any

import pytest

from synalgo.run_config import normalise_run
from synergos_ttp.optimization.metrics import default_mode, metric_error
from synergos_ttp.optimization.request import parse_duration, parse_request

BASE_RUNS = {"run": {"algorithm": "FedAvg", "optimizer": "SGD", "lr_scheduler": None,
                     "rounds": 1, "epochs": 1}}
LR = {"lr": {"_type": "loguniform", "_value": [0.001, 0.1]}}


def parse(body: dict[str, Any], action: str = "classify") -> tuple[Any, dict[str, str]]:
    return parse_request(body, action, BASE_RUNS.get, lambda fields: normalise_run(fields)[1])


def test_defaults_follow_the_original() -> None:
    request, errors = parse({"search_space": LR, "base_run_id": "run"})
    assert errors == {}
    assert (request.metric, request.optimize_mode, request.max_trial_num,
            request.trial_concurrency, request.max_exec_duration, request.searcher,
            request.seed) == ("accuracy", "max", 10, 1, 3600.0, "TPESampler", 42)
    assert request.base_run == BASE_RUNS["run"]
    regress, errors = parse({"search_space": LR, "metric": "MSE"}, action="regress")
    assert errors == {} and regress.optimize_mode == "min"


def test_base_run_fields_override_the_stored_run() -> None:
    request, errors = parse({"search_space": LR, "base_run_id": "run",
                             "base_run": {"epochs": 3}})
    assert errors == {}
    assert request.base_run == {**BASE_RUNS["run"], "epochs": 3}


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"search_space": {"colour": {"_type": "uniform", "_value": [0, 1]}}},
     "search_space.colour", "unknown run field"),
    ({"search_space": {"lr": {"_type": "uniform", "_value": [0, 0.1]}}},
     "search_space.lr", "at the sampled value 0"),
    ({"search_space": {"batch_size": {"_type": "uniform", "_value": [8, 64]}}},
     "search_space.batch_size", "integer"),
    ({"search_space": {"optimizer": {"_type": "choice", "_value": ["SGD", "Nope"]}}},
     "search_space.optimizer", "Nope"),
    ({"search_space": {"run_id": {"_type": "choice", "_value": ["a"]}}},
     "search_space.run_id", "identifiers"),
    ({"search_space": {"lr": {"_type": "gaussian", "_value": [0, 1]}}},
     "search_space.lr._type", "unknown sampler"),
    ({}, "search_space", "required"),
    ({"search_space": LR, "metric": "happiness"}, "metric", "unknown metric"),
    ({"search_space": LR, "optimize_mode": "up"}, "optimize_mode", "max"),
    ({"search_space": LR, "max_trial_num": 0}, "max_trial_num", "integer"),
    ({"search_space": LR, "max_trial_num": True}, "max_trial_num", "integer"),
    ({"search_space": LR, "trial_concurrency": 1000}, "trial_concurrency", "integer"),
    ({"search_space": LR, "max_exec_duration": "soon"}, "max_exec_duration", "duration"),
    ({"search_space": LR, "searcher": ["x"]}, "searcher", "unknown searcher"),
    ({"search_space": LR, "colour": 1}, "colour", "not an allowed field"),
    ({"search_space": LR, "verbose": "yes"}, "verbose", "boolean"),
    ({"search_space": LR, "base_run_id": "missing"}, "base_run_id", "no run"),
    ({"search_space": LR, "base_run": {"epochs": 0}}, "base_run.epochs", "integer"),
    ({"search_space": LR, "optim_id": "../x"}, "optim_id", "identifier"),
])
def test_bad_fields_are_named(body: dict[str, Any], field: str, words: str) -> None:
    request, errors = parse(body)
    assert request is None
    assert field in errors, errors
    assert words in errors[field]


def test_classification_metrics_do_not_apply_to_regression() -> None:
    _, errors = parse({"search_space": LR, "metric": "accuracy"}, action="regress")
    assert "metric" in errors
    assert metric_error("f1_score", "classify") is None
    assert metric_error("R2", "classify") is not None
    assert default_mode("loss") == "min" and default_mode("roc_auc_score") == "max"


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h", 3600.0), ("30m", 1800.0), ("1h 30m", 5400.0), ("90", 90.0), ("45s", 45.0),
    ("1d", 86400.0), (120, 120.0), (0.5, 0.5), (None, None)])
def test_durations(text: Any, seconds: float | None) -> None:
    assert parse_duration(text) == (seconds, None)


@pytest.mark.parametrize("text", ["", "0", "1x", -5, 0, True, "h", [1]])
def test_bad_durations(text: Any) -> None:
    assert parse_duration(text)[1] is not None
