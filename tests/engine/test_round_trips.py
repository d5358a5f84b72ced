"""One exchange per Worker per round: the evaluation loss of each round's model rides on the
next round's fit request (real TTP and Worker processes, each Worker behind a counting
proxy process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synergos import Driver
from tests.engine.conftest import unique
from tests.engine.local_grid import FAST_RUN, LocalGrid, dataset_tags, register_project
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration
ROUNDS = 4


def start_count_proxy(grid: LocalGrid, participant_id: str, folder: Path) -> ServiceProcess:
    """A proxy process in front of the Worker's data port counting its requests by verb."""
    return grid.start_proxy("tests.engine.count_proxy", participant_id, folder, str(folder))


def counts(folder: Path) -> dict[str, int]:
    """The requests a proxy has forwarded, by verb."""
    path = folder / "counts.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_each_round_is_one_request_per_worker_and_still_reports_its_evaluate_loss(
        driver: Driver, grid: LocalGrid, tmp_path: Path) -> None:
    project_id = unique("trips")
    participants = {"p1": dataset_tags("breast_cancer"),
                    "p2": dataset_tags("breast_cancer", ["train"])}
    proxies = {pid: start_count_proxy(grid, pid, tmp_path / pid) for pid in participants}
    register_project(driver, grid, project_id, participants,
                     runs={"run": {**FAST_RUN, "rounds": ROUNDS}},
                     data_ports={pid: proxy.port for pid, proxy in proxies.items()})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    driver.models.create(project_id=project_id, expt_id="expt", run_id="run", progress=False,
                         timeout=300)

    # p1 holds evaluate data: its round-k model's loss came with fit k+1; only the last
    # round's model needed an evaluate call of its own. p2 has nothing to evaluate.
    assert counts(tmp_path / "p1") == {"fit": ROUNDS, "evaluate": 1}
    assert counts(tmp_path / "p2") == {"fit": ROUNDS}

    model = driver.models.read(project_id, "expt", "run")["data"][0]
    evaluate = model["global"]["loss_history"]["evaluate"]
    assert sorted(evaluate, key=int) == [str(number) for number in range(1, ROUNDS + 1)]
    assert [report["evaluate_loss"] for report in model["rounds"]] == [
        evaluate[str(number)] for number in range(1, ROUNDS + 1)]
    assert evaluate[str(ROUNDS)] < evaluate["1"]  # the losses are of successive models

    # the loss recorded for the last round is the final model's loss on p1's evaluate data
    validation = driver.validations.create(project_id=project_id, expt_id="expt",
                                           run_id="run", progress=False, timeout=300)["data"]
    assert validation[0]["evaluate"]["loss"] == pytest.approx(evaluate[str(ROUNDS)], rel=1e-5)


def test_an_early_stop_found_in_the_next_replies_keeps_the_round_that_was_measured(
        driver: Driver, grid: LocalGrid, tmp_path: Path) -> None:
    project_id = unique("trips_stop")
    participants = {"p1": dataset_tags("breast_cancer"),
                    "p2": dataset_tags("breast_cancer", ["train"])}
    proxy = start_count_proxy(grid, "p1", tmp_path / "p1")
    # delta 100: no round counts as an improvement, so round 2 is stale and stops (patience 1)
    register_project(driver, grid, project_id, participants,
                     runs={"run": {**FAST_RUN, "rounds": 5, "patience": 1, "delta": 100.0}},
                     data_ports={"p1": proxy.port})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    driver.models.create(project_id=project_id, expt_id="expt", run_id="run", progress=False,
                         timeout=300)

    model = driver.models.read(project_id, "expt", "run")["data"][0]
    assert model["stopped_early"] is True and model["rounds_completed"] == 2
    evaluate = model["global"]["loss_history"]["evaluate"]
    assert sorted(evaluate, key=int) == ["1", "2"]
    # round 2's loss came with round 3's fit, which was then dropped: no evaluate call
    assert counts(tmp_path / "p1") == {"fit": 3}
    validation = driver.validations.create(project_id=project_id, expt_id="expt",
                                           run_id="run", progress=False, timeout=300)["data"]
    assert validation[0]["evaluate"]["loss"] == pytest.approx(evaluate["2"], rel=1e-5)
