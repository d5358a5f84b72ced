"""SCAFFOLD and FedDyn on real TTP and Worker processes, on the label-skewed `wine` example
split, next to FedAvg: every round's replies pass the TTP's checks (SCAFFOLD's carry the
control variate), each Worker keeps its client state between rounds, and both train."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from synergos_datasets.builder import build_examples
from synergos_worker.project_store import CLIENT_MODEL_FILE
from tests.engine.conftest import unique
from tests.engine.local_grid import LocalGrid, dataset_tags, register_project
from tests.engine.test_training_quality import federated_accuracy

pytestmark = [pytest.mark.integration,
              pytest.mark.timeout(900)]  # three trainings and validations, and its own grid

MODEL = [{"is_input": True, "l_type": "Linear",
          "structure": {"bias": True, "in_features": 13, "out_features": 3}}]
COMMON = {"optimizer": "SGD", "lr": 0.05, "lr_scheduler": None, "criterion": "CrossEntropyLoss",
          "batch_size": 16, "rounds": 5, "epochs": 2, "patience": 1000, "seed": 7}
RUNS = {"fedavg": {**COMMON, "algorithm": "FedAvg"},
        "scaffold": {**COMMON, "algorithm": "SCAFFOLD"},
        "feddyn": {**COMMON, "algorithm": "FedDyn", "feddyn_alpha": 0.01}}


@pytest.fixture(scope="module")
def wine_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGrid]:
    """A TTP and two Workers holding the two parties' `wine` example data."""
    data = tmp_path_factory.mktemp("wine")
    build_examples(data, parties=2, names=["wine"])
    grid = LocalGrid(tmp_path_factory.mktemp("wine_grid"))
    try:
        grid.start_workers({"p1": data / "party_1", "p2": data / "party_2"})
        grid.start_ttp()
        yield grid
    finally:
        grid.stop()


def test_scaffold_and_feddyn_train_on_the_label_skewed_split(wine_grid: LocalGrid) -> None:
    project_id = unique("skew")
    tags = dataset_tags("wine")
    with wine_grid.driver() as driver:
        register_project(driver, wine_grid, project_id, {"p1": tags, "p2": tags},
                         model=MODEL, runs=RUNS)
        driver.alignments.create(project_id=project_id, progress=False, timeout=120)
        accuracy: dict[str, float] = {}
        for run_id in RUNS:
            model = driver.models.create(project_id=project_id, expt_id="expt", run_id=run_id,
                                         progress=False, timeout=300)["data"][0]
            validations = driver.validations.create(project_id=project_id, expt_id="expt",
                                                    run_id=run_id, progress=False,
                                                    timeout=300)["data"]
            assert model["rounds_completed"] == COMMON["rounds"], run_id
            statuses = {entry["status"] for report in model["rounds"]
                        for entry in report["participants"].values()}
            assert statuses == {"ok"}, (run_id, model["rounds"])
            accuracy[run_id] = federated_accuracy(validations)
    print(f"wine, label-skewed, test accuracy after {COMMON['rounds']} rounds: {accuracy}")
    assert accuracy["scaffold"] > 0.8 and accuracy["feddyn"] > 0.8, accuracy  # chance: 0.4
    for run_id, keeps in (("fedavg", False), ("scaffold", True), ("feddyn", True)):
        for participant_id in ("p1", "p2"):
            kept: Path = (wine_grid.home / participant_id / "outputs" / project_id / "expt"
                          / run_id / CLIENT_MODEL_FILE)
            assert kept.exists() == keeps, (run_id, participant_id)
