"""Run normalisation and the optimizer/criterion/scheduler builders."""

from __future__ import annotations

import pytest
import torch

from synalgo.errors import RunConfigError
from synalgo.run_config import (
    RUN_DEFAULTS,
    build_criterion,
    build_optimizer,
    build_scheduler,
    normalise_run,
)
from synalgo.run_fields import INFORMATIONAL_FIELDS
from synalgo.strategies import get_strategy


def normalised(**fields) -> dict:
    run, errors = normalise_run(fields)
    assert errors == {}
    return run


def one_parameter() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(3))]


def test_defaults_follow_the_reference():
    run = normalised()
    expected = {
        "algorithm": "FedProx", "rounds": 10, "epochs": 100, "lr": 0.001, "weight_decay": 0.0,
        "lr_decay": 0.1, "mu": 0.1, "l1_lambda": 0.0, "l2_lambda": 0.0, "optimizer": "SGD",
        "criterion": "BCELoss", "lr_scheduler": "CyclicLR", "delta": 0.0, "patience": 10,
        "seed": 42, "batch_size": None, "round_timeout": 600.0, "min_workers": None,
        "aggregator": "mean",
        "trim_ratio": 0.1, "krum_byzantine": 0, "update_clip": "auto", "clip_factor": 5.0,
        "update_compression": "none",
        "server_lr": 1.0, "server_momentum": 0.9,
        "beta_1": 0.9, "beta_2": 0.99, "tau": 1e-3, "L": None, "temperature": 3.0,
        "alpha": 0.5, "server_epochs": 1, "whether_distill_on_the_server": True,
        "allow_label_sharing": False, "contribution": False, "contribution_metric": None,
        "contribution_method": "auto", "feddyn_alpha": 0.01,
        "dp": None, "secure_aggregation": False, "secagg_clip": 8.0, "secagg_bits": 22,
        "secagg_threshold": None,
    }
    assert run == expected
    assert run == RUN_DEFAULTS


def test_no_effect_fields_are_accepted_when_given_but_not_stamped():
    assert not set(INFORMATIONAL_FIELDS) & set(normalised())
    run = normalised(is_condensed=False, precision_fractional=3, is_snn=False, use_CLR=True)
    assert (run["is_condensed"], run["precision_fractional"], run["is_snn"], run["use_CLR"]) == (
        False, 3, False, True)


def test_seed_example_run_is_valid():
    run = normalised(rounds=2, epochs=1, base_lr=0.0005, max_lr=0.005, criterion="NLLLoss")
    assert run["base_lr"] == 0.0005 and run["criterion"] == "NLLLoss"
    scheduler = build_scheduler(run, build_optimizer(run, one_parameter()))
    assert scheduler.base_lrs == [0.0005]
    assert scheduler.max_lrs == [0.005]


