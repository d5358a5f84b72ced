"""The MLflow tracker against a real sqlite store: every round's metrics land at their step,
and rounds queued behind a slow write are written together (fewer writes than rounds)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from synergos_ttp.tracking import MlflowTracker

COMBINATION = ("project", "expt", "run")


def test_rounds_queued_behind_a_write_join_it_and_none_is_lost(tmp_path: Path) -> None:
    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}",
                            artifact_root=tmp_path / "artifacts")
    client = tracker._mlflow()
    writes = []
    real_log_batch = client.log_batch

    def counting_log_batch(run_id: str, metrics: list = (), **kwargs: object) -> None:
        if metrics:
            writes.append(len(metrics))
        return real_log_batch(run_id, metrics=metrics, **kwargs)

    client.log_batch = counting_log_batch
    release = threading.Event()
    tracker.start_run(*COMBINATION, {"lr": 0.1})
    tracker._submit("hold the queue", lambda: release.wait(30))  # a slow write in front
    for number in range(1, 51):
        tracker.log_round(COMBINATION, number, {"global_train_loss": 1.0 / number,
                                                "p1_local_loss": 2.0 / number})
    release.set()
    tracker.log_validation(COMBINATION, "p1", {"accuracy": 0.9})
    tracker.end_run(COMBINATION, succeeded=True)
    assert tracker.flush(timeout=60)
    run_id = tracker._started[COMBINATION]
    history = client.get_metric_history(run_id, "global_train_loss")
    assert sorted(metric.step for metric in history) == list(range(1, 51))
    assert {metric.step: metric.value for metric in history}[4] == 0.25
    assert len(client.get_metric_history(run_id, "p1_local_loss")) == 50
    assert client.get_run(run_id).data.metrics["p1_accuracy"] == 0.9
    assert client.get_run(run_id).info.status == "FINISHED"
    round_writes = writes[:-1]  # the last write is the validation
    assert sum(round_writes) == 100 and len(round_writes) < 50, writes
    tracker.close()


def test_rounds_wait_for_the_batch_window_but_the_end_of_the_run_does_not(
        tmp_path: Path) -> None:
    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}",
                            artifact_root=tmp_path / "artifacts", round_batch_seconds=60)
    client = tracker._mlflow()
    writes = []
    real_log_batch = client.log_batch

    def counting_log_batch(run_id: str, metrics: list = (), **kwargs: object) -> None:
        if metrics:
            writes.append(len(metrics))
        return real_log_batch(run_id, metrics=metrics, **kwargs)

    client.log_batch = counting_log_batch
    tracker.start_run(*COMBINATION, {"lr": 0.1})
    for number in range(1, 6):
        tracker.log_round(COMBINATION, number, {"global_train_loss": float(number)})
        time.sleep(0.05)  # rounds a little apart: still inside the 60 s window
    started = time.monotonic()
    tracker.end_run(COMBINATION, succeeded=True)
    assert tracker.flush(timeout=30)
    assert time.monotonic() - started < 30  # end_run did not sit out the window
    assert writes == [5]  # one write for the five rounds
    history = client.get_metric_history(tracker._started[COMBINATION], "global_train_loss")
    assert sorted(metric.step for metric in history) == [1, 2, 3, 4, 5]
    tracker.close()


OPEN_AND_TRACK = """
import sys
from synergos_ttp.tracking import MlflowTracker
tracker = MlflowTracker(sys.argv[1])
tracker.start_run("project", "expt", sys.argv[2], {"lr": 0.1})
tracker.log_round(("project", "expt", sys.argv[2]), 1, {"global_train_loss": 0.5})
tracker.end_run(("project", "expt", sys.argv[2]), succeeded=True)
tracker.flush(timeout=120)
print("runs", len(tracker._started))
"""


def test_processes_opening_one_new_store_at_once_all_track(tmp_path: Path) -> None:
    """A Director and its cluster TTPs may share one outputs folder: without the creation
    lock their first opens raced on MLflow's migrations and every run's tracking failed."""
    import subprocess
    import sys

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_AND_TRACK, uri, f"run_{index}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for index in range(3)]
    outputs = [process.communicate(timeout=300) for process in processes]
    for (stdout, stderr), process in zip(outputs, processes, strict=True):
        assert process.returncode == 0, stderr[-2000:]
        assert "MLflow tracking failed" not in stderr, stderr[-2000:]
        assert stdout.strip() == "runs 1"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("project/expt")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(run.info.run_name for run in runs) == ["run_0", "run_1", "run_2"]
    assert {run.info.status for run in runs} == {"FINISHED"}


def test_a_failing_mlflow_import_at_start_only_warns(tmp_path: Path, monkeypatch,
                                                     caplog) -> None:
    import logging

    from synergos_ttp.tracking import mlflow_tracker

    def broken(uri: str) -> None:
        raise ImportError("mlflow is broken here")

    monkeypatch.setattr(mlflow_tracker, "import_mlflow", broken)
    tracker = MlflowTracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with caplog.at_level(logging.WARNING, logger=mlflow_tracker.__name__):
        tracker.warm_up()  # the node goes on starting
        assert tracker.flush(timeout=60)
    assert "mlflow is broken here" in caplog.text
    tracker.close()
