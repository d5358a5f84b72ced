"""SynCluster end to end: jobs posted to the Director run on the cluster TTPs through RabbitMQ,
and their results land in the Director's archive."""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

import pytest
import requests

from synergos import Driver
from tests.cluster.conftest import PARTICIPANTS, Cluster
from tests.engine.local_grid import FAST_RUN, LINEAR_MODEL, wait_for, worker_token

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TAGS = {"train": [["breast_cancer_iid", "train"]],
        "evaluate": [["breast_cancer_iid", "evaluate"]]}


def register(driver: Driver, cluster: Cluster, project_id: str, token: str | None = None) -> None:
    """A project with one experiment and one run, both participants on both sub-grids."""
    driver.projects.create(project_id=project_id, action="classify", incentives={})
    driver.experiments.create(project_id=project_id, expt_id="expt", model=LINEAR_MODEL)
    driver.runs.create(project_id=project_id, expt_id="expt", run_id="run", **FAST_RUN)
    for participant_id in PARTICIPANTS:
        worker, data_port = cluster.workers[participant_id, 0]
        driver.participants.create(participant_id=participant_id, host="127.0.0.1",
                                   port=data_port, f_port=worker.port,
                                   token=token or worker_token(participant_id))
        nodes = [{**node, "token": token or worker_token(participant_id)}
                 for node in cluster.nodes_of(participant_id)]
        driver.registrations.create(project_id=project_id, participant_id=participant_id,
                                    role="host", nodes=nodes)
        driver.tags.create(project_id=project_id, participant_id=participant_id, **TAGS)


def finished(driver: Driver, job: dict[str, Any]) -> dict[str, Any]:
    return driver.jobs.wait(job["job_id"], timeout=300, progress=False)["data"]


def test_a_job_that_always_fails_is_dead_lettered_and_reported(cluster: Cluster) -> None:
    with cluster.driver() as driver:
        register(driver, cluster, "doomed", token="not-the-workers-token-0123456789")
        job = driver.alignments.create(project_id="doomed", wait=False)["data"]
        with pytest.raises(Exception) as failure:
            finished(driver, job)
        record = driver.jobs.read(job["job_id"])["data"]
    assert record["status"] == "failed"
    assert "cluster could not run this job" in record["error"]
    assert "401" in record["error"] or "token" in record["error"].lower(), record["error"]
    assert failure.value is not None
    messages = cluster.broker_queue_depth("dead_letter")
    assert messages >= 1


def test_four_projects_at_once_all_finish_on_both_ttps(cluster: Cluster) -> None:
    projects = [f"cluster_{index}" for index in range(4)]
    with cluster.driver() as driver:
        for project_id in projects:
            register(driver, cluster, project_id)
        aligned = [driver.alignments.create(project_id=p, wait=False)["data"] for p in projects]
        assert all(finished(driver, job)["status"] == "succeeded" for job in aligned)
        trained = [driver.models.create(project_id=p, wait=False)["data"] for p in projects]
        results = [finished(driver, job) for job in trained]
        assert [job["status"] for job in results] == ["succeeded"] * 4
        # the Director archived every model, once
        for project_id in projects:
            (model,) = driver.models.read(project_id, "expt", "run")["data"]
            assert model["rounds_completed"] == FAST_RUN["rounds"]
            assert len(model["global"]["loss_history"]["train"]) == FAST_RUN["rounds"]
        validated = finished(driver, driver.validations.create(
            project_id=projects[0], expt_id="expt", run_id="run", wait=False)["data"])
        assert validated["status"] == "succeeded"
        statistics = driver.validations.read_all(projects[0], "expt", "run")["data"]
    grids = {job["result"]["grid"] for job in results}
    assert grids == {0, 1}, f"both cluster TTPs should have trained: {results}"
    assert {record["key"]["participant_id"] for record in statistics} == set(PARTICIPANTS)
    assert all(record["evaluate"]["statistics"] for record in statistics)
    # the Director replayed every training and the validation into its own MLflow store
    expected = {"global_train_loss", "party_a_local_loss", "party_b_local_loss",
                "party_a_accuracy_overall", "party_b_accuracy_overall"}
    def tracked() -> dict[str, dict[str, int]] | None:
        found = _mlflow_metrics(cluster)  # the validation is the last call the Director queued
        return found if expected <= set(found.get(projects[0], {})) else None

    metrics = wait_for(tracked, timeout=60, interval=0.5)
    assert set(metrics) == set(projects), metrics
    for project_id in projects:
        assert metrics[project_id]["global_train_loss"] == FAST_RUN["rounds"]


