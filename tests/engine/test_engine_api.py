"""The train/evaluate routes' contract: 202 + job, 404/409/422 before any work starts,
one engine job per project at a time, and predict data with a column training never saw."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import requests

from synergos import Driver
from synergos.errors import ConflictError, NotFoundError, ValidationError
from tests.engine.conftest import unique
from tests.engine.local_grid import (
    FAST_RUN,
    SLOW_RUN,
    TTP_TOKEN,
    LocalGrid,
    dataset_tags,
    register_project,
)

pytestmark = pytest.mark.integration


def post(grid: LocalGrid, path: str, body: object) -> requests.Response:
    """A raw POST to the session TTP."""
    return requests.post(f"{grid.ttp.base_url}{path}", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {TTP_TOKEN}"})


def test_requests_are_checked_before_a_job_starts(driver: Driver, grid: LocalGrid) -> None:
    project_id = unique("api")
    with pytest.raises(NotFoundError):
        driver.alignments.create(project_id=project_id)
    register_project(driver, grid, project_id, {"p1": dataset_tags("breast_cancer")})
    train = f"/ttp/train/projects/{project_id}"
    answer = post(grid, f"{train}/alignments", {"auto_fix": "yes", "colour": 1})
    assert answer.status_code == 422
    assert set(answer.json()["errors"]) == {"auto_fix", "colour"}
    for read in (lambda: driver.alignments.read_all(project_id),
                 lambda: driver.models.read_all(project_id),
                 lambda: driver.validations.read_all(project_id)):
        with pytest.raises(NotFoundError):
            read()
    with pytest.raises(ConflictError, match="alignments first"):
        driver.models.create(project_id=project_id)
    with pytest.raises(NotFoundError):
        driver.models.create(project_id=project_id, expt_id="no_such_experiment")
    with pytest.raises(ConflictError, match="no trained model"):
        driver.validations.create(project_id=project_id)

    job = post(grid, f"{train}/alignments", {})
    assert job.status_code == 202 and job.json()["data"]["kind"] == "alignment"
    driver.jobs.wait(job.json()["data"]["job_id"], timeout=120, progress=False)
    with pytest.raises(ValidationError):
        driver.predictions.create(participant_id="p1", tags={"other_project": [["x"]]},
                                  project_id=project_id)
    with pytest.raises(ValidationError):
        driver.predictions.create(participant_id="p1", tags={project_id: [["../etc"]]},
                                  project_id=project_id)


def test_one_engine_job_per_project_at_a_time(driver: Driver, grid: LocalGrid) -> None:
    project_id = unique("busy")
    register_project(driver, grid, project_id, {"p1": dataset_tags("breast_cancer")},
                     runs={"run": {**SLOW_RUN, "rounds": 2}})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    first = driver.models.create(project_id=project_id, wait=False)
    assert first["status"] == 202
    with pytest.raises(ConflictError, match=first["data"]["job_id"]):
        driver.models.create(project_id=project_id, wait=False)
    finished = driver.jobs.wait(first["data"]["job_id"], timeout=120, progress=False)
    assert finished["data"]["progress"] == {
        "current": 2, "total": 2, "unit": "round", "message": "expt/run: round 2 of 2"}
    assert driver.models.read_all(project_id)["data"][0]["rounds_completed"] == 2


def add_novel_column(datasets: Path, name: str) -> None:
    """A copy of party 2's breast_cancer predict data with a column nobody trained on."""
    source = datasets / "party_2" / "breast_cancer" / "predict"
    target = datasets / "party_2" / name / "predict"
    shutil.copytree(source, target)
    table = pd.read_csv(target / "data.csv")
    table["novel_feature"] = 1.0
    table.to_csv(target / "data.csv", index=False)
    schema = json.loads((target / "schema.json").read_text())
    (target / "schema.json").write_text(json.dumps({**schema, "novel_feature": "float64"}))


def test_prediction_data_with_a_novel_column_is_predicted_and_the_column_listed(
        driver: Driver, grid: LocalGrid, datasets: Path) -> None:
    project_id = unique("drift")
    tags = dataset_tags("breast_cancer")
    register_project(driver, grid, project_id, {"p1": tags, "p2": tags},
                     runs={"run": {**FAST_RUN, "rounds": 1}})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    driver.models.create(project_id=project_id, progress=False, timeout=300)
    stored = driver.alignments.read_all(project_id)["data"]
    drifting = unique("novel")
    add_novel_column(datasets, drifting)
    records = driver.predictions.create(
        participant_id="p2", tags={project_id: [[drifting, "predict"]]}, project_id=project_id,
        progress=False, timeout=300)["data"]
    summary = records[0]["predict"]
    assert summary["warnings"] == {"ignored_columns": ["novel_feature"]}
    assert summary["n_rows"] == summary["n_labeled"] > 0 and "accuracy" in summary["statistics"]
    others = [record for record in driver.alignments.read_all(project_id)["data"]
              if record["key"]["participant_id"] == "p1"]
    assert others == [record for record in stored if record["key"]["participant_id"] == "p1"]
