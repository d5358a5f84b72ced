"""Predictions a participant can use, end to end (real TTP + Worker processes): unlabeled
data with row ids, label names aligned across participants, probabilities, the drift guard,
the Worker serving its own predictions, and the Driver's DataFrame views."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import synergos
from synergos import Driver
from synergos.errors import JobFailedError
from tests.engine.conftest import unique
from tests.engine.local_grid import LocalGrid, register_project, worker_token

pytestmark = pytest.mark.integration
SCHEMA = {"age": "float64", "height": "float64", "colour": "category", "target": "category"}
SOFTMAX_MODEL = [{"activation": "log_softmax", "is_input": True, "l_type": "Linear",
                  "structure": {"bias": True, "in_features": 1, "out_features": 3}}]
RUN = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.2, "lr_scheduler": None,
       "criterion": "NLLLoss", "batch_size": 16, "rounds": 2, "epochs": 1}


def write_folder(folder: Path, frame: pd.DataFrame, schema: dict[str, str],
                 id_column: str | None = None) -> None:
    """A tabular dataset folder (with `id_column` in its metadata.json when given)."""
    folder.mkdir(parents=True)
    metadata = {"datatype": "tabular", **({"id_column": id_column} if id_column else {})}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    (folder / "schema.json").write_text(json.dumps(schema))
    frame.to_csv(folder / "data.csv", index=False)


def labelled(n_rows: int, labels: list[str], offset: int = 0) -> pd.DataFrame:
    """Rows whose string label follows `age`."""
    ages = [(index * 7 + offset) % 60 for index in range(n_rows)]
    return pd.DataFrame({
        "age": ages, "height": [150 + index % 30 for index in range(n_rows)],
        "colour": [("red", "blue")[index % 2] for index in range(n_rows)],
        "target": [labels[min(age * len(labels) // 60, len(labels) - 1)] for age in ages]})


def write_project_data(datasets: Path, name: str) -> None:
    """p1 has labels negative/neutral/positive, p2 only negative/positive; p2's predict data
    has no target, names its rows by `patient`, lacks `height` and adds `novel`."""
    three, two = ["negative", "neutral", "positive"], ["negative", "positive"]
    write_folder(datasets / "party_1" / name / "train", labelled(90, three), SCHEMA)
    write_folder(datasets / "party_1" / name / "evaluate", labelled(30, three, 3), SCHEMA)
    write_folder(datasets / "party_2" / name / "train", labelled(60, two, 1), SCHEMA)
    write_folder(datasets / "party_2" / name / "evaluate", labelled(20, two, 2), SCHEMA)
    unlabeled = labelled(12, two, 5).drop(columns=["target", "height"])
    unlabeled.insert(0, "patient", [f"P-{index:03d}" for index in range(12)][::-1])
    unlabeled["novel"] = 1.0
    write_folder(datasets / "party_2" / name / "predict", unlabeled,
                 {"age": "float64", "colour": "category", "novel": "float64"},
                 id_column="patient")


def test_unlabeled_predictions_with_ids_label_names_and_probabilities(
        driver: Driver, grid: LocalGrid, datasets: Path) -> None:
    project_id, name = unique("labels"), unique("patients")
    write_project_data(datasets, name)
    tags = {meta: [[name, meta]] for meta in ("train", "evaluate")}
    register_project(driver, grid, project_id, {"p1": tags, "p2": tags}, model=SOFTMAX_MODEL,
                     runs={"run": RUN})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    models = driver.models.create(project_id=project_id, progress=False, timeout=300)

    with pytest.raises(JobFailedError, match="height"):
        driver.predictions.create(participant_id="p2", tags={project_id: [[name, "predict"]]},
                                  project_id=project_id, strict_features=True,
                                  progress=False, timeout=300)
    record = driver.predictions.create(
        participant_id="p2", tags={project_id: [[name, "predict"]]}, project_id=project_id,
        progress=False, timeout=300)["data"][0]["predict"]
    assert record["n_rows"] == 12 and record["n_labeled"] == 0
    assert record["statistics"] is None
    assert record["warnings"] == {"missing_columns": ["height"], "ignored_columns": ["novel"]}
    assert "predictions_path" not in record and "res_path" not in record  # stays on p2

    worker = grid.workers["p2"].service.base_url
    frame = synergos.read_predictions(worker, worker_token("p2"), project_id, "expt", "run")
    labels = ["negative", "neutral", "positive"]  # the union: p2 never saw "neutral"
    assert list(frame.columns) == ["patient", "y_pred", *[f"proba_{x}" for x in labels],
                                   "unscored_reason"]
    assert frame["patient"].tolist() == [f"P-{index:03d}" for index in range(12)][::-1]
    probabilities = frame[[f"proba_{x}" for x in labels]]
    assert (probabilities.sum(axis=1) - 1).abs().max() < 1e-6
    assert frame["y_pred"].tolist() == [labels[k] for k in probabilities.to_numpy().argmax(1)]
    assert (frame["unscored_reason"] == "").all()
    with pytest.raises(synergos.AuthenticationError):
        synergos.read_predictions(worker, worker_token("p1"), project_id, "expt", "run")

    rounds = models.to_frame()
    assert list(rounds.columns) == ["project_id", "expt_id", "run_id", "round", "train_loss",
                                    "evaluate_loss", "local_loss_p1", "local_loss_p2"]
    assert rounds["round"].tolist() == [1, 2] and rounds["local_loss_p1"].notna().all()
    validations = driver.validations.create(project_id=project_id, progress=False, timeout=300)
    table = validations.to_frame()
    assert table["participant_id"].tolist() == ["p1", "p2"]
    assert {"n_samples", "loss", "accuracy_overall"} <= set(table.columns)
    assert table["n_samples"].tolist() == [30, 20]
