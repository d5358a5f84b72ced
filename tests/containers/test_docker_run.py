"""The seeds' promise, for real: one container per role started with `docker run` (a
user-defined network, ports published on 127.0.0.1 only), the example data written by the
Worker image's `synergos-datasets`, and the seeds' Driver example run across them."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from synergos import Driver
from tests.containers.engine import PrivateEngine
from tests.engine.test_training_quality import SEEDS_TRAIN_TAGS_1

pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.timeout(4800)]  # the first test also builds the images
HEALTH_TIMEOUT_S = 120.0
NODE_UID = 10001  # the images' synergos user
TTP_TOKEN = "docker-test-ttp-token-0123456789"
PARTIES = ("party_1", "party_2")


def _token(party: str) -> str:
    return f"docker-test-{party}-token-0123456789"


@dataclass
class Grid:
    """Containers of one test grid and the host ports their command ports are published on."""

    engine: PrivateEngine
    network: str
    containers: list[str] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    started_to_healthy_s: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, image: str, options: list[str], args: list[str]) -> None:
        """`docker run -d` one node on the grid's network, its port 5000 on 127.0.0.1."""
        started = time.monotonic()
        self.engine.docker("run", "-d", "--name", name, "--network", self.network,
                           "-p", "127.0.0.1::5000", *options, image, *args)
        self.containers.append(name)
        published = self.engine.docker("port", name, "5000").stdout.split()[0]
        host, _, port = published.rpartition(":")
        assert host == "127.0.0.1", f"{name} publishes on {host}"
        self.ports[name] = int(port)
        self._wait_healthy(name)
        self.started_to_healthy_s[name] = time.monotonic() - started

    def _wait_healthy(self, name: str) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        url = f"http://127.0.0.1:{self.ports[name]}/health"
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=2).status_code == 200:
                    return
            state = self.engine.docker("inspect", "-f", "{{.State.Status}}", name).stdout.strip()
            assert state == "running", f"{name} is {state}:\n{self.logs(name)}"
            time.sleep(0.2)
        raise AssertionError(f"{name} not healthy in {HEALTH_TIMEOUT_S}s:\n{self.logs(name)}")

    def logs(self, name: str) -> str:
        result = self.engine.docker("logs", "--tail", "40", name, check=False)
        return result.stdout + result.stderr

    def remove(self) -> None:
        for name in reversed(self.containers):
            self.engine.docker("rm", "-f", "-v", name, check=False)
        self.engine.docker("network", "rm", self.network, check=False)


def _owned_folder(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, NODE_UID, NODE_UID)
    return str(path)


@pytest.fixture(scope="module")
def grid(images: PrivateEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Grid]:
    """Example data, two Workers and a basic TTP, each started by `docker run`."""
    home = tmp_path_factory.mktemp("docker-run")
    home.chmod(0o755)
    examples = _owned_folder(home / "examples")
    images.docker("run", "--rm", "-v", f"{examples}:/worker/data",
                  "--entrypoint", "synergos-datasets", "synergos_worker:latest",
                  "/worker/data", "--parties", "2", "--datasets", "breast_cancer", timeout=300)
    started = Grid(images, f"synergos-test-{uuid.uuid4().hex[:8]}")
    images.docker("network", "create", started.network)
    try:
        for party in PARTIES:
            started.run(party, "synergos_worker:latest",
                        ["-v", f"{examples}/{party}:/worker/data:ro",
                         "-v", f"{_owned_folder(home / party)}:/worker/outputs",
                         "-e", f"SYNERGOS_TOKEN={_token(party)}"],
                        ["--id", party, "--logging_variant", "basic"])
        started.run("ttp", "synergos_ttp:synbasic",
                    ["-v", f"{_owned_folder(home / 'ttp_data')}:/orchestrator/data",
                     "-v", f"{_owned_folder(home / 'ttp_outputs')}:/orchestrator/outputs",
                     "-v", f"{_owned_folder(home / 'mlflow')}:/mlflow",
                     "-e", f"SYNERGOS_TOKEN={TTP_TOKEN}"],
                    ["--id", "ttp", "--logging_variant", "basic",
                     "--mlflow_uri", "sqlite:////mlflow/mlflow.db"])
        print(f"docker run, start to /health: {started.started_to_healthy_s}")
        yield started
    finally:
        started.remove()


