"""An optimisation through the Driver against a real TTP and two Workers: every trial is a
stored, trained and validated run, its metric is fed back, and the best is reported."""

from __future__ import annotations

import pytest
import requests

from synergos import Driver
from synergos.errors import ConflictError, JobFailedError, NotFoundError, ValidationError
from synergos_ttp.optimization.metrics import extract_metric
from tests.engine.conftest import unique
from tests.engine.local_grid import (
    TTP_TOKEN,
    LocalGrid,
    dataset_tags,
    register_project,
    wait_for,
)

pytestmark = pytest.mark.integration

BASE_RUN = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.1, "lr_scheduler": None,
            "criterion": "BCELoss", "batch_size": 32, "rounds": 2, "epochs": 1}
SEARCH_SPACE = {"lr": {"_type": "loguniform", "_value": [0.001, 0.5]},
                "batch_size": {"_type": "choice", "_value": [16, 64]}}
TAGS = {"p1": dataset_tags("breast_cancer_iid"), "p2": dataset_tags("breast_cancer_iid")}


def post(grid: LocalGrid, path: str, body: object) -> requests.Response:
    """A raw POST to the grid's TTP."""
    return requests.post(f"{grid.ttp.base_url}{path}", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {TTP_TOKEN}"})


def test_six_trials_store_six_validated_runs_and_report_the_best(
        optim_driver: Driver, optim_grid: LocalGrid) -> None:
    driver = optim_driver
    project_id = unique("optim")
    register_project(driver, optim_grid, project_id, TAGS, runs={"base": BASE_RUN})
    route = f"/ttp/train/projects/{project_id}/models/expt/optimizations"
    with pytest.raises(NotFoundError):
        driver.optimizations.read_all(project_id, "expt")
    with pytest.raises(ConflictError, match="alignments first"):
        driver.optimizations.create(project_id, "expt", SEARCH_SPACE, base_run_id="base")
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)

    # bad search spaces are refused before any job starts, naming the field
    bad = post(optim_grid, route, {"search_space": {
        "lr": {"_type": "gaussian", "_value": [0.1, 0.2]},
        "colour": {"_type": "uniform", "_value": [0, 1]},
        "epochs": {"_type": "randint", "_value": [3, 1]}}, "base_run_id": "base"})
    assert bad.status_code == 422
    assert {"search_space.lr._type", "search_space.epochs._value"} <= set(bad.json()["errors"])
    with pytest.raises(ValidationError) as refused:
        driver.optimizations.create(project_id, "expt", {
            "colour": {"_type": "uniform", "_value": [0, 1]}}, base_run_id="base")
    assert "search_space.colour" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        driver.optimizations.create(project_id, "expt", SEARCH_SPACE, metric="R2")
    assert "metric" in refused.value.errors
    assert all(job["params"]["project_id"] != project_id
               for job in driver.jobs.read_all(kind="optimization")["data"])

    answer = driver.optimizations.create(
        project_id, "expt", SEARCH_SPACE, base_run_id="base", metric="accuracy",
        optimize_mode="max", max_trial_num=6, max_exec_duration="10m", seed=5,
        progress=False, timeout=300)
    (study,) = answer["data"]
    assert study["status"] == "succeeded" and study["stop_reason"] == "max_trial_num"
    trials = study["trials"]
    assert [trial["run_id"] for trial in trials] == [f"optim_run_{n}" for n in range(1, 7)]
    assert all(trial["state"] == "complete" for trial in trials)

    runs = {run["key"]["run_id"]: run
            for run in driver.runs.read_all(project_id, "expt")["data"]}
    assert set(runs) == {"base", *(f"optim_run_{n}" for n in range(1, 7))}
    models = {model["key"]["run_id"]: model
              for model in driver.models.read_all(project_id, "expt")["data"]}
    for trial in trials:
        run = runs[trial["run_id"]]
        assert run["lr"] == pytest.approx(trial["params"]["lr"])
        assert run["batch_size"] == trial["params"]["batch_size"] in (16, 64)
        assert (run["rounds"], run["epochs"], run["algorithm"]) == (2, 1, "FedAvg")
        assert models[trial["run_id"]]["rounds_completed"] == 2
        validations = driver.validations.read_all(project_id, "expt", trial["run_id"])["data"]
        assert {v["key"]["participant_id"] for v in validations} == {"p1", "p2"}
        # the value told to Optuna is the validation accuracy averaged over participants
        assert trial["value"] == pytest.approx(extract_metric(validations, "accuracy").value)
        assert set(trial["participants"]) == {"p1", "p2"}
    values = [trial["value"] for trial in trials]
    assert len(set(values)) > 1  # the trials really differ
    assert study["best"]["value"] == max(values)
    best = next(trial for trial in trials if trial["value"] == max(values))
    assert study["best"]["run_id"] == best["run_id"]
    assert study["best"]["params"] == best["params"]

    (job,) = [job for job in driver.jobs.read_all(kind="optimization")["data"]
              if job["params"]["project_id"] == project_id]
    assert job["status"] == "succeeded"
    assert job["progress"]["unit"] == "trial" and job["progress"]["current"] == 6
    assert job["progress"]["total"] == 6
    assert job["result"]["best"] == study["best"]

    # a second study numbers its runs after the first one's, minimising the loss
    second = driver.optimizations.create(
        project_id, "expt", {"lr": {"_type": "uniform", "_value": [0.01, 0.3]}},
        base_run_id="base", metric="loss", max_trial_num=2, progress=False, timeout=300)
    latest = second["data"][-1]
    assert len(second["data"]) == 2 and latest["key"]["optim_id"] == "optim_2"
    assert [t["run_id"] for t in latest["trials"]] == ["optim_run_7", "optim_run_8"]
    assert latest["optimize_mode"] == "min"
    assert latest["best"]["value"] == min(t["value"] for t in latest["trials"])