def test_component_names_are_canonicalised():
    run = normalised(algorithm="fedavg", optimizer="adam", criterion="mseloss",
                     lr_scheduler="steplr", step_size=2)
    assert (run["algorithm"], run["optimizer"], run["criterion"], run["lr_scheduler"]) == (
        "FedAvg", "Adam", "MSELoss", "StepLR"
    )


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"rounds": 0}, "rounds", ">= 1"),
        ({"epochs": True}, "epochs", "integer"),
        ({"lr": 0}, "lr", "> 0"),
        ({"lr": float("nan")}, "lr", "number"),
        ({"batch_size": 0}, "batch_size", ">= 1"),
        ({"patience": 2.5}, "patience", "integer"),
        ({"seed": -1}, "seed", "integer"),
        ({"is_snn": 1}, "is_snn", "boolean"),
        ({"trim_ratio": 0.5}, "trim_ratio", "< 0.5"),
        ({"algorithm": "FedSGD"}, "algorithm", "FedAvg"),
        ({"optimizer": "LBFGS"}, "optimizer", "unknown optimizer"),
        ({"criterion": "CTCLoss"}, "criterion", "unknown criterion"),
        ({"lr_scheduler": "ChainedScheduler"}, "lr_scheduler", "unknown lr_scheduler"),
        ({"aggregator": "avg"}, "aggregator", "krum"),
        ({"colour": "blue"}, "colour", "unknown run field"),
        ({"lr_lambda": 0.5, "lr_scheduler": "LambdaLR"}, "lr_lambda", "unknown run field"),
        ({"momentum": "high"}, "momentum", "SGD: expected number"),
        ({"nesterov": 1}, "nesterov", "expected boolean"),
        ({"lr_scheduler": "StepLR"}, "step_size", "required by StepLR"),
        ({"lr_scheduler": "StepLR", "step_size": 2.0}, "step_size", "expected integer"),
        ({"nesterov": True}, "optimizer", "Nesterov momentum requires"),
        ({"pos_weight": [1.0]}, "pos_weight", "unknown run field"),
    ],
)
def test_bad_fields_are_named(fields, field, fragment):
    _, errors = normalise_run(fields)
    assert field in errors, errors
    assert fragment in errors[field]


def test_not_an_object():
    assert "run" in normalise_run(["rounds", 2])[1]


def test_explicit_zero_and_false_values_reach_the_constructors():
    run = normalised(
        optimizer="SGD", momentum=0.0, dampening=0, nesterov=False,
        lr_scheduler="CyclicLR", cycle_momentum=False, step_size_up=3,
        criterion="CrossEntropyLoss", label_smoothing=0.0, ignore_index=0,
    )
    optimizer = build_optimizer(run, one_parameter())
    assert optimizer.defaults["nesterov"] is False
    assert optimizer.defaults["dampening"] == 0
    scheduler = build_scheduler(run, optimizer)
    assert scheduler.cycle_momentum is False
    criterion = build_criterion(run)
    assert criterion.ignore_index == 0  # an explicit 0 is kept, not replaced by the default -100


def test_pass_through_tensor_and_tuple_values_are_converted():
    run = normalised(optimizer="Adam", betas=[0.8, 0.95], criterion="BCEWithLogitsLoss",
                     pos_weight=[2.0], reduction="sum", lr_scheduler="")
    assert run["lr_scheduler"] is None
    optimizer = build_optimizer(run, one_parameter())
    assert optimizer.defaults["betas"] == (0.8, 0.95)
    assert build_scheduler(run, optimizer) is None
    criterion = build_criterion(run)
    assert torch.equal(criterion.pos_weight, torch.tensor([2.0]))
    assert criterion.reduction == "sum"


def test_run_fields_are_not_passed_to_same_named_constructor_arguments():
    run = normalised(criterion="HuberLoss", delta=0.0, optimizer="RMSprop", alpha=0.3,
                     lr_scheduler="ReduceLROnPlateau", patience=1)
    assert build_criterion(run).delta == 1.0  # HuberLoss default, not the early-stopping delta
    optimizer = build_optimizer(run, one_parameter())
    assert optimizer.defaults["alpha"] == 0.99
    assert build_scheduler(run, optimizer).patience == 10


def test_optimizer_gets_lr_and_weight_decay_but_not_with_l2_lambda():
    run = normalised(lr=0.05, weight_decay=0.01, optimizer="AdamW")
    optimizer = build_optimizer(run, one_parameter())
    assert optimizer.defaults["lr"] == 0.05
    assert optimizer.defaults["weight_decay"] == 0.01
    with_l2 = normalised(lr=0.05, weight_decay=0.01, l2_lambda=0.1)
    assert build_optimizer(with_l2, one_parameter()).defaults["weight_decay"] == 0.0


def test_cyclic_lr_defaults_and_momentum_free_optimizers():
    run = normalised(lr=0.01, optimizer="Adagrad")
    optimizer = build_optimizer(run, one_parameter())
    scheduler = build_scheduler(run, optimizer)
    assert scheduler.base_lrs == [0.01]
    assert scheduler.max_lrs == [pytest.approx(0.1)]
    assert scheduler.cycle_momentum is False


