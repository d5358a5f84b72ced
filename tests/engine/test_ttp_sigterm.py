"""A TTP told to stop (SIGTERM) mid-training ends with status 0 and the job recorded
`interrupted` (resumable from its checkpoint): when its Workers are gone, one killed and one
hung with the round's request in flight, when a secure-aggregation stage waits on a hung
Worker, and when the reader of its log pipe is gone, as when the test run that started it was
killed. A TTP stopped while its alignment waits on a hung Worker and on a Worker whose
preprocessing is stuck ends the same way, and stores no alignment (real processes)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from synarchive import Archive
from synergos import Driver
from synergos_testing.local_processes import die_with_parent
from synergos_ttp.engine.alignment import stored_alignments
from synergos_ttp.jobs.records import JobRecords
from synrest.shutdown import EXIT_DEADLINE
from tests.engine.conftest import unique
from tests.engine.local_grid import (
    FAST_RUN,
    SLOW_RUN,
    TTP_TOKEN,
    LocalGrid,
    dataset_tags,
    register_project,
    wait_for,
)
from tests.support.processes import LOOPBACK, ServiceProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

LONG_RUN = {**SLOW_RUN, "rounds": 200}  # far longer than the test: it is always mid-training
SECURE_LONG_RUN = {**LONG_RUN, "secure_aggregation": True}
EXIT_BOUND = EXIT_DEADLINE + 30  # only a bound on waiting: the exit must come on its own


@pytest.fixture()
def grid(tmp_path: Path, datasets: Path) -> Iterator[LocalGrid]:
    """Two Workers of its own (the tests kill and pause them); each test starts its TTP."""
    local = LocalGrid(tmp_path / "grid")
    try:
        local.start_workers({"p1": datasets / "party_1", "p2": datasets / "party_2"})
        yield local
    finally:
        local.stop()


def start_training(driver: Driver, grid: LocalGrid, data_ports: dict[str, int] | None = None,
                   run: dict[str, Any] | None = None) -> str:
    """Register p1 and p2 in a new project, align, start `run` (default LONG_RUN); returns
    the job id."""
    project_id = unique("sigterm")
    tags = dataset_tags("breast_cancer")
    register_project(driver, grid, project_id, {"p1": tags, "p2": tags},
                     runs={"run": run or LONG_RUN}, data_ports=data_ports)
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    return driver.models.create(project_id=project_id, expt_id="expt", run_id="run",
                                wait=False)["data"]["job_id"]


def stored_job(data_dir: Path, job_id: str) -> dict[str, Any]:
    """The job as the stopped TTP left it in its archive."""
    archive = Archive(data_dir / "database.json")
    try:
        return JobRecords(archive).read(job_id)
    finally:
        archive.close()


def process_state(pid: int) -> str | None:
    """The kernel's state letter of a process (R, S, Z...), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def stop_in_order(ttp: ServiceProcess) -> None:
    """SIGTERM the TTP; it must exit 0 after an orderly stop that left no thread running
    (the exit guard logs leftovers as `exiting without N thread(s)`)."""
    assert ttp.process is not None
    os.killpg(ttp.process.pid, signal.SIGTERM)
    assert ttp.process.wait(timeout=EXIT_BOUND) == 0
    log = ttp.log_tail(20_000)
    assert "received SIGTERM" in log and "ttp stopped" in log, log
    assert "exiting without" not in log and "stopping now" not in log, log


def assert_interrupted_by_the_shutdown(job: dict[str, Any]) -> None:
    assert job["status"] == "interrupted", job
    assert "shut down" in (job["error"] or ""), job  # recorded by the stop, not a restart
    assert (job["checkpoint"] or {}).get("round", 0) >= 1, job  # resumes from there


def test_sigterm_stops_a_ttp_whose_workers_are_gone_mid_round(grid: LocalGrid,
                                                               tmp_path: Path) -> None:
    ttp = grid.start_ttp()
    hold = tmp_path / "hold"
    # p2 behind a proxy that holds its third fit request (round 3; round 1 is checkpointed
    # by then): that call is provably in flight when the Workers go
    proxy = grid.start_proxy("tests.engine.hold_proxy", "p2", hold, "3", str(hold))
    with grid.driver() as driver:
        job_id = start_training(driver, grid, data_ports={"p2": proxy.port})
        wait_for(lambda: (hold / "held").exists() or proxy.process.poll() is not None,
                 timeout=240)
    # p2 stops at once (its idle connection to the proxy stays open: nothing answers the
    # held call, like a host lost behind the network); p1 is killed
    grid.workers["p2"].pause()
    assert (hold / "held").exists(), proxy.log_tail()
    grid.workers["p1"].service.kill()
    # the call waiting on p2 ended with the job (its round deadline is 600 s)
    stop_in_order(ttp)
    assert_interrupted_by_the_shutdown(stored_job(grid.home / "ttp" / "data", job_id))


