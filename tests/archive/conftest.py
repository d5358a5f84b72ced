"""Fixtures and sample records for the archive tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synarchive import Archive

# One valid (key, details) per table, for project "p1", participant "u1", expt "e1", run "r1".
SAMPLES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "Project": ({"project_id": "p1"}, {"action": "classify", "incentives": {"tier_1": ["u1"]}}),
    "Experiment": (
        {"project_id": "p1", "expt_id": "e1"},
        {"model": [{"is_input": True, "l_type": "Linear", "activation": "sigmoid",
                    "structure": {"in_features": 15, "out_features": 1, "bias": True}}]},
    ),
    "Run": (
        {"project_id": "p1", "expt_id": "e1", "run_id": "r1"},
        {"rounds": 2, "epochs": 1, "base_lr": 0.0005, "max_lr": 0.005, "criterion": "NLLLoss",
         "batch_size": None, "momentum_kwarg_passed_through": 0.9},
    ),
    "Participant": (
        {"participant_id": "u1"},
        {"host": "127.0.0.1", "port": 8020, "f_port": 5000, "log_msgs": True, "verbose": False,
         "token": "s3cret"},
    ),
    "Registration": ({"project_id": "p1", "participant_id": "u1"}, {"role": "guest"}),
    "Tag": (
        {"project_id": "p1", "participant_id": "u1"},
        {"train": [["non_iid_1"], ["edge_test_misalign"]], "evaluate": [["iid_1"]]},
    ),
    "Alignment": (
        {"project_id": "p1", "participant_id": "u1"},
        {"train": {"X": [0, 3], "y": []}, "scaling": {"mean": [0.5]}},
    ),
    "Model": (
        {"project_id": "p1", "expt_id": "e1", "run_id": "r1"},
        {"global": {"origin": "ttp", "path": "/out/global.safetensors", "loss_history": None},
         "local_1": {"origin": "u1", "path": "/out/local_u1.safetensors"}},
    ),
    "Validation": (
        {"participant_id": "u1", "project_id": "p1", "expt_id": "e1", "run_id": "r1"},
        {"evaluate": {"statistics": {"accuracy": [0.9, 0.8]}, "res_path": "/worker/out"}},
    ),
    "Prediction": (
        {"participant_id": "u1", "project_id": "p1", "expt_id": "e1", "run_id": "r1"},
        {"predict": {"statistics": {}, "res_path": None}},
    ),
    "Contribution": (
        {"project_id": "p1", "expt_id": "e1", "run_id": "r1"},
        {"metric": "accuracy", "totals": {"u1": 0.1}, "shares": {"u1": 1.0},
         "tiers": {"tier_1": ["u1"], "tier_2": [], "tier_3": []}},
    ),
    "Optimization": (
        {"project_id": "p1", "expt_id": "e1", "optim_id": "o1"},
        {"search_space": {"lr": {"_type": "uniform", "_value": [0.001, 0.1]}},
         "metric": "accuracy", "optimize_mode": "max"},
    ),
    "Job": (
        {"job_id": "j1"},
        {"status": "queued", "job_kind": "train", "params": {}, "error": None, "attempts": 1},
    ),
    "MLflow": ({"name": "p1/e1"}, {"mlflow_type": "experiment", "mlflow_id": "3",
                                   "mlflow_uri": "file:///mlflow"}),
}


def sample(table: str, **key_changes: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A fresh copy of a sample record, with some key fields replaced."""
    key, details = SAMPLES[table]
    unknown = set(key_changes) - set(key)
    assert not unknown, f"{table} has no key fields {unknown}"
    return {**key, **key_changes}, dict(details)


def create(archive: Archive, table: str, **key_changes: str) -> dict[str, Any]:
    """Create a sample record (and the Registration/Tag a Tag or Alignment needs)."""
    key, details = sample(table, **key_changes)
    if table in ("Tag", "Alignment"):
        archive.table("Registration").create(key, {"role": "guest"})
    if table == "Alignment":
        archive.table("Tag").create(key, {"train": [["t"]]})
    return archive.table(table).create(key, details)


def populate(archive: Archive, project: str, participant: str = "u1") -> None:
    """A project with one record in every related table."""
    ids = {"project_id": project}
    create(archive, "Project", **ids)
    create(archive, "Participant", participant_id=participant)
    create(archive, "Experiment", **ids)
    create(archive, "Run", **ids)
    create(archive, "Alignment", **ids, participant_id=participant)  # + Registration, Tag
    create(archive, "Model", **ids)
    create(archive, "Validation", **ids, participant_id=participant)
    create(archive, "Prediction", **ids, participant_id=participant)
    create(archive, "Optimization", **ids)
    create(archive, "Contribution", **ids)


def snapshot(archive: Archive) -> dict[str, list[dict[str, Any]]]:
    """Every record of every table, with relations."""
    return {name: archive.table(name).read_all() for name in archive.table_names}


@pytest.fixture
def archive_path(tmp_path: Path) -> Path:
    """Where the test's archive lives (its folder does not exist yet)."""
    return tmp_path / "archive" / "database.json"


@pytest.fixture
def archive(archive_path: Path) -> Iterator[Archive]:
    """An open archive, closed after the test."""
    opened = Archive(archive_path)
    yield opened
    opened.close()
