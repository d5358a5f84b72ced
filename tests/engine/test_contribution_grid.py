"""Contributions on a real grid: four breast_cancer participants (one with shuffled training
labels, one duplicating another's data) trained with `contribution: true` by a real TTP."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from synergos import Driver, SynergosError
from synergos_datasets.builder import build_examples
from tests.engine.conftest import unique
from tests.engine.local_grid import LocalGrid, dataset_tags, register_project

pytestmark = pytest.mark.integration

DATASET = "breast_cancer_iid"
RUN = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.05, "lr_scheduler": None,
       "criterion": "BCELoss", "batch_size": 32, "rounds": 3, "epochs": 1, "seed": 3,
       "contribution": True}


@pytest.fixture(scope="module")
def four_party_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGrid]:
    """Workers `a`, `b` (parties 1 and 2), `dup` (a copy of b's data) and `noisy` (party 3
    with its training labels shuffled; its evaluate data is clean)."""
    root = tmp_path_factory.mktemp("contribution_data")
    build_examples(root, parties=3, names=[DATASET])
    shutil.copytree(root / "party_2", root / "party_dup")
    train_csv = root / "party_3" / DATASET / "train" / "data.csv"
    frame = pd.read_csv(train_csv)
    frame["target"] = frame["target"].sample(frac=1.0, random_state=11).to_numpy()
    frame.to_csv(train_csv, index=False)
    grid = LocalGrid(tmp_path_factory.mktemp("contribution_grid"))
    try:
        grid.start_workers({"a": root / "party_1", "b": root / "party_2",
                            "dup": root / "party_dup", "noisy": root / "party_3"})
        grid.start_ttp()
        yield grid
    finally:
        grid.stop()


def _train(driver: Driver, grid: LocalGrid, run: dict[str, Any]) -> str:
    project_id = unique("contrib")
    tags = dataset_tags(DATASET)
    register_project(driver, grid, project_id, dict.fromkeys(("a", "b", "dup", "noisy"), tags),
                     runs={"run": run})
    driver.projects.update(project_id=project_id, incentives={"budget": 100})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    driver.models.create(project_id=project_id, expt_id="expt", run_id="run", progress=False,
                         timeout=300)
    return project_id


def test_training_with_contribution_tiers_the_participants(four_party_grid: LocalGrid) -> None:
    with four_party_grid.driver() as driver:
        project_id = _train(driver, four_party_grid, RUN)
        records = driver.contributions.read(project_id=project_id, expt_id="expt",
                                            run_id="run")["data"]
        project = driver.projects.read(project_id=project_id)["data"]
    assert len(records) == 1
    record = records[0]
    totals, tiers = record["totals"], record["tiers"]
    assert record["method"] == "exact" and record["metric"] == "accuracy"
    assert record["evaluations"] == RUN["rounds"] * 2 ** 4  # the empty coalition included
    assert record["calls"] == RUN["rounds"]  # every coalition of a round in one call
    # efficiency: the values of each round add up to v(all) - v(none)
    for entry in record["rounds"]:
        assert sum(entry["values"].values()) == pytest.approx(
            entry["utility_full"] - entry["utility_empty"], abs=1e-6)
    assert totals["noisy"] < 0 and "noisy" in tiers["tier_3"]
    # identical data and seeds give identical updates: each gets half the pair's value
    pair = totals["b"] + totals["dup"]
    assert totals["dup"] == pytest.approx(pair / 2, abs=1e-9)
    for pid in ("a", "b", "dup"):
        assert pid in tiers["tier_1"] + tiers["tier_2"], (pid, totals)
    assert project["incentives"] == {"budget": 100, **tiers}


def test_contributions_afterwards_replay_a_plain_training(four_party_grid: LocalGrid) -> None:
    plain = {**RUN, "contribution": False}
    with four_party_grid.driver() as driver:
        project_id = _train(driver, four_party_grid, plain)
        with pytest.raises(SynergosError) as refused:
            driver.contributions.create(project_id=project_id, expt_id="expt", run_id="run",
                                        metric="R2", progress=False)
        result = driver.contributions.create(project_id=project_id, expt_id="expt",
                                             run_id="run", progress=False, timeout=300)
        project = driver.projects.read(project_id=project_id)["data"]
    assert refused.value.status == 422 and "metric" in str(refused.value)
    record = result["data"][0]
    assert record["source"] == "afterwards" and record["replay_matches_model"] is True
    assert record["totals"]["noisy"] < 0 and "noisy" in record["tiers"]["tier_3"]
    assert project["incentives"]["tier_3"] == record["tiers"]["tier_3"]
    frame = result.to_frame()
    assert sorted(frame.index) == ["a", "b", "dup", "noisy"]
    assert list(frame.columns) == [1, 2, 3, "total", "share"]
    assert frame.loc["noisy", "total"] == pytest.approx(record["totals"]["noisy"])
    assert frame[[1, 2, 3]].sum(axis=1).to_dict() == pytest.approx(record["totals"])
