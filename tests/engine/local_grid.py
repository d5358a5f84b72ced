"""A local Synergos grid for the engine tests: one TTP and Workers as real processes on
127.0.0.1, driven through the Driver."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synergos import Driver
from tests.support.processes import LOOPBACK, ServiceProcess, free_port

TTP_TOKEN = "engine-test-ttp-token-0123456789"
LINEAR_MODEL = [{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
                 "structure": {"bias": True, "in_features": 1, "out_features": 1}}]
# about a second of local training per round, so a process can be stopped mid-round
SLOW_RUN = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.01, "lr_scheduler": None,
            "criterion": "BCELoss", "batch_size": 4, "epochs": 25, "patience": 1000,
            "rounds": 3}
FAST_RUN = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.1, "lr_scheduler": None,
            "criterion": "BCELoss", "batch_size": 32, "rounds": 3, "epochs": 1}


def worker_token(participant_id: str) -> str:
    """The bearer token of a test Worker."""
    return f"worker-token-{participant_id}-0123456789"


@dataclass
class WorkerNode:
    """A Worker process and the ports the TTP reaches it on."""

    participant_id: str
    service: ServiceProcess
    data_port: int

    def pause(self) -> None:
        """SIGSTOP the Worker (it hangs: accepts connections, never answers)."""
        os.killpg(self.service.process.pid, signal.SIGSTOP)

    def unpause(self) -> None:
        """SIGCONT a paused Worker."""
        os.killpg(self.service.process.pid, signal.SIGCONT)


@dataclass
class LocalGrid:
    """Processes of one test grid; `start_*` launch them, `stop` ends all of them."""

    home: Path
    workers: dict[str, WorkerNode] = field(default_factory=dict)
    ttp: ServiceProcess | None = None
    # helper processes a test starts beside the grid (e.g. proxies); stopped with it
    extra_processes: list[ServiceProcess] = field(default_factory=list)
    # per participant: (certificate, key) its Worker serves HTTPS with on both ports, and
    # the CA certificate that verifies it
    worker_tls: dict[str, tuple[Path, Path, Path]] = field(default_factory=dict)

    def start_workers(self, data_roots: dict[str, Path], timeout: float = 120) -> None:
        """Start one Worker per participant (in parallel) with its own data root."""
        started = [self._launch_worker(pid, root) for pid, root in data_roots.items()]
        for node in started:
            node.service.wait_healthy(timeout)

    def start_ttp(self, name: str = "ttp", extra: Iterable[str] = (), timeout: float = 120
                  ) -> ServiceProcess:
        """Start (or restart, keeping its folders) the TTP."""
        port = self.ttp.port if self.ttp is not None else free_port()
        service = ServiceProcess(
            module="synergos_ttp", port=port, log_path=self.home / f"{name}.log",
            args=["--host", LOOPBACK, "--port", str(port), "--data_dir",
                  str(self.home / "ttp" / "data"), "--outputs_dir",
                  str(self.home / "ttp" / "outputs"), "--token", TTP_TOKEN, *extra])
        self.ttp = service.start(wait_for_health=True, timeout=timeout)
        return self.ttp

    def driver(self) -> Driver:
        """A Driver for the grid's TTP."""
        assert self.ttp is not None
        return Driver(host=LOOPBACK, port=self.ttp.port, token=TTP_TOKEN)

    def start_proxy(self, module: str, participant_id: str, folder: Path, *extra: str,
                    command_port: bool = False) -> ServiceProcess:
        """A proxy process (`python -m module LISTEN_PORT TARGET_PORT *extra`) in front of a
        Worker's data port (its command port with `command_port`), listening once it wrote
        `folder/listening`; stopped with the grid."""
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        repository = str(Path(__file__).resolve().parents[2])
        worker = self.workers[participant_id]
        target = worker.service.port if command_port else worker.data_port
        proxy = ServiceProcess(
            module=module, port=port, log_path=folder / "proxy.log",
            args=[str(port), str(target), *extra],
            env={"PYTHONPATH": os.pathsep.join(filter(None, [repository,
                                                              os.environ.get("PYTHONPATH")]))})
        self.extra_processes.append(proxy)
        proxy.start(wait_for_health=False)
        wait_for(lambda: (folder / "listening").exists() or proxy.process.poll() is not None,
                 timeout=30)
        assert (folder / "listening").exists(), proxy.log_tail()
        return proxy

    def stop(self) -> None:
        """Stop every process: SIGTERM to all at once (paused Workers are resumed first so
        they can exit), then wait for each."""
        services = [node.service for node in self.workers.values()] + self.extra_processes
        if self.ttp is not None:
            services.append(self.ttp)
        for service in services:
            if service.process is not None and service.process.poll() is None:
                os.killpg(service.process.pid, signal.SIGCONT)
                os.killpg(service.process.pid, signal.SIGTERM)
        for service in services:
            service.stop()

    def _launch_worker(self, participant_id: str, data_root: Path) -> WorkerNode:
        port, data_port = free_port(), free_port()
        tls = self.worker_tls.get(participant_id)
        tls_args = ["--tls_cert", str(tls[0]), "--tls_key", str(tls[1])] if tls else []
        service = ServiceProcess(
            module="synergos_worker", port=port, log_path=self.home / f"{participant_id}.log",
            args=["--host", LOOPBACK, "--port", str(port), "--data_port", str(data_port),
                  "--data_dir", str(data_root), "--outputs_dir",
                  str(self.home / participant_id / "outputs"),
                  "--token", worker_token(participant_id), *tls_args],
            tls_ca=tls[2] if tls else None)
        service.start(wait_for_health=False)
        node = WorkerNode(participant_id, service, data_port)
        self.workers[participant_id] = node
        return node