def test_a_missing_metric_fails_the_job_with_a_clear_error(
        optim_driver: Driver, optim_grid: LocalGrid) -> None:
    driver = optim_driver
    project_id = unique("optim_nometa")
    tags = {"p1": dataset_tags("breast_cancer_iid", ("train",)),
            "p2": dataset_tags("breast_cancer_iid", ("train",))}
    register_project(driver, optim_grid, project_id, tags, runs={"base": BASE_RUN})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    job = driver.optimizations.create(project_id, "expt", SEARCH_SPACE, base_run_id="base",
                                      max_trial_num=3, wait=False)
    assert job["status"] == 202 and job["data"]["kind"] == "optimization"
    with pytest.raises(JobFailedError) as failed:
        driver.jobs.wait(job["data"]["job_id"], timeout=300, progress=False)
    finished = failed.value.job
    assert finished["status"] == "failed"
    assert "no validation results" in finished["error"] and "accuracy" in finished["error"]
    (study,) = driver.optimizations.read_all(project_id, "expt")["data"]
    assert study["status"] == "failed" and len(study["trials"]) == 1



def test_cancelling_stops_the_running_trial_and_one_job_runs_per_project(
        optim_driver: Driver, optim_grid: LocalGrid) -> None:
    driver = optim_driver
    project_id = unique("optim_cancel")
    slow = {**BASE_RUN, "batch_size": 4, "epochs": 25, "rounds": 20, "patience": 1000}
    register_project(driver, optim_grid, project_id, TAGS, runs={"base": slow})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    started = driver.optimizations.create(project_id, "expt", SEARCH_SPACE,
                                          base_run_id="base", max_trial_num=3, wait=False)
    job_id = started["data"]["job_id"]
    wait_for(lambda: "round" in driver.jobs.read(job_id)["data"]["progress"]["message"], 120)
    running = driver.jobs.read(job_id)["data"]
    assert running["progress"]["unit"] == "trial"
    assert running["progress"]["message"].startswith("trial 1 of 3 (optim_run_1): round ")
    with pytest.raises(ConflictError, match=job_id):
        driver.optimizations.create(project_id, "expt", SEARCH_SPACE, base_run_id="base",
                                    wait=False)
    # the engine's jobs drive the same Workers: they wait for the study too
    with pytest.raises(ConflictError, match=job_id):
        driver.models.create(project_id=project_id, wait=False)
    with pytest.raises(ConflictError, match=job_id):
        driver.alignments.create(project_id=project_id, wait=False)
    driver.jobs.cancel(job_id)
    with pytest.raises(JobFailedError) as ended:
        driver.jobs.wait(job_id, timeout=120, progress=False)
    assert ended.value.job_status == "cancelled"
    (study,) = driver.optimizations.read_all(project_id, "expt")["data"]
    assert study["status"] == "cancelled" and study["stop_reason"] == "cancelled"
    assert [(t["run_id"], t["state"]) for t in study["trials"]] == [("optim_run_1",
                                                                      "stopped")]
    assert study["best"] is None
