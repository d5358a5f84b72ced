"""Compressed updates (`update_compression`) train as well as float32 ones on a real grid,
and runs it cannot serve are refused before they are stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synergos import Driver
from synergos.errors import ValidationError
from synergos_datasets.builder import build_dataset
from synergos_datasets.sources import SOURCES
from tests.engine.conftest import unique
from tests.engine.local_grid import LocalGrid, dataset_tags, register_project
from tests.engine.test_training_quality import federated_accuracy, train_and_validate

pytestmark = pytest.mark.integration
MODES = ("none", "float16", "int8")
BASE = {"algorithm": "FedAvg", "optimizer": "SGD", "lr_scheduler": None, "batch_size": 32,
        "epochs": 1, "seed": 7}
CASES = {
    "breast_cancer": ({**BASE, "lr": 0.1, "criterion": "BCELoss", "rounds": 10},
                      [{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
                        "structure": {"bias": True, "in_features": 1, "out_features": 1}}]),
    "digits": ({**BASE, "lr": 0.2, "criterion": "NLLLoss", "rounds": 10},
               [{"activation": None, "is_input": True, "l_type": "Flatten", "structure": {}},
                {"activation": "log_softmax", "is_input": False, "l_type": "Linear",
                 "structure": {"bias": True, "in_features": 64, "out_features": 10}}]),
}


@pytest.fixture(scope="module")
def with_digits(datasets: Path) -> Iterator[Path]:
    """The session's party folders, with the digits images added beside the other sets."""
    if not (datasets / "party_1" / "digits").exists():
        build_dataset(SOURCES["digits"](42), datasets, 2, 42)
    yield datasets


@pytest.mark.parametrize("dataset", sorted(CASES))
def test_float16_and_int8_updates_reach_the_float32_accuracy(
        driver: Driver, grid: LocalGrid, with_digits: Path, dataset: str) -> None:
    run, model = CASES[dataset]
    project_id = unique(f"compressed_{dataset}")
    tags = dataset_tags(dataset)
    register_project(driver, grid, project_id, {"p1": tags, "p2": tags}, model=model,
                     runs={mode: {**run, "update_compression": mode} for mode in MODES})
    driver.alignments.create(project_id=project_id, progress=False, timeout=300)
    accuracy: dict[str, float] = {}
    for mode in MODES:
        accuracy[mode] = federated_accuracy(train_and_validate(driver, project_id, mode))
    assert accuracy["none"] > (0.9 if dataset == "breast_cancer" else 0.8), accuracy
    for mode in ("float16", "int8"):
        assert abs(accuracy[mode] - accuracy["none"]) <= 0.005, accuracy
    rounds = driver.models.read(project_id, "expt", "int8")["data"][0]["rounds"]
    assert all(report["participants"][pid]["status"] == "ok"
               for report in rounds for pid in ("p1", "p2"))


@pytest.mark.parametrize(("fields", "reason"), [
    ({"algorithm": "FedGKT", "L": 1, "allow_label_sharing": True},
     "FedGKT replies are features and logits"),
    ({"is_snn": True}, "secure aggregation (is_snn) quantises updates on its own"),
])
def test_a_run_compression_cannot_serve_is_422_with_the_reason(
        driver: Driver, fields: dict[str, Any], reason: str) -> None:
    project_id = unique("compressed_refused")
    driver.projects.create(project_id=project_id, action="classify", incentives={})
    driver.experiments.create(project_id=project_id, expt_id="expt",
                              model=CASES["breast_cancer"][1])
    with pytest.raises(ValidationError) as caught:
        driver.runs.create(project_id=project_id, expt_id="expt", run_id="run",
                           update_compression="int8", **fields)
    assert caught.value.status == 422
    assert reason in caught.value.errors["update_compression"]
    assert driver.runs.read_all(project_id, "expt")["data"] == []