def register_project(driver: Driver, grid: LocalGrid, project_id: str,
                     tags: dict[str, dict[str, list[list[str]]]],
                     model: list[dict[str, Any]] | None = None,
                     runs: dict[str, dict[str, Any]] | None = None,
                     expt_id: str = "expt", data_ports: dict[str, int] | None = None,
                     secure: bool = False, command_ports: dict[str, int] | None = None
                     ) -> None:
    """Create a project, one experiment, its runs, and register each tagged participant
    (on its own data and command ports unless `data_ports` or `command_ports` name others,
    e.g. a proxy's; reached over HTTPS when `secure`)."""
    driver.projects.create(project_id=project_id, action="classify", incentives={})
    driver.experiments.create(project_id=project_id, expt_id=expt_id,
                              model=model or LINEAR_MODEL)
    for run_id, fields in (runs or {"run": FAST_RUN}).items():
        driver.runs.create(project_id=project_id, expt_id=expt_id, run_id=run_id, **fields)
    for participant_id, meta_tags in tags.items():
        node = grid.workers[participant_id]
        driver.participants.create(participant_id=participant_id, host=LOOPBACK,
                                   port=(data_ports or {}).get(participant_id, node.data_port),
                                   f_port=(command_ports or {}).get(participant_id,
                                                                    node.service.port),
                                   token=worker_token(participant_id), secure=secure)
        driver.registrations.create(project_id=project_id, participant_id=participant_id,
                                    role="host")
        driver.tags.create(project_id=project_id, participant_id=participant_id, **meta_tags)


def kill_ttp_after_first_checkpoint(grid: LocalGrid, project_id: str,
                                    run: dict[str, Any]) -> str:
    """Register `project_id` (p1 and p2 on breast_cancer, one run), align, start its training
    and SIGKILL the TTP once the job has checkpointed a round; return the job's id."""
    tags = dataset_tags("breast_cancer")
    with grid.driver() as driver:
        register_project(driver, grid, project_id, {"p1": tags, "p2": tags}, runs={"run": run})
        driver.alignments.create(project_id=project_id, progress=False, timeout=120)
        job_id = driver.models.create(project_id=project_id, expt_id="expt", run_id="run",
                                      wait=False)["data"]["job_id"]
        wait_for(lambda: (driver.jobs.read(job_id)["data"]["checkpoint"] or {}).get(
            "round", 0) >= 1, timeout=120)
    assert grid.ttp is not None
    grid.ttp.kill()
    return str(job_id)


def dataset_tags(dataset: str, metas: Iterable[str] = ("train", "evaluate")
                 ) -> dict[str, list[list[str]]]:
    """Tags of one example dataset in a party folder, e.g. `[["breast_cancer", "train"]]`."""
    return {meta: [[dataset, meta]] for meta in metas}


def wait_for(predicate: Any, timeout: float, interval: float = 0.05) -> Any:
    """Poll `predicate()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")