def test_sigterm_stops_a_ttp_whose_secure_round_waits_on_a_hung_worker(
        grid: LocalGrid, tmp_path: Path) -> None:
    ttp = grid.start_ttp()
    hold = tmp_path / "hold"
    # p2's masked input of round 2 is held (round 1 is checkpointed by then): the round
    # provably waits in its third stage, whose deadline is 600 s
    proxy = grid.start_proxy("tests.engine.hold_proxy", "p2", hold, "2", str(hold),
                             "secagg-masked")
    with grid.driver() as driver:
        job_id = start_training(driver, grid, data_ports={"p2": proxy.port},
                                run=SECURE_LONG_RUN)
        wait_for(lambda: (hold / "held").exists() or proxy.process.poll() is not None,
                 timeout=240)
    assert (hold / "held").exists(), proxy.log_tail()
    grid.workers["p2"].pause()
    stop_in_order(ttp)  # the stage's call to p2 ended with the job
    assert_interrupted_by_the_shutdown(stored_job(grid.home / "ttp" / "data", job_id))
    grid.workers["p2"].unpause()
    grid.start_ttp()
    with grid.driver() as driver:  # the restarted TTP trains securely again
        restarted = start_training(driver, grid, run={**FAST_RUN, "secure_aggregation": True})
        assert driver.jobs.wait(restarted, timeout=300, progress=False)["data"]["status"] == (
            "succeeded")


def test_sigterm_while_a_hung_worker_takes_its_alignment_removes_the_alignment(
        grid: LocalGrid, tmp_path: Path) -> None:
    ttp = grid.start_ttp()
    project_id = unique("sigsend")
    hold = tmp_path / "hold"
    p2 = grid.workers["p2"]
    # p2's command port behind a proxy that holds the project's second `align` call
    proxy = grid.start_proxy("tests.engine.hold_proxy", "p2", hold, "2", str(hold),
                             f"align/{project_id}", command_port=True)
    tags = dataset_tags("breast_cancer")
    with grid.driver() as driver:
        register_project(driver, grid, project_id, {"p1": tags, "p2": tags},
                         command_ports={"p2": proxy.port})
        driver.alignments.create(project_id=project_id, progress=False, timeout=120)
        job_id = driver.alignments.create(project_id=project_id, wait=False)["data"]["job_id"]
        wait_for(lambda: (hold / "held").exists() or proxy.process.poll() is not None,
                 timeout=120)
    assert (hold / "held").exists(), proxy.log_tail()
    stop_in_order(ttp)  # p1 took the new alignment, the call to p2 ended with the job
    data_dir = grid.home / "ttp" / "data"
    assert_stopped_alignment(data_dir, job_id, project_id)  # the first one is gone too
    grid.start_ttp()
    with grid.driver() as driver:  # the restarted TTP aligns again
        driver.participants.update("p2", f_port=p2.service.port)  # past the proxy
        driver.registrations.create(project_id=project_id, participant_id="p2", role="host")
        aligned = driver.alignments.create(project_id=project_id, progress=False, timeout=120)
        assert {record["key"]["participant_id"] for record in aligned["data"]} == {"p1", "p2"}


def test_sigterm_while_a_hung_worker_takes_its_prediction_alignment(
        grid: LocalGrid, tmp_path: Path) -> None:
    ttp = grid.start_ttp()
    project_id = unique("sigpredict")
    hold = tmp_path / "hold"
    # p2's command port behind a proxy that holds the project's second `align` call: the
    # first is the alignment's, the second the realignment of p2's prediction
    proxy = grid.start_proxy("tests.engine.hold_proxy", "p2", hold, "2", str(hold),
                             f"align/{project_id}", command_port=True)
    tags = dataset_tags("breast_cancer", ("train", "evaluate", "predict"))
    with grid.driver() as driver:
        register_project(driver, grid, project_id, {"p1": tags, "p2": tags},
                         runs={"run": FAST_RUN}, command_ports={"p2": proxy.port})
        driver.alignments.create(project_id=project_id, progress=False, timeout=120)
        driver.models.create(project_id=project_id, progress=False, timeout=300)
        job_id = driver.predictions.create(participant_id="p2", project_id=project_id,
                                           wait=False)["data"]["job_id"]
        wait_for(lambda: (hold / "held").exists() or proxy.process.poll() is not None,
                 timeout=120)
    assert (hold / "held").exists(), proxy.log_tail()
    stop_in_order(ttp)  # the realignment's call to p2 ended with the job
    job = stored_job(grid.home / "ttp" / "data", job_id)
    assert job["status"] == "interrupted" and "shut down" in (job["error"] or ""), job


def assert_stopped_alignment(data_dir: Path, job_id: str, project_id: str) -> None:
    """The alignment job was recorded `interrupted` by the shutdown and the project has no
    Alignment record."""
    job = stored_job(data_dir, job_id)
    assert job["status"] == "interrupted" and "shut down" in (job["error"] or ""), job
    archive = Archive(data_dir / "database.json")
    try:
        assert stored_alignments(archive, project_id) == {}
    finally:
        archive.close()


