"""Data never leaves a Worker: marker values planted in the Workers' rows appear nowhere in
what the TTP stores (archive, outputs, checkpoints), logs, or sends to MLflow, after a full
alignment -> training -> validation -> prediction cycle (real processes).

Markers are numeric cell values (one an extreme, so it is the column's maximum in the summary
the Worker reports for global scaling). Column names and category labels are shared metadata
by design (they form the aligned superset), so they are not used as markers.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.engine.conftest import unique
from tests.engine.local_grid import FAST_RUN, LocalGrid, dataset_tags, register_project

MARKERS = {  # column -> planted value, per party
    "party_1": {"area_error": 98765.4321987, "mean_radius": 27.1828182845},
    "party_2": {"area_error": 86420.9753124, "mean_texture": 31.4159265358},
}

pytestmark = pytest.mark.integration

METAS = ("train", "evaluate", "predict")


def digits(value: float) -> str:
    """The marker's significant digits, found whether printed plainly or in e-notation."""
    return repr(value).replace(".", "")[:10]


def plant_markers(datasets: Path, name: str) -> list[str]:
    """Copy breast_cancer's train/evaluate/predict folders to `name` in each party folder with
    marker cells (not its seeds' tag folders, whose tags would then match two datasets);
    returns the strings to look for."""
    needles = []
    for party, cells in MARKERS.items():
        target = datasets / party / name
        for meta in METAS:
            shutil.copytree(datasets / party / "breast_cancer" / meta, target / meta)
        for meta in METAS:
            table = pd.read_csv(target / meta / "data.csv")
            for row, (column, value) in enumerate(cells.items()):
                table.loc[row + 3, column] = value
            table.to_csv(target / meta / "data.csv", index=False)
        for value in cells.values():
            needles += [repr(value), digits(value)]
    return needles


def test_planted_markers_never_reach_the_ttp(own_ttp: LocalGrid, datasets: Path) -> None:
    name = unique("marked")
    needles = plant_markers(datasets, name)
    party_rows = (datasets / "party_1" / name / "train" / "data.csv").read_text()
    assert repr(MARKERS["party_1"]["area_error"]) in party_rows  # planted for real
    project_id = unique("privacy")
    tags = dataset_tags(name, METAS)
    with own_ttp.driver() as driver:
        register_project(driver, own_ttp, project_id, {"p1": tags, "p2": tags},
                         runs={"run": {**FAST_RUN, "rounds": 2}})
        driver.alignments.create(project_id=project_id, progress=False, timeout=120)
        driver.models.create(project_id=project_id, expt_id="expt", run_id="run",
                             progress=False, timeout=300)
        driver.validations.create(project_id=project_id, expt_id="expt", run_id="run",
                                  progress=False, timeout=300)
        driver.predictions.create(participant_id="p1", tags={project_id: [[name, "predict"]]},
                                  project_id=project_id, expt_id="expt", run_id="run",
                                  progress=False, timeout=300)
    assert own_ttp.ttp.stop() == 0  # a clean stop flushes the MLflow queue
    home = own_ttp.home
    database = home / "ttp" / "outputs" / "mlflow.db"
    with sqlite3.connect(database) as connection:
        keys = {row[0] for row in connection.execute("select distinct key from metrics")}
    assert {"global_train_loss", "p1_local_loss", "p2_local_loss",
            "p1_accuracy_overall"} <= keys  # MLflow did receive the run
    files = [path for path in home.rglob("*") if path.is_file()]
    assert any(path.suffix == ".safetensors" for path in files)
    for path in files:
        content = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in content, f"{needle} found in {path}"