def test_lambda_lr_uses_inverse_time_decay_multiplier():
    run = normalised(lr=0.1, lr_decay=0.5, lr_scheduler="LambdaLR")
    optimizer = build_optimizer(run, one_parameter())
    scheduler = build_scheduler(run, optimizer)
    seen = [optimizer.param_groups[0]["lr"]]
    for _ in range(3):
        optimizer.step()
        scheduler.step()
        seen.append(optimizer.param_groups[0]["lr"])
    assert seen == pytest.approx([0.1 / (1 + 0.5 * e) for e in range(4)])


def test_epoch_based_scheduler_defaults():
    run = normalised(epochs=7, lr_scheduler="CosineAnnealingLR")
    assert build_scheduler(run, build_optimizer(run, one_parameter())).T_max == 7
    run = normalised(epochs=4, lr=0.01, lr_scheduler="OneCycleLR")
    optimizer = build_optimizer(run, one_parameter())
    scheduler = build_scheduler(run, optimizer)
    for _ in range(4):  # one step per epoch must never run past the schedule
        optimizer.step()
        scheduler.step()


def test_fedavg_ignores_default_mu():
    strategy = get_strategy({"algorithm": "FedAvg"})
    assert strategy.run["mu"] == 0.1
    assert strategy.proximal_mu == 0.0
    assert get_strategy({"algorithm": "FedProx", "mu": 0.3}).proximal_mu == 0.3


def test_fedgkt_requirements():
    _, errors = normalise_run({"algorithm": "FedGKT"})
    assert "L" in errors and "allow_label_sharing" in errors
    run = normalised(algorithm="FedGKT", L=1, allow_label_sharing=True)
    assert run["L"] == 1


def test_identifiers_and_informational_fields_are_kept():
    run = normalised(run_id="r1", input_size=13, use_CLR=True)
    assert (run["run_id"], run["input_size"], run["use_CLR"]) == ("r1", 13, True)


def test_normalising_twice_changes_nothing():
    run = normalised(algorithm="fedadam", momentum=0.5, lr_scheduler="", rounds=3)
    again, errors = normalise_run(run)
    assert errors == {} and again == run


def test_builders_refuse_names_outside_the_allow_lists():
    run = normalised()
    with pytest.raises(RunConfigError, match="optimizer"):
        build_optimizer(dict(run, optimizer="LBFGS"), one_parameter())
    with pytest.raises(RunConfigError, match="criterion"):
        build_criterion(dict(run, criterion="Module"))


@pytest.mark.parametrize("value", ["auto", None, 2.5, 10])
def test_update_clip_takes_auto_a_positive_bound_or_null(value):
    run, errors = normalise_run({"update_clip": value, "lr_scheduler": None})
    assert not errors and run["update_clip"] == value


@pytest.mark.parametrize(("fields", "culprit"), [
    ({"update_clip": "always"}, "update_clip"), ({"update_clip": 0}, "update_clip"),
    ({"update_clip": True}, "update_clip"), ({"clip_factor": 0.5}, "clip_factor"),
])
def test_bad_update_clip_fields_are_named(fields, culprit):
    _, errors = normalise_run({**fields, "lr_scheduler": None})
    assert culprit in errors, errors


def test_contribution_fields_are_checked():
    assert normalised(contribution=True, contribution_metric="f1_score")["contribution"] is True
    _, errors = normalise_run({"contribution": "yes", "contribution_metric": "speed",
                               "contribution_method": "guess"})
    assert set(errors) == {"contribution", "contribution_metric", "contribution_method"}
    _, errors = normalise_run({"algorithm": "FedGKT", "L": 1, "allow_label_sharing": True,
                               "contribution": True})
    assert "coalition models" in errors["contribution"]