class StalledCsv:
    """A dataset CSV replaced by a named pipe: the Worker reading it blocks, as on a stalled
    network share, until `release` puts the real file back."""

    def __init__(self, path: Path, keep: Path) -> None:
        self.path, self.keep = path, keep
        os.replace(path, keep)
        os.mkfifo(path)
        self.writer: int | None = None

    def reader_blocked(self) -> bool:
        """Whether a reader has the pipe open; from then on it waits for bytes that never
        come (the write end opened here stays open until `release`)."""
        try:  # a non-blocking open for writing fails (ENXIO) while nobody reads
            self.writer = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return False
        return True

    def release(self) -> None:
        """The real file back in place; the blocked reader gets an empty file."""
        os.replace(self.keep, self.path)
        if self.writer is not None:
            os.close(self.writer)


@pytest.fixture()
def stalled_grid(tmp_path: Path, datasets: Path) -> Iterator[tuple[LocalGrid, StalledCsv]]:
    """p1 and `slow`, a Worker whose train CSV is a `StalledCsv`; each test starts its TTP."""
    root = tmp_path / "slow_data"
    shutil.copytree(datasets / "party_2" / "breast_cancer", root / "breast_cancer")
    stalled = StalledCsv(root / "breast_cancer" / "train" / "data.csv", tmp_path / "train.csv")
    local = LocalGrid(tmp_path / "grid")
    try:
        local.start_workers({"p1": datasets / "party_1", "slow": root})
        yield local, stalled
    finally:
        if stalled.path.is_fifo():
            stalled.release()
        local.stop()


def test_sigterm_stops_a_ttp_whose_alignment_waits_on_hung_workers(
        stalled_grid: tuple[LocalGrid, StalledCsv]) -> None:
    grid, stalled = stalled_grid
    ttp = grid.start_ttp()
    project_id = unique("sigalign")
    tags = dataset_tags("breast_cancer")
    p1 = grid.workers["p1"]
    with grid.driver() as driver:
        register_project(driver, grid, project_id, {"p1": tags, "slow": tags})
        p1.pause()  # its poll call hangs (300 s read timeout)
        job_id = driver.alignments.create(project_id=project_id, wait=False)["data"]["job_id"]
        # `slow` preprocesses, stuck on its CSV, and the TTP polls it (its deadline: 600 s)
        wait_for(stalled.reader_blocked, timeout=120)
        assert ttp.process is not None
        wait_for(lambda: any(
            connection.raddr and connection.raddr.port == p1.service.port
            and connection.status == psutil.CONN_ESTABLISHED
            for connection in psutil.Process(ttp.process.pid).net_connections("tcp")),
            timeout=60)
        assert driver.jobs.read(job_id)["data"]["status"] == "running"
    stop_in_order(ttp)  # the call to p1 and the polling of `slow` ended with the job
    assert_stopped_alignment(grid.home / "ttp" / "data", job_id, project_id)
    p1.unpause()
    stalled.release()
    grid.start_ttp()
    with grid.driver() as driver:  # the restarted TTP aligns and trains
        aligned = driver.alignments.create(project_id=project_id, progress=False, timeout=120)
        assert {record["key"]["participant_id"] for record in aligned["data"]} == {"p1", "slow"}
        driver.models.create(project_id=project_id, expt_id="expt", run_id="run",
                             progress=False, timeout=300)


def test_sigterm_stops_a_ttp_whose_log_pipe_reader_is_gone(grid: LocalGrid,
                                                           tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "ttp" / "data"
    ttp = subprocess.Popen(
        [sys.executable, "-m", "synergos_ttp", "--host", LOOPBACK, "--port", str(port),
         "--data_dir", str(data_dir), "--outputs_dir", str(tmp_path / "ttp" / "outputs"),
         "--token", TTP_TOKEN, "--logging_resolution", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=die_with_parent(), env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    try:
        assert ttp.stdout is not None
        first = ttp.stdout.readline()  # the TTP logs to the pipe
        assert b"node starting" in first, first
        ttp.stdout.close()  # its reader is gone: every later write fails (EPIPE)
        wait_for(lambda: healthy(port) or ttp.poll() is not None, timeout=120)
        assert ttp.poll() is None
        with Driver(host=LOOPBACK, port=port, token=TTP_TOKEN) as driver:
            job_id = start_training(driver, grid)
            # it trains on although none of its log lines can be written
            wait_for(lambda: (driver.jobs.read(job_id)["data"]["checkpoint"] or {}).get(
                "round", 0) >= 2, timeout=240)
        assert process_state(ttp.pid) not in (None, "Z")
        os.killpg(ttp.pid, signal.SIGTERM)
        assert ttp.wait(timeout=EXIT_BOUND) == 0
    finally:
        if ttp.poll() is None:
            os.killpg(ttp.pid, signal.SIGKILL)
            ttp.wait(timeout=10)
    assert_interrupted_by_the_shutdown(stored_job(data_dir, job_id))


def healthy(port: int) -> bool:
    """Whether the node on `port` answers `/health` with 200."""
    try:
        return requests.get(f"http://{LOOPBACK}:{port}/health", timeout=1).status_code == 200
    except requests.RequestException:
        return False