def start_training(driver: Driver, cluster: Cluster, project_id: str,
                   run: dict[str, Any]) -> dict[str, Any]:
    """Register the participants, add `run` as run "run", align, and start its training
    without waiting; returns the training's job record."""
    register(driver, cluster, project_id)
    driver.runs.create(project_id=project_id, expt_id="expt", run_id="run", **run)
    assert finished(driver, driver.alignments.create(
        project_id=project_id, wait=False)["data"])["status"] == "succeeded"
    return driver.models.create(project_id=project_id, wait=False)["data"]


def _round_progress(driver: Driver, job_id: str) -> dict[str, Any] | None:
    progress = driver.jobs.read(job_id)["data"].get("progress") or {}
    return progress if progress.get("unit") == "round" else None


def _mlflow_metrics(cluster: Cluster) -> dict[str, dict[str, int]]:
    """`{project_id: {metric key: number of steps}}` in the Director's MLflow store."""
    database = cluster.home / "outputs" / "mlflow.db"
    if not database.exists():
        return {}
    query = ("select e.name, m.key, count(distinct m.step) from metrics m join runs r on "
             "m.run_uuid = r.run_uuid join experiments e on r.experiment_id = e.experiment_id "
             "group by e.name, m.key")
    found: dict[str, dict[str, int]] = {}
    try:
        with sqlite3.connect(database) as connection:
            rows = connection.execute(query).fetchall()
    except sqlite3.OperationalError:  # MLflow is still creating its tables
        return {}
    for experiment, key, steps in rows:
        found.setdefault(experiment.split("/")[0], {})[key] = steps
    return found


def test_a_ttp_killed_mid_job_leaves_the_job_to_the_other_ttp(cluster: Cluster) -> None:
    project_id = "cluster_killed"
    slow = {**FAST_RUN, "rounds": 12, "epochs": 30, "batch_size": 4, "patience": 1000}
    with cluster.driver() as driver:
        job = start_training(driver, cluster, project_id, slow)
        # the TTP whose log names the job (a list, since index 0 would read as "not yet")
        (victim,) = wait_for(lambda: [index for index, ttp in enumerate(cluster.ttps)
                                      if job["job_id"] in ttp.log_path.read_text()],
                             timeout=120)
        # the cluster TTP's own progress (round k of R) shows on the Director's job
        progress = wait_for(lambda: _round_progress(driver, job["job_id"]), timeout=60)
        assert progress["total"] == slow["rounds"], progress
        cluster.ttps[victim].kill()
        done = finished(driver, job)
        (model,) = driver.models.read(project_id, "expt", "run")["data"]
    cluster.ttps[victim] = cluster.start_ttp(victim)
    assert done["status"] == "succeeded"
    assert done["result"]["grid"] == 1 - victim, done["result"]
    assert model["rounds_completed"] == slow["rounds"]
    assert len(model["global"]["loss_history"]["train"]) == slow["rounds"]


def test_an_optimisation_runs_its_trials_in_parallel_on_the_cluster(cluster: Cluster) -> None:
    project_id = "cluster_optim"
    space = {"lr": {"_type": "loguniform", "_value": [0.001, 0.5]},
             "batch_size": {"_type": "choice", "_value": [16, 64]}}
    with cluster.driver() as driver:
        register(driver, cluster, project_id)
        assert finished(driver, driver.alignments.create(
            project_id=project_id, wait=False)["data"])["status"] == "succeeded"
        answer = driver.optimizations.create(
            project_id, "expt", space, base_run_id="run", metric="accuracy",
            optimize_mode="max", max_trial_num=6, trial_concurrency=2, seed=3,
            progress=False, timeout=600)
        (study,) = answer["data"]
        runs = {run["key"]["run_id"] for run in driver.runs.read_all(project_id, "expt")["data"]}
        validations = {run_id: driver.validations.read_all(project_id, "expt", run_id)["data"]
                       for run_id in (f"optim_run_{n}" for n in range(1, 7))}
        (job,) = [job for job in driver.jobs.read_all(kind="optimization")["data"]
                  if job["params"]["project_id"] == project_id]
    assert study["status"] == "succeeded", study
    trials = study["trials"]
    assert [trial["run_id"] for trial in trials] == [f"optim_run_{n}" for n in range(1, 7)]
    assert all(trial["state"] == "complete" for trial in trials)
    assert runs == {"run", *validations}
    for trial in trials:
        assert {record["key"]["participant_id"]
                for record in validations[trial["run_id"]]} == set(PARTICIPANTS)
    values = [trial["value"] for trial in trials]
    assert study["best"]["value"] == max(values)
    assert study["concurrency"] == 2
    # trials overlapped in time, and both cluster TTPs took trial jobs
    spans = sorted((trial["started_at"], trial["finished_at"]) for trial in trials)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans)), spans
    for ttp in cluster.ttps:
        assert f"{job['job_id']}-trial-" in ttp.log_path.read_text(), ttp.log_path


