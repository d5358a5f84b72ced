"""Workers that die or hang mid-training: the round deadline and `min_workers` decide, the
round reports say what happened, and nothing hangs (real processes)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from synergos import Driver
from synergos.errors import JobFailedError
from tests.engine.conftest import unique
from tests.engine.local_grid import (
    FAST_RUN,
    LocalGrid,
    dataset_tags,
    register_project,
    wait_for,
)
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration


def start_training(driver: Driver, grid: LocalGrid, project_id: str, victim: str,
                   run: dict, hold_dir: Path) -> str:
    """Register p1 + `victim` (reached through a proxy that holds its second fit request),
    align, start training; returns the job id once the victim's round-2 request is held."""
    proxy = start_hold_proxy(grid, victim, hold_dir)
    register_project(driver, grid, project_id, {
        "p1": dataset_tags("breast_cancer"),
        victim: dataset_tags("breast_cancer", ["train"])}, runs={"run": run},
        data_ports={victim: proxy.port})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    job = driver.models.create(project_id=project_id, expt_id="expt", run_id="run",
                               wait=False)["data"]
    wait_for(lambda: (hold_dir / "held").exists() or proxy_gone(proxy), timeout=120)
    assert (hold_dir / "held").exists(), proxy.log_tail()
    return job["job_id"]


def start_hold_proxy(grid: LocalGrid, victim: str, hold_dir: Path) -> ServiceProcess:
    """A proxy process in front of `victim`'s data port that holds fit request number 2."""
    return grid.start_proxy("tests.engine.hold_proxy", victim, hold_dir, "2", str(hold_dir))


def proxy_gone(proxy: ServiceProcess) -> bool:
    """Whether the proxy process has exited."""
    return proxy.process is None or proxy.process.poll() is not None


def test_a_killed_worker_is_reported_and_training_goes_on_with_min_workers(
        driver: Driver, grid: LocalGrid, tmp_path: Path) -> None:
    project_id = unique("killed")
    job_id = start_training(driver, grid, project_id, "victim",
                            {**FAST_RUN, "min_workers": 1, "round_timeout": 60}, tmp_path)
    grid.workers["victim"].service.kill()
    finished = driver.jobs.wait(job_id, timeout=120, progress=False)["data"]
    assert finished["status"] == "succeeded"
    model = driver.models.read(project_id, "expt", "run")["data"][0]
    rounds = model["rounds"]
    assert [report["round"] for report in rounds] == [1, 2, 3]
    assert rounds[0]["participants"]["victim"]["status"] == "ok"
    for report in rounds[1:]:
        lost = report["participants"]["victim"]
        assert lost["status"] == "failed" and lost["error"], lost
        assert report["participants"]["p1"]["status"] == "ok"
        assert report["train_loss"] == report["participants"]["p1"]["loss"]
    local = {model[name]["origin"]: model[name]["loss_history"]
             for name in ("local_0", "local_1")}
    assert list(local["victim"]) == ["1"] and list(local["p1"]) == ["1", "2", "3"]


def test_a_hung_worker_fails_the_job_within_the_round_deadline(
        driver: Driver, grid: LocalGrid, tmp_path: Path) -> None:
    project_id = unique("hung")
    # round 1 (one quick epoch) must finish well inside it on a loaded machine
    deadline = 10.0
    job_id = start_training(driver, grid, project_id, "sleeper",
                            {**FAST_RUN, "round_timeout": deadline}, tmp_path)
    grid.workers["sleeper"].pause()
    paused_at = time.monotonic()
    try:
        with pytest.raises(JobFailedError) as failure:
            driver.jobs.wait(job_id, timeout=60, progress=False)
        waited = time.monotonic() - paused_at
    finally:
        grid.workers["sleeper"].unpause()
    message = failure.value.job["error"]
    assert "sleeper" in message and "min_workers is 2" in message, message
    assert "timeout" in message
    assert waited < deadline + 12, waited
