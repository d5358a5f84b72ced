"""docker-compose.yml on a real engine: each profile comes up healthy from the built images,
a Worker container sees only its own party's data, and a training runs through the TTP
(basic) or the Director and RabbitMQ (cluster), whose management API then shows the five
queues and their message counts."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from synergos import Driver
from tests.containers.engine import PrivateEngine
from tests.deploy.tools import COMPOSE_FILE, REPOSITORY_ROOT, compose_binary, make_env_file
from tests.deploy.tools import read_env_file as read_env

pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.timeout(4800)]  # the first test also builds the images
HEALTHY_TIMEOUT_S = 600.0  # from before `up`: far above the minute it takes on 2 busy cores
STATS_TIMEOUT_S = 60.0
# the nodes start before MLflow serves; MLflow's client retries (backoff up to 64 s) until it does
TRACKED_TIMEOUT_S = 240.0
MLFLOW_API = "http://127.0.0.1:5500/api/2.0/mlflow"
QUEUES = {"preprocess", "train", "evaluate", "completed", "dead_letter"}
RUN = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.1, "lr_scheduler": None,
       "criterion": "BCELoss", "batch_size": 32, "rounds": 2, "epochs": 1}
MODEL = [{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
          "structure": {"bias": True, "in_features": 30, "out_features": 1}}]


class Compose:
    """One compose project (a profile) on the private engine."""

    def __init__(self, engine: PrivateEngine, profile: str, env_file: Path) -> None:
        self.engine, self.profile, self.env_file = engine, profile, env_file
        self.project = f"synergos-test-{profile}-{uuid.uuid4().hex[:6]}"
        self.env = read_env(env_file)

    def __call__(self, *args: str, timeout: float = 600.0) -> str:
        result = subprocess.run(
            [str(compose_binary()), "--file", str(COMPOSE_FILE), "--project-directory",
             str(REPOSITORY_ROOT), "--env-file", str(self.env_file), "--project-name",
             self.project, "--profile", self.profile, *args],
            capture_output=True, text=True, timeout=timeout, env=self.engine.environment())
        assert result.returncode == 0, f"compose {' '.join(args)}:\n{result.stdout}" \
                                       f"{result.stderr}"
        return result.stdout

    def wait_all_healthy(self, started: float) -> float:
        """Seconds from `started` until every long-running service is healthy (the one-shot
        datasets service: exited 0)."""
        while True:
            states = [json.loads(line) for line in
                      self("ps", "--all", "--format", "json").splitlines() if line.strip()]
            if states and isinstance(states[0], list):
                states = states[0]
            waiting = [s["Service"] for s in states
                       if s["Service"] != "datasets" and s.get("Health") != "healthy"]
            failed = [s["Service"] for s in states
                      if s["Service"] == "datasets" and s["State"] == "exited"
                      and s.get("ExitCode") != 0]
            assert not failed, self("logs", "--tail", "40", "datasets")
            if states and not waiting:
                return time.monotonic() - started
            assert time.monotonic() - started < HEALTHY_TIMEOUT_S, \
                f"not healthy: {waiting}\n{self('logs', '--tail', '30')}"
            time.sleep(1)

    def data_listing(self, service: str) -> list[str]:
        out = self("exec", "-T", service, "python", "-c",
                   "import os, json; print(json.dumps(sorted(os.listdir('/worker/data'))))")
        return json.loads(out)

    def header(self, service: str, relative: str) -> str:
        return self("exec", "-T", service, "head", "-n", "1", f"/worker/data/{relative}")


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_env_file(tmp_path_factory.mktemp("compose-env") / ".env")


@pytest.fixture
def compose(images: PrivateEngine, env_file: Path, request: pytest.FixtureRequest
            ) -> Iterator[Compose]:
    project = Compose(images, request.param, env_file)
    try:
        started = time.monotonic()
        try:
            project("up", "-d")  # returns once the services others wait for are healthy
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{project('logs', '--tail', '40')}") from None
        healthy_s = project.wait_all_healthy(started)
        print(f"compose {project.profile}: up to all healthy in {healthy_s:.1f} s")
        yield project
    finally:
        subprocess.run([str(compose_binary()), "--file", str(COMPOSE_FILE),
                        "--project-directory", str(REPOSITORY_ROOT), "--env-file",
                        str(env_file), "--project-name", project.project, "--profile",
                        project.profile, "down", "-v", "--timeout", "20"],
                       capture_output=True, timeout=300, env=images.environment())


def _check_isolation(compose: Compose, parties: dict[str, str]) -> None:
    datasets = {"breast_cancer", "breast_cancer_iid", "diabetes", "digits", "wine"}
    for service, party in parties.items():
        assert set(compose.data_listing(service)) == datasets, service
        header = compose.header(service, "breast_cancer/train/data.csv")
        assert ("worst_symmetry" in header) == (party == "party_1"), (service, header)


def _train(driver: Driver, nodes: dict[str, list[tuple[str, str]]]) -> dict:
    driver.projects.create(project_id="compose", action="classify", incentives={})
    driver.experiments.create(project_id="compose", expt_id="expt", model=MODEL)
    driver.runs.create(project_id="compose", expt_id="expt", run_id="run", **RUN)
    for participant, services in nodes.items():
        host, token = services[0]
        driver.participants.create(participant_id=participant, host=host, port=8020,
                                   f_port=5000, token=token)
        extra = {"nodes": [{"host": h, "port": 8020, "f_port": 5000, "token": t}
                           for h, t in services]} if len(services) > 1 else {}
        driver.registrations.create(project_id="compose", participant_id=participant,
                                    role="host", **extra)
        driver.tags.create(project_id="compose", participant_id=participant,
                           train=[["breast_cancer_iid", "train"]],
                           evaluate=[["breast_cancer_iid", "evaluate"]])
    driver.alignments.create(project_id="compose", progress=False, timeout=600)
    return driver.models.create(project_id="compose", progress=False, timeout=900)["data"][0]


def _tracked_metrics(experiment: str) -> set[str]:
    """The metric names the compose MLflow server holds for `experiment` (none yet: empty)."""
    found = requests.get(f"{MLFLOW_API}/experiments/get-by-name",
                         params={"experiment_name": experiment}, timeout=10)
    if found.status_code != 200:
        return set()
    runs = requests.post(f"{MLFLOW_API}/runs/search", timeout=10, json={
        "experiment_ids": [found.json()["experiment"]["experiment_id"]]}).json().get("runs", [])
    return {metric["key"] for run in runs for metric in run["data"].get("metrics", [])}


@pytest.mark.parametrize("compose", ["basic"], indirect=True)
def test_basic_profile_trains_and_keeps_parties_apart(compose: Compose) -> None:
    _check_isolation(compose, {"party-1": "party_1", "party-2": "party_2"})
    env = compose.env
    with Driver(host="127.0.0.1", port=5000, token=env["SYNERGOS_TTP_TOKEN"],
                timeout=60) as driver:
        model = _train(driver, {
            "party_1": [("party-1", env["SYNERGOS_PARTY_1_TOKEN"])],
            "party_2": [("party-2", env["SYNERGOS_PARTY_2_TOKEN"])]})
    assert model["rounds_completed"] == RUN["rounds"]


@pytest.mark.parametrize("compose", ["cluster"], indirect=True)
def test_cluster_profile_trains_through_the_director_and_rabbitmq(compose: Compose) -> None:
    _check_isolation(compose, {"party-1-node-1": "party_1", "party-1-node-2": "party_1",
                               "party-2-node-1": "party_2", "party-2-node-2": "party_2"})
    env = compose.env
    with Driver(host="127.0.0.1", port=5000, token=env["SYNERGOS_DIRECTOR_TOKEN"],
                timeout=60) as driver:
        model = _train(driver, {
            party: [(f"party-{n}-node-{k}", env[f"SYNERGOS_PARTY_{n}_NODE_{k}_TOKEN"])
                    for k in (1, 2)]
            for n, party in ((1, "party_1"), (2, "party_2"))})
    assert model["rounds_completed"] == RUN["rounds"]
    auth = (env["SYNERGOS_MQ_USER"], env["SYNERGOS_MQ_PASSWORD"])
    deadline = time.monotonic() + STATS_TIMEOUT_S
    while True:  # the management plugin aggregates message rates every few seconds
        queues = {queue["name"]: queue for queue in requests.get(
            "http://127.0.0.1:15672/api/queues", auth=auth, timeout=10).json()}
        published = {name: queue.get("message_stats", {}).get("publish", 0)
                     for name, queue in queues.items()}
        if published.get("train") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(queues) == QUEUES
    print(f"queue messages published after the job: {published}")
    assert published["train"] >= 1 and published["completed"] >= 1
    # every queue reports its counts (sampled by the plugin, so not compared with zero here)
    assert all("messages" in queue for queue in queues.values()), queues
    deadline = time.monotonic() + TRACKED_TIMEOUT_S
    while "global_train_loss" not in (metrics := _tracked_metrics("compose/expt")):
        assert time.monotonic() < deadline, \
            f"MLflow has no training metrics: {metrics}\n{compose('logs', '--tail', '30')}"
        time.sleep(2)
