"""Fixtures of the Worker tests: one real Worker process (command + data ports) per session,
serving the fixture datasets, and a client that speaks its protocol as the TTP does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import torch

from synalgo.alignment import compute_alignment, global_scaling
from synalgo.codec import decode, encode
from tests.support.processes import LOOPBACK, ServiceProcess, free_port, start_service
from tests.worker.fixture_data import write_fixture_datasets

TOKEN = "worker-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY_BYTES = 4 * 1024 * 1024
BINARY = {"Content-Type": "application/octet-stream"}


def align_body(answer: dict[str, Any], other_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """The align body a TTP sends for this Worker's poll `answer` when another participant
    holds `other_columns` too: superset, this Worker's spacers, global scaling."""
    own = {meta: summary["headers"] for meta, summary in answer.items()}
    alignment = compute_alignment({"me": own, "other": {"train": {"X": list(other_columns),
                                                                  "y": []}}})
    superset = alignment["superset"]
    categorical = {column for summary in answer.values() for column in summary["categorical"]}
    scaling = global_scaling([summary["summary"] for summary in answer.values()],
                             superset["X"], categorical)
    return {"superset": superset, "spacers": alignment["spacers"]["me"], "scaling": scaling}


class WorkerClient:
    """Calls a Worker's command port (JSON) and data port (codec bodies) with the token."""

    def __init__(self, service: ServiceProcess, data_port: int, home: Path) -> None:
        self.service = service
        self.command_url = service.base_url
        self.data_url = f"http://{LOOPBACK}:{data_port}"
        self.home = home
        self.session = requests.Session()
        self.session.headers.update(AUTH)

    def command(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call to the command port (`path` starts with `/worker`)."""
        return self.session.request(method, self.command_url + path, timeout=60, **kwargs)

    def data(self, path: str, tensors: dict[str, torch.Tensor], header: dict[str, Any]
             ) -> requests.Response:
        """POST a codec body to the data port (`path` below `/data`)."""
        return self.session.post(self.data_url + "/data" + path, data=encode(tensors, header),
                                 headers=BINARY, timeout=120)

    def fit(self, run_path: str, weights: dict[str, torch.Tensor], header: dict[str, Any]
            ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Local fit; returns the decoded `(weights, header)` after asserting 200."""
        response = self.data(run_path + "/fit", weights, header)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "application/octet-stream"
        return decode(response.content)

    def poll(self, project_id: str, tags: dict[str, Any], action: str = "classify",
             timeout: float = 30.0) -> dict[str, Any]:
        """POST poll, then GET until 200; returns the per-meta answer."""
        started = self.command("POST", f"/worker/poll/{project_id}",
                               json={"action": action, "tags": tags})
        assert started.status_code in (200, 202), started.text
        response = self.wait_for_poll(project_id, timeout)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def wait_for_poll(self, project_id: str, timeout: float = 30.0) -> requests.Response:
        """GET the poll result until it is no longer 406 (or `timeout` passes)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.command("GET", f"/worker/poll/{project_id}")
            if response.status_code != 406 or time.monotonic() > deadline:
                return response
            time.sleep(0.05)

    def align(self, project_id: str, body: dict[str, Any]) -> requests.Response:
        """POST an alignment body (see `align_body`)."""
        return self.command("POST", f"/worker/align/{project_id}", json=body)

    def prepare(self, project_id: str, tags: dict[str, Any], action: str = "classify"
                ) -> dict[str, Any]:
        """Poll and align a project; returns the poll answer."""
        answer = self.poll(project_id, tags, action)
        aligned = self.align(project_id, align_body(answer))
        assert aligned.status_code == 200, aligned.text
        return answer

    def initialise(self, run_path: str, model: list[dict[str, Any]], run: dict[str, Any],
                   action: str = "classify") -> requests.Response:
        """POST initialise for `run_path` (`/<project>/<expt>/<run>`)."""
        return self.command("POST", "/worker/initialise" + run_path,
                            json={"participant_id": "worker_a", "action": action,
                                  "model": model, "run": run})


@pytest.fixture(scope="session")
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data root (fixture datasets) and outputs folder of the session's Worker."""
    home = tmp_path_factory.mktemp("worker")
    write_fixture_datasets(home / "data")
    (home / "outputs").mkdir()
    return home


@pytest.fixture(scope="session")
def worker(worker_home: Path) -> Iterator[WorkerClient]:
    """A Worker subprocess on free loopback ports, with auth on and censored logging."""
    data_port = free_port()
    service = start_service(
        "synergos_worker",
        ["--data_dir", str(worker_home / "data"), "--outputs_dir", str(worker_home / "outputs"),
         "--data_port", str(data_port), "--token", TOKEN, "--censored",
         "--max_body_bytes", str(MAX_BODY_BYTES), "--logging_resolution", "3600"],
        worker_home, "worker",
    )
    try:
        yield WorkerClient(service, data_port, worker_home)
    finally:
        exit_code = service.stop()
    assert exit_code == 0, f"the Worker did not shut down cleanly:\n{service.log_tail()}"
