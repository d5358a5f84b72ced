"""A hostile peer holds dribbling and silent connections on a Worker's data port during a
training: the Worker keeps answering `/health` within 2 s, the training succeeds, and once
the attack ends the Worker's thread and descriptor counts return to their baseline (real
TTP, Workers and attacker processes on loopback; the attacker on its own address)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from synergos import Driver
from synrest.port_guard import PortLimits
from tests.engine.conftest import DATASETS
from tests.engine.local_grid import LocalGrid, dataset_tags, register_project, wait_for
from tests.support.hostile_http import resource_counts, wait_for_counts
from tests.support.processes import LOOPBACK, ServiceProcess, free_port

pytestmark = pytest.mark.integration

ATTACKER_ADDRESS = "127.0.0.2"  # loopback too, but not the TTP's address
DRIBBLERS, SILENT = 300, 100
HEALTH_DEADLINE = 2.0
PER_ADDRESS_CAP = PortLimits().max_per_peer


@pytest.fixture(scope="module")
def small_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGrid]:
    """A TTP and two Workers of this module's own."""
    from synergos_datasets.builder import build_examples

    root = tmp_path_factory.mktemp("hostile-datasets")
    build_examples(root, parties=2, names=DATASETS[:1])
    local = LocalGrid(tmp_path_factory.mktemp("hostile-grid"))
    try:
        local.start_workers({"p1": root / "party_1", "p2": root / "party_2"})
        local.start_ttp()
        yield local
    finally:
        local.stop()


def train(driver: Driver, grid: LocalGrid, project_id: str, wait: bool = True) -> str:
    """Register p1 and p2 on `project_id`, align, start a training; its job id."""
    register_project(driver, grid, project_id, {"p1": dataset_tags("breast_cancer"),
                                                "p2": dataset_tags("breast_cancer")})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    job = driver.models.create(project_id=project_id, expt_id="expt", run_id="run",
                               wait=False)["data"]
    if wait:
        assert driver.jobs.wait(job["job_id"], timeout=180, progress=False)[
            "data"]["status"] == "succeeded"
    return job["job_id"]


def start_attacker(grid: LocalGrid, port: int, folder: Path, dribblers: int = DRIBBLERS,
                   silent: int = SILENT) -> ServiceProcess:
    """The attacker process against `port`, once every connection was tried."""
    folder.mkdir(parents=True, exist_ok=True)
    attacker = ServiceProcess(
        module="tests.support.slow_attack", port=free_port(), log_path=folder / "attack.log",
        args=[LOOPBACK, str(port), ATTACKER_ADDRESS, str(dribblers), str(silent), "300",
              str(folder / "ready"), str(folder / "stats")])
    grid.extra_processes.append(attacker)
    attacker.start(wait_for_health=False)
    wait_for(lambda: (folder / "ready").exists() or attacker.process.poll() is not None, 60)
    assert (folder / "ready").exists(), attacker.log_tail()
    return attacker


def attack_stats(folder: Path, name: str = "attack") -> dict[str, int]:
    """The counts so far of the attacker in `folder / name` (none before its first tick)."""
    try:
        return json.loads((folder / name / "stats").read_text())
    except FileNotFoundError:
        return {"opened": 0, "refused": 0, "cut": 0, "failed_to_open": 0}


class HealthProbe:
    """Asks `/health` of each URL in turn until stopped; keeps the slowest answer."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.slowest = 0.0
        self.failures: list[str] = []
        self.probes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            for url in self.urls:
                started = time.monotonic()
                try:
                    ok = requests.get(url + "/health", timeout=10).status_code == 200
                except requests.RequestException as error:
                    ok, url = False, f"{url}: {error}"
                self.slowest = max(self.slowest, time.monotonic() - started)
                self.probes += 1
                if not ok:
                    self.failures.append(url)
            self._stop.wait(0.2)  # pacing of the probe, not a synchronisation


def test_a_training_succeeds_while_a_peer_dribbles_on_a_workers_data_port(
        small_grid: LocalGrid, tmp_path: Path) -> None:
    worker = small_grid.workers["p1"]
    assert worker.service.process is not None
    pid = worker.service.process.pid
    with small_grid.driver() as driver:
        train(driver, small_grid, "warmup")  # the Worker's pools and threads exist now
        baseline = resource_counts(pid)
        attacker = start_attacker(small_grid, worker.data_port, tmp_path / "attack")
        # the connections past the per-address cap are refused at once; the admitted ones
        # lose their slot at the head deadline (and the attacker opens them again)
        wait_for(lambda: attack_stats(tmp_path)["cut"] >= PER_ADDRESS_CAP, 60)
        urls = [f"http://{LOOPBACK}:{worker.data_port}", worker.service.base_url]
        with HealthProbe(urls) as probe:
            job_id = train(driver, small_grid, "attacked", wait=False)
            finished = driver.jobs.wait(job_id, timeout=180, progress=False)["data"]
        assert attacker.process is not None and attacker.process.poll() is None
        attacker.stop()
    assert finished["status"] == "succeeded", finished
    assert probe.probes > 0 and probe.failures == []
    assert probe.slowest < HEALTH_DEADLINE, probe.slowest
    stats = attack_stats(tmp_path)
    assert stats["opened"] > DRIBBLERS + SILENT and stats["refused"] >= DRIBBLERS + SILENT - (
        PER_ADDRESS_CAP), stats
    threads, fds = wait_for_counts(pid, baseline, slack=2, timeout=45)
    assert threads <= baseline[0] + 2 and fds <= baseline[1] + 2, (baseline, threads, fds)
    log = worker.service.log_path.read_text(errors="replace")
    refusals = [line for line in log.splitlines() if "refused a connection from" in line
                and ATTACKER_ADDRESS in line]
    assert any("took too long" in line for line in refusals), "no deadline refusal logged"
    # once per peer and reason per minute, not once per connection
    assert len(refusals) < 20, len(refusals)