def test_four_runs_of_one_project_train_side_by_side_on_both_ttps(cluster: Cluster) -> None:
    project_id = "cluster_runs"
    runs = [f"run_{index}" for index in range(1, 5)]
    with cluster.driver() as driver:
        register(driver, cluster, project_id)
        for run_id in runs:  # equal runs but for the learning rate
            driver.runs.create(project_id=project_id, expt_id="expt", run_id=run_id,
                               **{**FAST_RUN, "lr": 0.05 * int(run_id[-1])})
        assert finished(driver, driver.alignments.create(
            project_id=project_id, wait=False)["data"])["status"] == "succeeded"
        job = finished(driver, driver.models.create(project_id=project_id, wait=False)["data"])
        models = {model["key"]["run_id"]: model
                  for model in driver.models.read_all(project_id, "expt")["data"]}
    assert job["status"] == "succeeded", job
    assert job["result"]["grids"] == [0, 1], job["result"]
    assert len(job["result"]["ttps"]) == 5  # "run" and run_1..run_4
    assert set(models) == {"run", *runs}
    for run_id in runs:
        assert models[run_id]["rounds_completed"] == FAST_RUN["rounds"]
    assert job["progress"] == {"current": 5, "total": 5, "unit": "run",
                               "message": "5 of 5 runs trained"}


def test_a_training_survives_a_broker_restart_mid_job(cluster: Cluster) -> None:
    """The broker goes away while a cluster TTP trains: every node reconnects, the job is
    delivered again if its report was lost, and the Director's job still succeeds."""
    project_id = "cluster_broker_restart"
    slow = {**FAST_RUN, "rounds": 6, "epochs": 10, "batch_size": 4, "patience": 1000}
    with cluster.driver() as driver:
        job = start_training(driver, cluster, project_id, slow)
        wait_for(lambda: _round_progress(driver, job["job_id"]), timeout=120)  # mid-training
        cluster.broker.restart()
        done = finished(driver, job)
        (model,) = driver.models.read(project_id, "expt", "run")["data"]
    assert done["status"] == "succeeded", done
    assert model["rounds_completed"] == slow["rounds"]
    for service in (cluster.director, *cluster.ttps):
        assert service is not None and service.process is not None
        assert service.process.poll() is None, service.log_tail()
        assert requests.get(service.base_url + "/health", timeout=5).status_code == 200
    assert any("lost RabbitMQ while serving jobs" in ttp.log_path.read_text()
               for ttp in cluster.ttps)


def test_contributions_are_computed_on_the_cluster_and_archived_by_the_director(
        cluster: Cluster) -> None:
    project_id = "cluster_contribution"
    with cluster.driver() as driver:
        register(driver, cluster, project_id)
        driver.runs.create(project_id=project_id, expt_id="expt", run_id="measured",
                           **{**FAST_RUN, "contribution": True})
        assert finished(driver, driver.alignments.create(
            project_id=project_id, wait=False)["data"])["status"] == "succeeded"
        job = finished(driver, driver.models.create(project_id=project_id, wait=False)["data"])
        during = driver.contributions.read(project_id, "expt", "measured")["data"][0]
        afterwards_job = finished(driver, driver.contributions.create(
            project_id=project_id, expt_id="expt", run_id="run", wait=False)["data"])
        afterwards = driver.contributions.read(project_id, "expt", "run")["data"][0]
        project = driver.projects.read(project_id)["data"]
    assert job["status"] == "succeeded" and afterwards_job["status"] == "succeeded"
    for record in (during, afterwards):
        assert sorted(record["totals"]) == sorted(PARTICIPANTS)
        assert record["evaluations"] == FAST_RUN["rounds"] * 2 ** len(PARTICIPANTS)
    assert during["source"] == "training" and afterwards["source"] == "afterwards"
    assert afterwards["replay_matches_model"] is True
    # the Director wrote the last computed tiers into the project
    assert {name: project["incentives"][name] for name in afterwards["tiers"]} == (
        afterwards["tiers"])
