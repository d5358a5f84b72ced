"""Worker-side DP-SGD end to end (real TTP + Worker processes, driven by the Driver): ε per
Worker per round in the round reports and the Model record, the privacy-budget stop, and the
refusals (DP + FedGKT, layers DP-SGD cannot train)."""

from __future__ import annotations

import sqlite3

import pytest

from synalgo.privacy.accounting import epsilon
from synergos import Driver
from synergos.errors import JobFailedError, ValidationError
from tests.engine.conftest import unique
from tests.engine.local_grid import (
    FAST_RUN,
    LocalGrid,
    dataset_tags,
    register_project,
    wait_for,
)

pytestmark = pytest.mark.integration

TARGET = 2.0
DP_RUN = {**FAST_RUN, "rounds": 20, "patience": 1000,
          "dp": {"mode": "worker", "noise_multiplier": 2.0, "max_grad_norm": 1.0,
                 "target_epsilon": TARGET, "delta": 1e-5}}


def test_training_reports_epsilon_and_stops_before_the_budget_is_exceeded(
        driver: Driver, grid: LocalGrid) -> None:
    project_id = unique("dp")
    tags = dataset_tags("breast_cancer")
    register_project(driver, grid, project_id, {"p1": tags, "p2": tags},
                     runs={"private": DP_RUN})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    model = driver.models.create(project_id=project_id, expt_id="expt", run_id="private",
                                 progress=False, timeout=300)["data"][0]
    rounds = model["rounds"]
    assert model["stopped"] == "privacy budget"
    assert 1 <= model["rounds_completed"] == len(rounds) < DP_RUN["rounds"]
    for pid in ("p1", "p2"):
        spent = [report["privacy"]["epsilon"][pid] for report in rounds]
        assert spent == sorted(spent) and len(set(spent)) == len(spent)  # strictly growing
        assert all(0 < value <= TARGET for value in spent)
        assert model["privacy"]["epsilon"][pid] == {
            str(report["round"]): report["privacy"]["epsilon"][pid] for report in rounds}
    for report in rounds:
        values = report["privacy"]["epsilon"]
        assert report["privacy"]["max_epsilon"] == max(values.values())
    # stopped because one more round would have passed the target on some Worker
    last = rounds[-1]["participants"]
    assert max(last[pid]["epsilon_next_round"] for pid in ("p1", "p2")) > TARGET
    # one exchange per round: the stopped round's model was still evaluated (one evaluate
    # call, as for a last round), and every round before it by the next round's fit
    assert all(report["evaluate_loss"] is not None for report in rounds)
    assert sorted(int(key) for key in model["global"]["loss_history"]["evaluate"]) == [
        report["round"] for report in rounds]
    assert model["privacy"]["mode"] == "worker"
    assert model["privacy"]["parameters"]["target_epsilon"] == TARGET
    assert model["privacy"]["max_epsilon"] <= TARGET
    assert wait_for(lambda: {"p1_epsilon", "p2_epsilon", "max_epsilon"} <= tracked_metrics(
        grid, project_id), timeout=60)  # the end of a training flushes its MLflow rounds


def tracked_metrics(grid: LocalGrid, project_id: str) -> set[str]:
    """The metric names MLflow holds for the project's runs."""
    database = grid.home / "ttp" / "outputs" / "mlflow.db"
    if not database.exists():
        return set()
    with sqlite3.connect(database) as connection:
        return {row[0] for row in connection.execute(
            "select distinct m.key from metrics m join tags t on m.run_uuid = t.run_uuid "
            "where t.key = 'synergos.project_id' and t.value = ?", (project_id,))}


def test_dp_with_fedgkt_is_refused_with_422(driver: Driver, grid: LocalGrid) -> None:
    project_id = unique("dpgkt")
    register_project(driver, grid, project_id, {}, runs={})
    with pytest.raises(ValidationError) as refusal:
        driver.runs.create(project_id=project_id, expt_id="expt", run_id="gkt",
                           algorithm="FedGKT", L=1, allow_label_sharing=True,
                           dp={"mode": "worker", "target_epsilon": 3.0})
    assert refusal.value.status == 422
    assert "FedGKT" in str(refusal.value.errors["dp"])


def test_a_model_with_batchnorm_is_refused_naming_the_layer(driver: Driver,
                                                            grid: LocalGrid) -> None:
    project_id = unique("dpbn")
    tags = dataset_tags("breast_cancer")
    model = [{"activation": "relu", "is_input": True, "l_type": "Linear",
              "structure": {"in_features": 1, "out_features": 4}},
             {"l_type": "BatchNorm1d", "structure": {"num_features": 4}},
             {"activation": "sigmoid", "is_input": False, "l_type": "Linear",
              "structure": {"in_features": 4, "out_features": 1}}]
    register_project(driver, grid, project_id, {"p1": tags}, model=model,
                     runs={"private": DP_RUN})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    with pytest.raises(JobFailedError) as failure:
        driver.models.create(project_id=project_id, expt_id="expt", run_id="private",
                             progress=False, timeout=120)
    message = failure.value.job["error"]
    assert "layer 1 (BatchNorm1d" in message and "GroupNorm" in message, message


def test_central_dp_clips_noises_accounts_and_stops_at_the_budget(
        driver: Driver, grid: LocalGrid) -> None:
    project_id = unique("cdp")
    tags = dataset_tags("breast_cancer")
    dp = {"mode": "central", "noise_multiplier": 1.0, "clip": 0.5, "target_epsilon": 8.0}
    register_project(driver, grid, project_id, {"p1": tags, "p2": tags},
                     runs={"central": {**FAST_RUN, "rounds": 20, "patience": 1000, "dp": dp}})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    model = driver.models.create(project_id=project_id, expt_id="expt", run_id="central",
                                 progress=False, timeout=300)["data"][0]
    rounds = model["rounds"]
    reference = [epsilon([(1.0, 1.0, number)], 1e-5) for number in range(1, 21)]
    completed = max(number for number in range(1, 21) if reference[number - 1] <= 8.0)
    assert model["stopped"] == "privacy budget"
    assert model["rounds_completed"] == completed < 20
    for report in rounds:
        privacy = report["privacy"]
        assert privacy["mode"] == "central" and privacy["clip"] == 0.5
        assert privacy["noise_std"] == pytest.approx(1.0 * 0.5 / 2)  # z * C / m
        assert privacy["epsilon"] == {pid: pytest.approx(reference[report["round"] - 1])
                                      for pid in ("p1", "p2")}
    assert model["privacy"]["max_epsilon"] <= 8.0


def test_a_target_one_round_would_pass_is_refused_with_the_epsilon(
        driver: Driver, grid: LocalGrid) -> None:
    project_id = unique("dptight")
    tags = dataset_tags("breast_cancer")
    tight = {**DP_RUN, "dp": {**DP_RUN["dp"], "noise_multiplier": 0.5, "target_epsilon": 1.0}}
    register_project(driver, grid, project_id, {"p1": tags}, runs={"tight": tight})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    with pytest.raises(JobFailedError) as failure:
        driver.models.create(project_id=project_id, expt_id="expt", run_id="tight",
                             progress=False, timeout=120)
    message = failure.value.job["error"]
    assert "p1" in message and "one round on this Worker alone spends epsilon" in message
    assert "> target_epsilon 1" in message, message