def test_each_node_reports_its_health_to_docker(grid: Grid) -> None:
    """The images' HEALTHCHECK (`python -m syncommon.healthcheck`) marks each node healthy."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    for name in grid.containers:
        while (status := grid.engine.docker("inspect", "-f", "{{.State.Health.Status}}",
                                            name).stdout.strip()) != "healthy":
            assert status == "starting" and time.monotonic() < deadline, \
                f"{name} is {status}:\n{grid.logs(name)}"
            time.sleep(0.5)


def test_a_worker_container_sees_only_its_own_party(grid: Grid) -> None:
    for party in PARTIES:
        listing = grid.engine.docker(
            "exec", party, "python", "-c",
            "import os; print(sorted(os.listdir('/worker/data')))").stdout.strip()
        assert listing == "['breast_cancer']", f"{party} sees {listing}"
        other = grid.engine.docker("exec", party, "sh", "-c",
                                   "ls / /worker; cat /proc/mounts").stdout
        assert "party_2" not in other.replace(party, "") and "central" not in other


def test_the_seeds_example_runs_across_the_containers(grid: Grid) -> None:
    driver = Driver(host="127.0.0.1", port=grid.ports["ttp"], token=TTP_TOKEN, timeout=60)
    driver.projects.create(project_id="test_project", action="classify",
                           incentives={"tier_1": [], "tier_2": [], "tier_3": []})
    driver.experiments.create(project_id="test_project", expt_id="test_experiment", model=[
        {"activation": "sigmoid", "is_input": True, "l_type": "Linear",
         "structure": {"bias": True, "in_features": 15, "out_features": 1}}])
    driver.runs.create(project_id="test_project", expt_id="test_experiment",
                       run_id="test_run", rounds=2, epochs=1, base_lr=0.0005, max_lr=0.005,
                       criterion="NLLLoss")
    for index, party in enumerate(PARTIES, start=1):
        driver.participants.create(participant_id=f"test_participant_{index}", host=party,
                                   port=8020, f_port=5000, token=_token(party),
                                   log_msgs=True, verbose=True)
    driver.registrations.create(project_id="test_project",
                                participant_id="test_participant_1", role="guest")
    driver.registrations.create(project_id="test_project",
                                participant_id="test_participant_2", role="host")
    driver.tags.create(project_id="test_project", participant_id="test_participant_1",
                       train=SEEDS_TRAIN_TAGS_1, evaluate=[["iid_1"]])
    driver.tags.create(project_id="test_project", participant_id="test_participant_2",
                       train=[["non_iid_2"]])
    driver.alignments.create(project_id="test_project", progress=False, timeout=300)
    (model,) = driver.models.create(project_id="test_project", expt_id="test_experiment",
                                    run_id="test_run", progress=False, timeout=600)["data"]
    validations = driver.validations.create(project_id="test_project",
                                            expt_id="test_experiment", run_id="test_run",
                                            progress=False, timeout=600)["data"]
    predictions = driver.predictions.create(
        tags={"test_project": [["iid_1"]]}, participant_id="test_participant_1",
        project_id="test_project", expt_id="test_experiment", run_id="test_run",
        progress=False, timeout=600)["data"]
    assert model["rounds_completed"] == 2
    assert [record["key"]["participant_id"] for record in validations] == \
        ["test_participant_1"]
    assert validations[0]["evaluate"]["statistics"]["n_samples"] == 57
    assert len(predictions) == 1 and predictions[0]["predict"]["n_rows"] == 57
    assert "accuracy" in predictions[0]["predict"]["statistics"]


def test_the_mq_container_serves_the_five_queues_on_its_management_api(grid: Grid) -> None:
    """The MQ image as documented: one account from the environment, the SynCluster
    topology declared at boot, the management API on 127.0.0.1."""
    password = "docker-test-mq-password-0123456789"
    name = f"synergos_mq_{uuid.uuid4().hex[:6]}"
    grid.engine.docker("run", "-d", "--name", name, "--network", grid.network,
                       "-p", "127.0.0.1::15672", "-e", "SYNERGOS_MQ_USER=synergos",
                       "-e", f"SYNERGOS_MQ_PASSWORD={password}", "synergos_mq:latest")
    grid.containers.append(name)
    published = grid.engine.docker("port", name, "15672").stdout.split()[0]
    assert published.startswith("127.0.0.1:")
    url = f"http://{published}/api/queues"
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    queues = None
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            answer = requests.get(url, auth=("synergos", password), timeout=5)
            if answer.status_code == 200:
                queues = answer.json()
                break
        time.sleep(0.5)
    assert queues is not None, grid.logs(name)
    assert {queue["name"] for queue in queues} == {"preprocess", "train", "evaluate",
                                                  "completed", "dead_letter"}
    refused = requests.get(url, auth=("guest", "guest"), timeout=5)
    assert refused.status_code == 401
