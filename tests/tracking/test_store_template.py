"""New sqlite MLflow stores are copies of a template that MLflow migrated once: the copy is a
working store of its own, the template is built once, and without a writable cache MLflow
creates the store itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from synergos_ttp.tracking import MlflowTracker, store_template
from synergos_ttp.tracking.store_template import seed_store


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """A private cache folder; the list receives every template MLflow builds."""
    monkeypatch.setenv("SYNERGOS_CACHE_DIR", str(tmp_path / "cache"))
    built: list[Path] = []
    real_build = store_template._build_template

    def counting_build(path: Path) -> None:
        built.append(path)
        real_build(path)

    monkeypatch.setattr(store_template, "_build_template", counting_build)
    return built


def default_experiment_location(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT artifact_location FROM experiments WHERE experiment_id = 0").fetchone()[0]


def test_a_seeded_store_is_a_working_store_of_its_own(builds: list[Path],
                                                      tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "mlflow.db", tmp_path / "b" / "mlflow.db"
    assert seed_store(first, tmp_path / "a" / "artifacts")
    assert seed_store(second, tmp_path / "b" / "artifacts")
    assert len(builds) == 1 and builds[0].exists()  # MLflow migrated once, for both
    assert not seed_store(first, tmp_path / "a" / "artifacts")  # exists: left alone
    assert default_experiment_location(first) == (
        tmp_path / "a" / "artifacts" / "0").resolve().as_uri()
    client = MlflowClient(tracking_uri=f"sqlite:///{first}")
    experiment = client.create_experiment("project/expt")
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "global_train_loss", 0.5, step=1)
    assert client.get_run(run.info.run_id).data.metrics == {"global_train_loss": 0.5}
    other = MlflowClient(tracking_uri=f"sqlite:///{second}")
    assert [e.name for e in other.search_experiments()] == ["Default"]  # nothing shared


def test_the_tracker_opens_its_new_store_from_the_template(builds: list[Path],
                                                           tmp_path: Path) -> None:
    database = tmp_path / "outputs" / "mlflow.db"
    tracker = MlflowTracker(f"sqlite:///{database}")
    tracker.start_run("project", "expt", "run", {"lr": 0.1})
    tracker.log_round(("project", "expt", "run"), 1, {"global_train_loss": 0.25})
    assert tracker.flush(timeout=60)
    run_id = tracker._started[("project", "expt", "run")]
    assert tracker._mlflow().get_run(run_id).data.metrics == {"global_train_loss": 0.25}
    tracker.close()
    assert len(builds) == 1
    assert default_experiment_location(database) == (
        tmp_path / "outputs" / "mlflow-artifacts" / "0").resolve().as_uri()


def test_without_a_writable_cache_mlflow_creates_the_store(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("SYNERGOS_CACHE_DIR", str(blocker / "cache"))
    database = tmp_path / "mlflow.db"
    assert not seed_store(database, tmp_path / "artifacts")
    assert not database.exists()
    tracker = MlflowTracker(f"sqlite:///{database}")
    tracker.start_run("project", "expt", "run", {})
    assert tracker.flush(timeout=60)
    assert tracker._started  # the run was created in a store MLflow built itself
    tracker.close()


@pytest.mark.parametrize("name", [":memory:", "mlflow.db?timeout=20"])
def test_paths_that_are_not_plain_files_are_left_to_mlflow(builds: list[Path],
                                                            tmp_path: Path, name: str) -> None:
    assert not seed_store(tmp_path / name, None)
    assert not (tmp_path / name).exists() and builds == []
